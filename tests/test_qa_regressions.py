"""Regressions found by using Tenths as a firm would: each test names what used to go wrong."""

from __future__ import annotations

import pytest

from assistant.cli import main
from assistant.errors import ConfigError
from assistant.ingest.firm import parse_clients, parse_firm_toml, parse_matters, parse_timekeepers

FIRM_TOML = b'name = "Acme LLP"\nlaw_firm_id = "12-3456789"\ntimezone = "America/New_York"\n'
FIRM = {
    "firm.toml": FIRM_TOML,
    "timekeepers.csv": b"timekeeper_id,name,classification,rate,email\nTK1,Ann Lee,PT,500,ann@acme.law\n",
    "clients.csv": b"client_id,name,ledes_client_id,billing_email\nC1,Globex,GLX,ap@globex.com\n",
    "matters.csv": b"matter_id,client_id,name,status,billing_type,code_set\nM1,C1,Globex v. Initech,open,hourly,litigation\n",
}


def write_firm(root, **overrides: bytes):
    root.mkdir(parents=True, exist_ok=True)
    for name, data in {**FIRM, **overrides}.items():
        (root / name).write_bytes(data)
    return root


# --------------------------------------------------------------------------- firm files


@pytest.mark.parametrize("value", ["0", "-6", "61"])
def test_increment_outside_1_to_60_is_a_config_error(value):
    # increment_minutes = 0 used to crash analyze with ZeroDivisionError; -6 was accepted silently.
    with pytest.raises(ConfigError, match="firm.toml: increment_minutes"):
        parse_firm_toml(FIRM_TOML + f"increment_minutes = {value}\n".encode())


