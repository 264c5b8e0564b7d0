"""UTBMS code sets: complete, named, and consistent with every code the project's data names."""

from __future__ import annotations

import csv

import pytest

from assistant import codes
from assistant.codes import CODESETS_DIR, load_codesets
from assistant.coder import load_labelled

LITIGATION_TASKS = (
    "L110 L120 L130 L140 L150 L160 L190 L210 L220 L230 L240 L250 L260 L310 L320 L330 L340 L350 L390 "
    "L410 L420 L430 L440 L450 L460 L470 L510 L520 L530"
).split()
BANKRUPTCY_TASKS = (
    "B110 B120 B130 B140 B150 B160 B170 B180 B185 B190 B195 B210 B220 B230 B240 B250 B260 B310 B320 B410 B420"
).split()
PROJECT_TASKS = "P100 P210 P220 P230 P240 P250 P260 P270 P280 P300 P400 P500 P600 P700 P800".split()


def test_public_surface():
    assert set(codes.__all__) >= {"load_codesets", "suggest_codes", "suggest_many", "CodeSets", "CodeSet", "Code"}


def test_loaded_once():
    assert load_codesets() is load_codesets()


@pytest.mark.parametrize("name,tasks,phases", [
    ("litigation", LITIGATION_TASKS, ["L100", "L200", "L300", "L400", "L500"]),
    ("bankruptcy", BANKRUPTCY_TASKS, ["B100", "B200", "B300", "B400"]),
    ("counseling", ["C100", "C200", "C300", "C400"], ["C100", "C200", "C300", "C400"]),
    ("project", PROJECT_TASKS, ["P100", "P200", "P300", "P400", "P500", "P600", "P700", "P800"]),
])
def test_task_sets_complete(name, tasks, phases):
    cs = load_codesets().get(name)
    assert sorted(cs.task_codes) == sorted(tasks)
    assert sorted(cs.phases) == sorted(phases)
    for code in cs.task_codes.values():
        assert code.phase in cs.phases, code
        assert code.phase_name == cs.phases[code.phase].name


def test_activity_and_expense_sets_complete_and_shared():
    sets = load_codesets()
    activity = [f"A{n}" for n in range(101, 112)]
    expense = [f"E{n}" for n in range(101, 125)]
    for name in ("litigation", "bankruptcy", "counseling", "project", "none"):
        assert sorted(sets.get(name).activity_codes) == activity
        assert sorted(sets.get(name).expense_codes) == expense


@pytest.mark.parametrize("code,name", [
    ("L330", "Depositions"), ("L120", "Analysis/Strategy"), ("L160", "Settlement/Non-Binding ADR"),
    ("B320", "Plan and Disclosure Statement (including Business Plan)"), ("B195", "Non-Working Travel"),
    ("A103", "Draft/revise"), ("A106", "Communicate (with client)"), ("E112", "Court fees"),
    ("C300", "Analysis and Advice"), ("P210", "Corporate Review"),
])
def test_official_names(code, name):
    assert load_codesets().find(code).name == name


def test_every_name_non_empty():
    for cs in load_codesets().sets.values():
        for table in (cs.task_codes, cs.phases, cs.activity_codes, cs.expense_codes):
            for code in table.values():
                assert code.name.strip() and code.code.strip()


@pytest.mark.parametrize("code_set,code,kind,valid", [
    ("litigation", "L330", "task", True),
    ("litigation", "l330", "task", True),
    ("litigation", "L100", "task", False),        # a phase, not a billable task
    ("litigation", "B110", "task", False),        # another set's task
    ("bankruptcy", "B110", "task", True),
    ("none", "L330", "task", False),              # no task codes at all
    ("none", "A104", "activity", True),
    ("project", "P200", "task", False),
    ("project", "P100", "task", True),
    ("counseling", "C400", "task", True),
    ("litigation", "A111", "activity", True),
    ("litigation", "A112", "activity", False),
    ("bankruptcy", "E124", "expense", True),
    ("bankruptcy", "E125", "expense", False),
    ("nonsense", "L330", "task", False),
])
def test_is_valid(code_set, code, kind, valid):
    assert load_codesets().is_valid(code_set, code, kind) is valid


def test_unknown_set_named_in_error():
    with pytest.raises(KeyError, match="unknown code set"):
        load_codesets().get("ip")


def test_every_labelled_code_exists():
    sets = load_codesets()
    rows = load_labelled()
    assert len(rows) >= 600
    for r in rows:
        assert sets.is_valid(r.code_set, r.task_code, "task"), r
        assert sets.is_valid(r.code_set, r.activity_code, "activity"), r


def test_every_keyword_code_exists_and_every_task_code_has_keywords():
    sets = load_codesets()
    with open(CODESETS_DIR / "keywords.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    named = {r["code"] for r in rows}
    for r in rows:
        assert sets.find(r["code"]) is not None, r["code"]
        assert r["terms"].strip()
    for name in ("litigation", "bankruptcy", "counseling", "project", "none"):
        assert set(sets.get(name).task_codes) <= named
        assert set(sets.get(name).activity_codes) <= named
