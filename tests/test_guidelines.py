"""assistant.guidelines: every key, severity overrides, and unknown keys as ConfigError."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from assistant import guidelines as gl
from assistant.errors import ConfigError
from assistant.models import TimeEntry
from assistant.validate import check_entries
from tests.firmkit import small_firm

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 10, 5)


def entry(narrative="Draft motion to compel production of maintenance logs", *, eid="E1", hours="1.0", tk="MO",
          matter="M-100", task="L350", act="A103", rate=None, day=DAY) -> TimeEntry:
    return TimeEntry(entry_id=eid, date=day, timekeeper_id=tk, matter_id=matter, hours=Decimal(hours),
                     narrative=narrative, task_code=task, activity_code=act, rate=Decimal(rate) if rate else None)


def g(**keys) -> gl.Guidelines:
    return gl.parse_guidelines(keys, "acme.toml")


def rules_of(flags) -> list[str]:
    return sorted(f.rule for f in flags)


def firm_with(raw: dict, client="ACME"):
    firm = small_firm()
    firm.guidelines = {"acme.toml": raw}
    firm.client(client).guidelines = "acme.toml"
    return firm


# --------------------------------------------------------------------------- one test per key


def test_max_hours_per_entry():
    rules = g(max_hours_per_entry=8)
    assert gl.max_hours_per_entry(entry(hours="8.0"), rules) == []
    (flag,) = gl.max_hours_per_entry(entry(hours="8.5"), rules)
    assert flag.rule == "guideline:max_hours_per_entry" and flag.severity == "error"


def test_max_hours_per_day_counts_only_the_clients_matters():
    firm = firm_with({"max_hours_per_day": 10})
    day = [entry(eid="A", hours="6.0", narrative="Draft opposition brief section on preemption"),
           entry(eid="B", hours="5.0", narrative="Review deposition transcripts of port captain"),
           entry(eid="C", hours="3.0", matter="M-200", task="B110", act="A104",
                 narrative="Review debtor's first-day motions")]
    flags = check_entries(day, firm)
    # 14 h in all is above the firm's 12 h warning; 11 h on Acme's matters is above Acme's 10 h.
    assert rules_of(flags["A"]) == rules_of(flags["B"]) == ["daily_hours", "guideline:max_hours_per_day"]
    assert rules_of(flags["C"]) == ["daily_hours"]  # Globex has no guidelines
    only_client = [entry(eid="A", hours="6.0", narrative="Draft opposition brief section on preemption"),
                   entry(eid="B", hours="4.0", narrative="Review deposition transcripts of port captain")]
    assert check_entries(only_client, firm) == {"A": [], "B": []}


def test_min_narrative_words():
    rules = g(min_narrative_words=5)
    assert gl.min_narrative_words(entry("Draft motion to compel discovery"), rules) == []
    (flag,) = gl.min_narrative_words(entry("Draft complaint"), rules)
    assert flag.rule == "guideline:min_narrative_words" and "2 words" in flag.message


def test_banned_phrases_whole_words_any_case():
    rules = g(banned_phrases=["attention to file", "review file"])
    (flag,) = gl.banned_phrases(entry("Attention to File re deposition"), rules)
    assert flag.rule == "guideline:banned_phrases" and "attention to file" in flag.message
    assert gl.banned_phrases(entry("Review filed motion to dismiss"), rules) == []


@pytest.mark.parametrize("key,task,act,expected", [
    ("require_task_codes", "", "A103", ["guideline:require_task_codes"]),
    ("require_task_codes", "L350", "", []),
    ("require_activity_codes", "L350", "", ["guideline:require_activity_codes"]),
    ("require_activity_codes", "", "A103", []),
])
def test_required_codes(key, task, act, expected):
    assert rules_of(gl.require_codes(entry(task=task, act=act), g(**{key: True}))) == expected


def test_required_codes_apply_even_without_a_code_set():
    firm = firm_with({"require_task_codes": True})
    firm.matter("M-100").code_set = "none"
    flags = check_entries([entry("Draft motion to compel production of logs", task="", act="")], firm)
    assert rules_of(flags["E1"]) == ["guideline:require_task_codes"]


@pytest.mark.parametrize("narrative,rate,flagged", [
    ("Travel to Newark for deposition of port captain", None, True),
    ("Travel to Newark for deposition of port captain", "450", True),
    ("Travel to Newark for deposition of port captain", "225", False),
    ("Travel to Newark for deposition of port captain (billed at 50%)", None, False),
    ("Non-working travel to Newark for deposition, half rate", None, False),
    ("Travel to Newark for deposition (billed at 75%)", None, True),
    ("Attend deposition of port captain; travel time to and from Newark", None, True),
    ("Review travel expense records produced by defendant", None, False),
    ("Draft motion in limine re defendant's travel logs", None, False),
])
def test_travel_fraction(narrative, rate, flagged):
    firm = small_firm()
    flags = gl.travel_fraction(entry(narrative, rate=rate), firm, g(travel_fraction=0.5))
    assert rules_of(flags) == (["guideline:travel_fraction"] if flagged else [])
    if flagged:
        assert "225" in flags[0].suggestion  # MO's 450 at half


def test_travel_not_billable_at_all():
    (flag,) = gl.travel_fraction(entry("Travel to Newark (billed at 50%)"), small_firm(), g(travel_fraction=0))
    assert "not billable" in flag.message


@pytest.mark.parametrize("narrative,flagged", [
    ("Conference with J. Chen re deposition strategy", True),
    ("Conference with James Chen re deposition strategy", True),
    ("Met with Chen re privilege log", True),
    ("Internal meeting re trial staffing", True),
    ("Office conference re discovery plan", True),
    ("Conference with associate re research assignment", True),
    ("Conference with M. Ostrander (client) re deposition strategy", False),
    ("Draft memo to J. Chen re research on spoliation", False),  # not a conference
    ("Conference with M. Ortiz re strategy", False),  # MO herself
])
def test_no_intra_firm_conferences(narrative, flagged):
    flags = gl.no_intra_firm_conferences(entry(narrative), small_firm(), g(no_intra_firm_conferences=True))
    assert rules_of(flags) == (["guideline:no_intra_firm_conferences"] if flagged else [])


def test_allowed_classifications_accepts_loc_codes():
    rules = g(allowed_classifications=["PARTNR", "PL"])
    assert rules.allowed_classifications == ["PT", "PL"]
    firm = small_firm()
    assert gl.allowed_classifications(entry(tk="MO"), firm, rules) == []
    (flag,) = gl.allowed_classifications(entry(tk="JC"), firm, rules)
    assert flag.rule == "guideline:allowed_classifications" and "AS" in flag.message


def test_increment_minutes_replaces_the_firms():
    firm = firm_with({"increment_minutes": 15})
    flags = check_entries([entry(eid="Q", hours="0.25"), entry(eid="T", hours="0.3",
                                                               narrative="Draft reply brief on preemption")], firm)
    assert flags["Q"] == []  # a quarter hour is fine for this client though not a firm tenth
    assert rules_of(flags["T"]) == ["guideline:increment_minutes"]


# --------------------------------------------------------------------------- severity, errors, files


def test_severity_overrides_apply_to_that_clients_matters_only():
    firm = firm_with({"severity": {"block_billing": "warning", "non_billable": "error",
                                   "guideline:*": "warning"}, "max_hours_per_entry": 1})
    block = "Review documents produced by Beta; draft deficiency letter to opposing counsel"
    flags = check_entries([
        entry(block, eid="A"),
        entry("Bates stamp documents for production", eid="B", hours="2.0"),
        entry(block, eid="C", matter="M-200", task="B110", act="A104"),
    ], firm)
    assert {f.rule: f.severity for f in flags["A"]} == {"block_billing": "warning"}
    assert {f.rule: f.severity for f in flags["B"]} == {"non_billable": "error",
                                                        "guideline:max_hours_per_entry": "warning"}
    assert {f.rule: f.severity for f in flags["C"]} == {"block_billing": "error"}


@pytest.mark.parametrize("raw,needle", [
    ({"max_hours_per_entri": 8}, "max_hours_per_entri"),
    ({"banned_phrase": ["x"]}, "did you mean 'banned_phrases'"),
    ({"severity": {"block_biling": "warning"}}, "block_biling"),
    ({"severity": {"block_billing": "fatal"}}, "fatal"),
    ({"max_hours_per_entry": "eight"}, "max_hours_per_entry"),
    ({"travel_fraction": 1.5}, "travel_fraction"),
    ({"increment_minutes": 0}, "increment_minutes"),
    ({"allowed_classifications": ["PT", "XX"]}, "XX"),
    ({"require_task_codes": "yes"}, "require_task_codes"),
    ({"banned_phrases": "attention"}, "banned_phrases"),
])
def test_bad_keys_are_config_errors_naming_file_and_key(raw, needle):
    with pytest.raises(ConfigError) as e:
        gl.parse_guidelines(raw, "acme.toml")
    assert "guidelines/acme.toml" in str(e.value) and needle in str(e.value)


def test_a_typo_in_any_file_stops_the_check():
    firm = firm_with({"max_hours_per_entry": 8})
    firm.guidelines["unused.toml"] = {"no_intra_firm_conference": True}
    with pytest.raises(ConfigError, match="unused.toml.*no_intra_firm_conference"):
        check_entries([entry()], firm)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "guidelines").glob("*.toml")))
def test_example_files_parse_and_document_every_key(name):
    text = (ROOT / "guidelines" / name).read_text(encoding="utf-8")
    rules = gl.parse_guidelines(tomllib.loads(text), name)
    assert rules.name
    if name == "strict_insurer.toml":
        for key in gl.GUIDELINE_KEYS:
            assert f"\n{key} = " in text, key


def test_module_docstring_documents_every_key():
    for key in gl.GUIDELINE_KEYS:
        assert f"`{key}`" in gl.__doc__


def test_a_client_increment_equal_to_the_firms_is_the_firms_rule():
    firm = firm_with({"increment_minutes": 6})
    flags = check_entries([entry(hours="0.25")], firm)
    assert rules_of(flags["E1"]) == ["increment"]


def test_required_codes_do_not_double_the_firms_missing_code():
    firm = firm_with({"require_task_codes": True, "require_activity_codes": True})
    flags = check_entries([entry(task="", act="")], firm)  # M-100 uses the litigation code set
    assert rules_of(flags["E1"]) == ["missing_code"]
