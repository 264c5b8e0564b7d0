"""The demo firm generator: determinism, a loadable folder in the contract's shape, a truth that
agrees with itself and with the entries it describes, and planted problems the validator finds."""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.demo import generate, write_demo, write_files
from assistant.folder import load_firm, source_files
from assistant.ingest import mailtext
from assistant.ingest.entries import parse_time_entries
from assistant.ingest.mail import email_minutes, split_mbox

REPO = Path(__file__).resolve().parent.parent

CONTRACT_COLUMNS = {
    "timekeepers.csv": ["timekeeper_id", "name", "classification", "rate", "email", "phone", "timezone"],
    "clients.csv": ["client_id", "name", "ledes_client_id", "billing_email", "domains", "guidelines"],
    "matters.csv": ["matter_id", "client_id", "name", "status", "billing_type", "code_set", "client_matter_id",
                    "lead_timekeeper_id", "references"],
    "contacts.csv": ["client_id", "name", "email", "phone", "matter_id"],
    "calls/2026-10.csv": ["call_id", "start", "end", "direction", "timekeeper_phone", "other_number"],
    "documents/2026-10.csv": ["timestamp", "timekeeper_id", "document", "action", "minutes", "matter_id"],
    "time_entries.csv": ["entry_id", "date", "timekeeper_id", "matter_id", "hours", "narrative", "task_code",
                         "activity_code", "rate"],
    "expenses.csv": ["expense_id", "date", "timekeeper_id", "matter_id", "amount", "description", "expense_code",
                     "units", "unit_cost"],
}


@pytest.fixture(scope="module")
def demo():
    return generate()