def test_increment_zero_exits_2_without_traceback(tmp_path, capsys):
    firm = write_firm(tmp_path / "firm", **{"firm.toml": FIRM_TOML + b"increment_minutes = 0\n"})
    rc = main(["analyze", str(firm), "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "increment_minutes" in capsys.readouterr().err


def test_unknown_firm_zone_is_named_in_one_sentence():
    with pytest.raises(ConfigError) as e:
        parse_firm_toml(FIRM_TOML.replace(b"America/New_York", b"America/Nowhere"))
    assert str(e.value) == "firm.toml: timezone: unknown time zone 'America/Nowhere'"


def test_duplicate_ids_name_the_line():
    tks = b"timekeeper_id,name,classification,rate,email\nTK1,Ann Lee,PT,500,a@x.law\nTK1,Bo Li,AS,300,b@x.law\n"
    with pytest.raises(ConfigError, match=r"^timekeepers.csv:3: duplicate timekeeper_id TK1 \(first on line 2\)$"):
        parse_timekeepers(tks)
    clients = FIRM["clients.csv"] + b"C1,Other,OTH,ap@other.com\n"
    with pytest.raises(ConfigError, match=r"^clients.csv:3: duplicate client_id C1"):
        parse_clients(clients)
    matters = FIRM["matters.csv"] + b"M1,C1,Again,open,hourly,litigation\n"
    with pytest.raises(ConfigError, match=r"^matters.csv:3: duplicate matter_id M1"):
        parse_matters(matters)


def test_unknown_timekeeper_zone_names_the_line():
    tks = (b"timekeeper_id,name,classification,rate,email,phone,timezone\n"
           b"TK1,Ann Lee,PT,500,a@x.law,,America/Chicago\nTK2,Bo Li,AS,300,b@x.law,,Mars/Base\n")
    with pytest.raises(ConfigError, match=r"^timekeepers.csv:3: unknown time zone 'Mars/Base'$"):
        parse_timekeepers(tks)


def test_a_utf16_firm_file_is_named_as_utf16_not_binary(tmp_path, capsys):
    # Excel's "Unicode Text" export used to be reported as "timekeepers.csv: timekeepers.csv is a binary file".
    utf16 = FIRM["timekeepers.csv"].decode().encode("utf-16")
    firm = write_firm(tmp_path / "firm", **{"timekeepers.csv": utf16})
    rc = main(["analyze", str(firm), "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err == 'tenths analyze: timekeepers.csv is UTF-16, not UTF-8; save it as UTF-8 ("CSV UTF-8")'


def test_an_empty_entries_file_is_named_once(tmp_path, capsys):
    # "tenths check: e.csv: e.csv is empty (no header row)" named the file twice.
    firm = write_firm(tmp_path / "firm")
    entries = tmp_path / "e.csv"
    entries.write_bytes(b"")
    assert main(["check", str(firm), "--entries", str(entries), "--out", str(tmp_path / "flags.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "tenths check: e.csv is empty (no header row)"
    assert str(ConfigError("bad value", file="x.csv", line=3)) == "x.csv:3: bad value"
    assert str(ConfigError("missing", file="x.csv")) == "x.csv: missing"


# --------------------------------------------------------------------------- --out that cannot be used


def test_an_out_that_cannot_be_written_is_bad_usage_not_a_traceback(tmp_path, capsys):
    # --out naming a file (analyze), under a file, or naming a folder (ledes/code) used to raise
    # FileExistsError / NotADirectoryError / IsADirectoryError out of the CLI with exit 1.
    from assistant.outputs import write_bytes, write_outputs

    afile = tmp_path / "afile"
    afile.write_text("x")
    for bad in (afile, afile / "sub"):
        with pytest.raises(ConfigError, match="output folder"):
            write_outputs(None, bad)  # the folder is checked before anything is read from the analysis
    with pytest.raises(ConfigError, match="it is a folder"):
        write_bytes(tmp_path, b"x")
    with pytest.raises(ConfigError, match="output folder"):
        write_bytes(afile / "x.json", b"x")
    firm = write_firm(tmp_path / "firm")
    entries = tmp_path / "e.csv"
    entries.write_bytes(b"entry_id,date,timekeeper_id,matter_id,hours,narrative\n"
                        b"E1,2026-10-05,TK1,M1,1.0,Draft motion to compel production of documents\n")
    capsys.readouterr()
    assert main(["analyze", str(firm), "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(afile),
                 "--quiet"]) == 2
    assert main(["check", str(firm), "--entries", str(entries), "--out", str(afile / "flags.json")]) == 2
    assert main(["code", str(firm), "--entries", str(entries), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 3
    assert afile.read_text() == "x"


def test_every_subcommand_argument_is_explained_in_help():
    # `tenths sweep --help` used to list bare "firm", "--date DATE", "--out OUT" with no word of explanation.
    import argparse

    from assistant.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"tenths {name}: {action.dest} has no help"


# --------------------------------------------------------------------------- drafts


def test_two_tasks_that_read_the_same_are_one_draft_not_two_duplicates():
    # Two sessions on one memo (v1, v5) or two meetings on one subject used to become two drafts with the
    # same narrative and hours, which `tenths check` then refused as duplicates of each other.
    import datetime as dt
    from decimal import Decimal

    from firmkit import activity, at, small_firm

    from assistant.models import TimeEntry
    from assistant.pipeline import drafts_and_gaps
    from assistant.validate import check_entries
    from assistant.worktime import analyse_keys

    firm = small_firm()
    acts = [activity("cal#1", at(5, 10), 60, title="Acme v. Beta strategy", matter="M-100"),
            activity("cal#2", at(5, 14), 60, title="Acme v. Beta strategy", matter="M-100"),
            activity("calls.csv:2", at(5, 16), 12, kind="call", matter="M-100")]
    [key] = analyse_keys(acts, [], firm)
    drafts, [gap] = drafts_and_gaps([key], firm)
    narratives = [d.narrative.casefold() for d in drafts]
    assert len(narratives) == len(set(narratives)) == 2
    assert sum(d.hours for d in drafts) == gap.hours == Decimal("2.2")
    meeting = next(d for d in drafts if len(d.evidence) == 2)
    assert meeting.hours == Decimal("2.0") and set(meeting.evidence) == {acts[0].activity_id, acts[1].activity_id}
    entries = [TimeEntry(entry_id=d.draft_id, date=d.date, timekeeper_id=d.timekeeper_id, matter_id=d.matter_id,
                         hours=d.hours, narrative=d.narrative, task_code="L120", activity_code="A106")
               for d in drafts]
    assert not any(f.rule == "duplicate" for flags in check_entries(entries, firm).values() for f in flags)


def test_an_entry_of_an_unknown_timekeeper_is_rejected_not_silently_dropped(tmp_path):
    # Its hours were counted in records as read and used, yet appeared in no entered_hours figure.
    import datetime as dt

    from assistant.models import Period
    from assistant.pipeline import analyze

    firm = write_firm(tmp_path / "firm", **{"time_entries.csv": (
        b"entry_id,date,timekeeper_id,matter_id,hours,narrative\n"
        b"E1,2026-10-05,TK1,M1,1.0,Draft motion to compel production of documents\n"
        b"E2,2026-10-05,ZZ,M1,2.0,Draft motion to compel production of documents\n")})
    a = analyze(firm, Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)))
    assert [e.entry_id for e in a.entries] == ["E1"]
    assert a.summary["records"]["time_entries"] == {"read": 2, "activities": 1, "ignored": 0, "rejected": 1}
    [r] = [r for r in a.rejections if r.source == "time_entries"]
    assert r.source_ref == "time_entries.csv:3" and "unknown timekeeper ZZ" in r.reason
    assert a.summary["entered_hours"] == 1.0


def test_outputs_get_ordinary_file_permissions_not_private_ones(tmp_path):
    # The atomic writer (mkstemp) left every output 0600: an invoice no colleague on the shared drive could open.
    import os
    import stat

    from assistant.outputs import write_bytes

    mask = os.umask(0o022)
    os.umask(mask)
    new = write_bytes(tmp_path / "inv.txt", b"x")
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask
    kept = tmp_path / "flags.json"
    kept.write_text("old")
    kept.chmod(0o640)
    write_bytes(kept, b"new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_bytes() == b"new"
