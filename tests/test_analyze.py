"""`tenths analyze` and `tenths sweep` end to end on a generated demo firm, against its planted truth."""

import csv
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.demo import generate, write_files
from assistant.models import Period
from assistant.pipeline import analyze

SHARED = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_outputs.py"
VENDORED = Path(__file__).resolve().parent / "vendor" / "check_outputs.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = generate(attorneys=2, month="2026-10", seed=5)
    root = tmp_path_factory.mktemp("firm")
    write_files(d, root)
    return d, root


@pytest.fixture(scope="module")
def analysis(demo):
    d, root = demo
    return analyze(root, Period(start=d.truth.period_start, end=d.truth.period_end))


@pytest.fixture(scope="module")
def out(demo, tmp_path_factory):
    d, root = demo
    out = tmp_path_factory.mktemp("out")
    assert main(["analyze", str(root), "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(out), "--quiet"]) == 0
    return out


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_contract_file_has_the_contract_shape(out):
    tool = SHARED if SHARED.is_file() else VENDORED
    r = subprocess.run([sys.executable, str(tool), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert "shape holds" in r.stdout


def test_records_add_up_and_match_what_the_generator_planted(analysis, demo):
    truth = demo[0].truth
    for source, counts in truth.records.items():
        got = analysis.summary["records"][source]
        assert got["read"] == got["activities"] + got["ignored"] + got["rejected"]
        assert got == counts, source


def test_gaps_are_exactly_the_planted_ones(analysis, demo):
    truth = demo[0].truth
    found = {(g.timekeeper_id, g.date, g.matter_id): g.hours for g in analysis.gaps}
    expected = {(k.timekeeper_id, k.date, k.matter_id): k.gap_hours for k in truth.keys if k.gap}
    assert found == expected
    assert analysis.summary["capture_rate"] == pytest.approx(truth.capture_rate, abs=0.01)


def test_figures_add_up_per_timekeeper_and_in_total(analysis):
    s = analysis.summary
    assert s["worked_hours"] == pytest.approx(s["covered_hours"] + s["gap_hours"])
    for tk in s["timekeepers"].values():
        assert tk["worked_hours"] == pytest.approx(tk["covered_hours"] + tk["gap_hours"])
    assert s["gap_hours"] == pytest.approx(float(sum(g.hours for g in analysis.gaps)))
    assert s["recoverable_amount"] == pytest.approx(float(sum(g.amount for g in analysis.gaps)))
    for g in analysis.gaps:
        matter = analysis.firm.matter(g.matter_id)
        if matter.billing_type != "hourly":
            assert g.amount == 0


def test_drafts_trace_to_evidence_and_sum_to_the_gaps(analysis):
    ids = {a.activity_id: a for a in analysis.activities}
    by_key = {}
    for d in analysis.drafts:
        assert d.evidence and all(e in ids for e in d.evidence)
        for e in d.evidence:
            a = ids[e]
            assert (a.timekeeper_id, a.matter_id) == (d.timekeeper_id, d.matter_id)
        assert d.narrative and len(d.narrative.split()) >= 4
        key = (d.timekeeper_id, d.date, d.matter_id)
        by_key[key] = by_key.get(key, Decimal(0)) + d.hours
    assert by_key == {(g.timekeeper_id, g.date, g.matter_id): g.hours for g in analysis.gaps}


def test_confirm_queue_holds_the_planted_unknowns_and_nothing_is_guessed(analysis, demo):
    truth = demo[0].truth
    queued = {c.activity_id for c in analysis.confirm}
    assert {c.activity_id for c in truth.confirm} <= queued
    gap_ids = {i for g in analysis.gaps for i in g.activity_ids}
    assert not (queued & gap_ids)


def test_outputs_on_disk(out):
    gaps = read_csv(out / "gaps.csv")
    drafts = read_csv(out / "drafts.csv")
    assert gaps and drafts
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["capture_rate"] < 1
    assert summary["engine"]["name"] == "offline" and summary["engine"]["calls"] == 0


def test_sweep_prompts_a_day_with_gaps_and_is_silent_on_a_fully_entered_day(demo, tmp_path):
    d, root = demo
    keys = d.truth.keys
    gap_days = sorted({k.date for k in keys if k.gap})
    full_days = sorted({k.date for k in keys} - set(gap_days))
    assert gap_days and full_days
    out = tmp_path / "gap"
    assert main(["sweep", str(root), "--date", gap_days[0].isoformat(), "--out", str(out)]) == 0
    rows = read_csv(out / "prompts.csv")
    assert rows and all(r["date"] == gap_days[0].isoformat() for r in rows)
    assert all("APPROVE" in r["message"] and r["narrative"] in r["message"] for r in rows)
    assert "not entered" in (out / "digest.md").read_text()
    # A day whose evidence is all entered (and has nothing to confirm) yields a header-only CSV.
    out = tmp_path / "full"
    assert main(["sweep", str(root), "--date", full_days[0].isoformat(), "--out", str(out)]) == 0
    lines = (out / "prompts.csv").read_text().splitlines()
    assert lines == ["timekeeper_id,date,matter_id,hours,narrative,evidence,message"]


def test_bad_period_and_missing_firm_are_usage_errors(tmp_path, capsys):
    assert main(["analyze", str(tmp_path), "--from", "2026-10-31", "--to", "2026-10-01", "--out", str(tmp_path)]) == 2
    assert main(["analyze", str(tmp_path), "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(tmp_path / "o")]) == 2
    assert "firm.toml" in capsys.readouterr().err


def test_sweep_messages_and_digest_agree_in_number(analysis):
    # "3 emails you received and 3 emails you sent ... has no time entry" and "across 1 timekeepers" were sent.
    from assistant.sweep import build_prompts, message, render_digest

    assert analysis.drafts
    for d in analysis.drafts:
        text = message(d, analysis)
        n = sum(1 for aid in d.evidence if analysis.activity(aid) is not None)
        assert (" have no time entry." in text) == (n > 1), text
        assert (" has no time entry." in text) == (n <= 1), text
    one = build_prompts(analysis)[:1]
    digest = render_digest(analysis, one)
    assert "1 draft entry, " in digest and "across 1 timekeeper." in digest
    assert "timekeepers." not in digest and "entries," not in digest.splitlines()[2]