@pytest.fixture(scope="module")
def folder(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_files(demo, out)
    return out


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_same_seed_same_bytes():
    a, b = generate(attorneys=2, seed=3), generate(attorneys=2, seed=3)
    assert a.files == b.files
    assert a.truth == b.truth
    assert generate(attorneys=2, seed=4).files != a.files


def test_bundled_demo_firm_is_the_default_generation(demo):
    bundled = REPO / "demo_firm"
    on_disk = {p.relative_to(bundled).as_posix(): p.read_bytes() for p in bundled.rglob("*")
               if p.is_file() and p.name != ".tenths-demo"}
    assert on_disk.keys() == demo.files.keys(), "regenerate it: tenths demo demo_firm"
    changed = [name for name, data in demo.files.items() if on_disk[name] != data]
    assert not changed, f"demo_firm is stale ({changed[:3]}); regenerate it: tenths demo demo_firm"


def test_folder_loads_and_has_every_source(folder):
    firm = load_firm(folder)
    assert len([t for t in firm.timekeepers if t.is_lawyer]) == 5
    assert {t.classification for t in firm.timekeepers} == {"PT", "AS", "PL"}
    assert any(t.timezone == "America/Chicago" for t in firm.timekeepers)
    kinds = {m.billing_type for m in firm.matters}
    assert kinds == {"hourly", "flat", "contingency", "pro_bono"}
    assert any(m.status == "closed" for m in firm.matters)
    assert set(firm.guidelines) == {"acme.toml", "northwind.toml"}
    sources = source_files(folder)
    assert len(sources["calendar"]) == len(sources["mail"]) == len(firm.timekeepers)
    assert sources["calls"] and sources["documents"]


@pytest.mark.parametrize("name", sorted(CONTRACT_COLUMNS))
def test_csv_columns_follow_the_contract(demo, name):
    header = next(csv.reader(io.StringIO(demo.files[name].decode("utf-8"))))
    assert header[: len(CONTRACT_COLUMNS[name])] == CONTRACT_COLUMNS[name]


def test_fixed_line_endings(demo):
    for name, data in demo.files.items():
        if name.endswith(".ics"):
            assert data.count(b"\r\n") == data.count(b"\n"), name
        else:
            assert b"\r" not in data, name


def test_truth_is_consistent_with_the_entries(demo):
    t = demo.truth
    entries, rejected = parse_time_entries(demo.files["time_entries.csv"])
    assert not rejected
    entered = defaultdict(Decimal)
    for e in entries:
        entered[(e.timekeeper_id, e.date, e.matter_id)] += e.hours
    ids = {e.entry_id for e in entries}
    for k in t.keys:
        got = entered.get((k.timekeeper_id, k.date, k.matter_id), Decimal(0))
        assert k.entered_hours == got
        worked = Decimal(-(-k.worked_minutes // 6)) / 10
        assert k.worked_hours == worked
        if k.gap:
            assert got < worked and worked - got >= Decimal("0.1"), k
            assert k.gap_hours == worked - got
        else:
            assert got >= worked, k
        if k.plan in ("missing", "late"):
            assert k.gap
    gaps = [k for k in t.keys if k.gap]
    keyed = len(t.keys)
    assert 0.10 <= sum(1 for k in t.keys if k.plan in ("missing", "late")) / keyed <= 0.20
    assert 0.08 <= float(t.gap_hours / t.worked_hours) <= 0.22
    assert any(k.plan == "under" for k in gaps) and any(k.plan == "late" for k in gaps)
    assert {f.entry_id for f in t.flags} <= ids
    assert set(t.entries_without_evidence) <= ids
    rules = {f.rule for f in t.flags}
    assert {"block_billing", "vague_narrative", "duplicate", "increment", "closed_matter", "invalid_code"} <= rules
    capture = sum(min(k.entered_hours, k.worked_hours) for k in t.keys) / sum(k.worked_hours for k in t.keys)
    assert abs(float(capture) - t.capture_rate) < 1e-6


def test_confirm_items_are_planted(demo):
    kinds = {c.kind for c in demo.truth.confirm}
    assert kinds == {"ambiguous", "unknown"}
    assert any(len(c.candidates) == 2 for c in demo.truth.confirm if c.kind == "ambiguous")
    assert any(c.source_ref.startswith("calls/") for c in demo.truth.confirm if c.kind == "unknown")
    worked_refs = {r for k in demo.truth.keys for r in k.source_refs}
    assert not worked_refs & {c.source_ref for c in demo.truth.confirm}


def test_email_sizes_are_far_from_the_estimate_thresholds(demo):
    """Each message's estimate is the same whether or not a parser strips its signature and quote."""
    import email

    data = demo.files["mail/AW01.mbox"]
    checked = 0
    for a, b in split_mbox(data):
        msg = email.message_from_bytes(data[a:b].split(b"\n", 1)[1])
        if msg["List-Unsubscribe"] or msg.is_multipart() or msg.get_content_type() != "text/plain":
            continue
        body = msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")
        kind = "email_sent" if "anna.whitcomb@" in msg["From"] else "email_received"
        readings = {email_minutes(kind, mailtext.count_words(text), 0)
                    for text in (body, mailtext.new_text(body), body.split("\n-- \n")[0])}
        assert len(readings) == 1, (msg["Subject"], readings)
        checked += 1
    assert checked > 300


def test_normal_narratives_are_clean_and_planted_ones_are_flagged(demo, folder):
    from assistant.validate import check_entries

    firm = load_firm(folder)
    entries, _ = parse_time_entries(demo.files["time_entries.csv"])
    flags = check_entries(entries, firm)
    planted = defaultdict(set)
    for f in demo.truth.flags:
        planted[f.entry_id].add(f.rule)
    for entry_id, rules in planted.items():
        found = {f.rule for f in flags[entry_id]}
        assert rules <= found, (entry_id, rules, found)
    unplanted = {f.rule for eid, fl in flags.items() if eid not in planted for f in fl}
    assert not unplanted, unplanted


def test_cli_writes_and_refuses_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "firm"
    assert main(["demo", str(out), "--attorneys", "2", "--seed", "5"]) == 0
    assert (out / "firm.toml").is_file() and not (out / "truth.json").exists()
    assert "Wrote a demo firm" in capsys.readouterr().out
    assert main(["demo", str(out), "--attorneys", "1", "--seed", "5"]) == 0  # a demo folder may be replaced
    assert not (out / "calendar" / "RH02.ics").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["demo", str(foreign)]) == 2
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_cli_refuses_a_folder_under_a_file_in_one_sentence(tmp_path, capsys):
    # `tenths demo afile/sub` used to end in a NotADirectoryError traceback (exit 1).
    (tmp_path / "afile").write_text("x")
    assert main(["demo", str(tmp_path / "afile" / "sub"), "--attorneys", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot create the folder" in err and "Traceback" not in err


def test_write_demo_with_truth(tmp_path):
    demo = write_demo(tmp_path / "f", attorneys=1, seed=2, with_truth=True)
    assert (tmp_path / "f" / "truth.json").read_text().startswith("{")
    assert demo.truth.attorneys == 1


@pytest.mark.slow
def test_thirty_attorneys_scale():
    """Benchmark-sized firm: about 41k emails, 6k events, 7k calls (timing printed, not asserted)."""
    started = time.perf_counter()
    demo = generate(attorneys=30)
    elapsed = time.perf_counter() - started
    r = demo.truth.records
    print(f"30 attorneys: {elapsed:.1f} s; {r}")
    assert 30_000 <= r["mail"]["read"] <= 50_000
    assert r["calendar"]["read"] >= 3_000 and r["calls"]["read"] >= 5_000


@pytest.mark.slow
def test_analysis_of_the_demo_matches_its_truth(demo, folder):
    """What the real pipeline makes of the demo equals the generator's truth, key by key."""
    from assistant.models import Period
    from assistant.pipeline import analyze
    from assistant.worktime import activity_minutes, group_keys

    t = demo.truth
    a = analyze(folder, Period(start=t.period_start, end=t.period_end))
    for source, counts in t.records.items():
        assert a.counts[source].model_dump() == counts, source
    keys = {k: activity_minutes(v) for k, v in group_keys(a.activities, a.firm).items()}
    assert keys == {(k.timekeeper_id, k.date, k.matter_id): k.worked_minutes for k in t.keys}
    assert {g.timekeeper_id for g in a.gaps} and \
        {(g.timekeeper_id, g.date, g.matter_id) for g in a.gaps} == {(k.timekeeper_id, k.date, k.matter_id)
                                                                    for k in t.keys if k.gap}
    assert {(c.source_ref, c.timekeeper_id) for c in a.confirm} == {(c.source_ref, c.timekeeper_id) for c in t.confirm}


def test_bytes_do_not_depend_on_the_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "assistant", "demo", str(out), "--attorneys", "1", "--seed", "9"],
                       check=True, env=env, capture_output=True, cwd=REPO)
        outs.append({p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outs[0] == outs[1]


def test_evidence_of_different_matters_never_overlaps():
    import random

    from assistant.demo.firm import build_roster
    from assistant.demo.plan import Planner

    rng = random.Random(5)
    plan = Planner(build_roster(6, rng), "2026-10", rng).run()
    by_tk = defaultdict(list)
    for a in plan.acts:
        if a.status != "ignored":
            by_tk[a.tk].append(a)
    same_matter_overlaps = 0
    for acts in by_tk.values():
        acts.sort(key=lambda a: (a.start, a.end))
        holder = acts[0]
        for cur in acts[1:]:
            if cur.start < holder.end:
                assert cur.matter == holder.matter and cur.matter, (holder.kind, cur.kind, cur.start)
                same_matter_overlaps += 1
            if cur.end > holder.end:
                holder = cur
    assert same_matter_overlaps > 0  # the planted call during a meeting, the quick reply
