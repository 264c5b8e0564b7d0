"""`tenths demo`: a synthetic firm folder with a month of evidence, recorded entries and planted problems.

    demo = generate(attorneys=5, month="2026-10", seed=7)   # pure: same arguments, same bytes
    write_files(demo, out)                                  # or write_demo(out, ...)

`demo.truth` says what a correct analysis must find: per (timekeeper, date, matter) the worked
minutes (the union of the evidence intervals, as docs/formats.md defines them), the hours entered and
whether the key is a gap; the planted flag problems by entry id and rule id; and the records that
belong in the confirm queue. Every billable record names its matter unambiguously — by a reference
in its subject or title, a contact tied to one matter, or a client with one open matter — and the
evidence of different matters never overlaps on one timekeeper's day.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from ..errors import ConfigError
from ..models import make_activity_id
from . import books, render
from .firm import FIRM_TOML, GUIDELINES, Roster, build_roster, fmt_phone
from .plan import Planner

__all__ = ["DemoFirm", "DemoTruth", "TruthKey", "PlantedFlag", "ConfirmTruth", "generate", "write_files", "write_demo"]

MARKER = ".tenths-demo"
"""Written into every demo folder: the list of files the generator wrote, so a re-run may replace them."""


class TruthKey(BaseModel):
    timekeeper_id: str
    date: dt.date
    matter_id: str
    billing_type: str
    worked_minutes: int
    """Union of the key's evidence intervals, in minutes."""
    worked_hours: Decimal
    """Worked minutes rounded up to the firm's increment."""
    entered_hours: Decimal
    """Hours of every entry on the key (duplicates included)."""
    gap_hours: Decimal
    gap: bool
    amount: Decimal
    """Recoverable value of the gap (hourly matters only)."""
    plan: str
    """full | missing | under | late (a short call entered on the next working day)."""
    source_refs: list[str]


class PlantedFlag(BaseModel):
    entry_id: str
    rule: str
    """A contract rule id; guideline rules of the client may fire on the same entry too."""


class ConfirmTruth(BaseModel):
    source_ref: str
    timekeeper_id: str
    activity_id: str
    kind: str
    """ambiguous (several candidate matters) | unknown (no client or matter known)."""
    candidates: list[str] = Field(default_factory=list)


class DemoTruth(BaseModel):
    month: str
    seed: int
    attorneys: int
    period_start: dt.date
    period_end: dt.date
    increment_minutes: int = 6
    keys: list[TruthKey]
    flags: list[PlantedFlag]
    confirm: list[ConfirmTruth]
    entries_without_evidence: list[str]
    """Entry ids on keys that have no evidence (information, not gaps)."""
    injection_refs: list[str]
    """Emails whose body carries a prompt-injection attempt (their excerpts are untrusted)."""
    records: dict[str, dict[str, int]]
    """Expected per-source record counts for the month: read, activities, ignored, rejected."""
    worked_hours: Decimal
    entered_hours: Decimal
    """Hours of every entry dated in the month (with or without evidence)."""
    covered_hours: Decimal = Decimal(0)
    """Σ min(entered, worked) over keys: the entered hours that evidence covers."""
    gap_hours: Decimal
    capture_rate: float
    recoverable_amount: Decimal
    timekeepers: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    """Per timekeeper: worked_hours, entered_hours, covered_hours, gap_hours, recoverable_amount."""


class DemoFirm(BaseModel):
    files: dict[str, bytes]
    """Relative path → bytes, for every file of the firm folder."""
    truth: DemoTruth


def generate(attorneys: int = 5, month: str = "2026-10", seed: int = 7) -> DemoFirm:
    if not 1 <= attorneys <= 100:
        raise ConfigError(f"--attorneys must be between 1 and 100 (got {attorneys})")
    try:
        dt.datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ConfigError(f"month {month!r} is not YYYY-MM") from None
    rng = random.Random(f"tenths-demo|{seed}|{attorneys}|{month}")
    roster = build_roster(attorneys, rng)
    planner = Planner(roster, month, rng)
    plan = planner.run()
    files: dict[str, bytes] = {}
    files["firm.toml"] = FIRM_TOML.encode()
    files.update(_firm_csvs(roster))
    for name, text in GUIDELINES.items():
        files[f"guidelines/{name}"] = text.encode()
    render.assign_refs(plan, roster.keepers, files, month)

    zones = {k.timekeeper_id: ZoneInfo(k.timezone) for k in roster.keepers}
    keys = books.build_keys(plan.acts, zones)
    entries, planted, no_evidence = books.write_entries(keys, roster, planner.weekdays, rng, attorneys)
    books.number_entries(entries)
    files["time_entries.csv"] = render.csv_bytes(
        ["entry_id", "date", "timekeeper_id", "matter_id", "hours", "narrative", "task_code", "activity_code", "rate"],
        books.entry_rows(entries))
    files["expenses.csv"] = render.csv_bytes(
        ["expense_id", "date", "timekeeper_id", "matter_id", "amount", "description", "expense_code", "units",
         "unit_cost"], books.write_expenses(roster, planner.weekdays, rng))
    truth = _truth(roster, plan, keys, entries, planted, no_evidence, month, seed, attorneys)
    return DemoFirm(files=dict(sorted(files.items())), truth=truth)


def _firm_csvs(r: Roster) -> dict[str, bytes]:
    tks = [[k.timekeeper_id, k.name, k.classification, str(k.rate), ";".join((k.email, *k.aliases)),
            fmt_phone(k.phone, 0), k.timezone if k.timezone != "America/New_York" else ""] for k in r.keepers]
    clients = [[c.client_id, c.name, c.ledes_client_id, c.billing_email, ";".join(c.domains), c.guidelines]
               for c in r.clients]
    matters = []
    for c in r.clients:
        for m in c.matters:
            refs = [m.reference, m.short_name]
            rates = ";".join(f"{k}={v}" for k, v in sorted(m.rates.items()))
            matters.append([m.matter_id, m.client_id, m.name, m.status, m.billing_type, m.code_set,
                            m.client_matter_id, m.lead, ";".join(refs), rates, str(m.flat_fee or "")])
    contacts = []
    for c in r.clients:
        for p in c.people:
            contacts.append([c.client_id, p.name, p.email, fmt_phone(p.phone, 0), ""])
        for m in c.matters:
            for p in m.contacts:
                contacts.append([c.client_id, p.name, p.email, fmt_phone(p.phone, 4), m.matter_id])
        for p in r.shared:
            if p.client_id == c.client_id:
                for mid in p.matter_ids:
                    contacts.append([c.client_id, p.name, p.email, fmt_phone(p.phone, 0), mid])
    return {
        "timekeepers.csv": render.csv_bytes(["timekeeper_id", "name", "classification", "rate", "email", "phone",
                                             "timezone"], tks),
        "clients.csv": render.csv_bytes(["client_id", "name", "ledes_client_id", "billing_email", "domains",
                                         "guidelines"], clients),
        "matters.csv": render.csv_bytes(["matter_id", "client_id", "name", "status", "billing_type", "code_set",
                                         "client_matter_id", "lead_timekeeper_id", "references", "rates", "flat_fee"],
                                        matters),
        "contacts.csv": render.csv_bytes(["client_id", "name", "email", "phone", "matter_id"], contacts),
    }


def _truth(roster: Roster, plan, keys, entries, planted, no_evidence, month, seed, attorneys) -> DemoTruth:
    matters = {m.matter_id: m for m in roster.matters}
    keepers = {k.timekeeper_id: k for k in roster.keepers}
    entered: dict[tuple, Decimal] = {}
    for e in entries:
        entered[(e.tk, e.date, e.matter_id)] = entered.get((e.tk, e.date, e.matter_id), Decimal(0)) + e.hours
    out_keys = []
    per_tk: dict[str, dict[str, Decimal]] = {
        k.timekeeper_id: {"worked_hours": Decimal(0), "covered_hours": Decimal(0), "gap_hours": Decimal(0),
                          "recoverable_amount": Decimal(0)} for k in roster.keepers}
    tot_w = tot_c = tot_g = Decimal(0)
    recoverable = Decimal(0)
    for key, info in keys.items():
        m = matters[key[2]]
        worked = books.hours_up(info.worked_minutes)
        got = entered.get(key, Decimal(0))
        gap = worked - min(got, worked)
        amount = (gap * m.rate_for(keepers[key[0]])).quantize(Decimal("0.01")) if m.billing_type == "hourly" else Decimal(0)
        tot_w += worked
        tot_c += min(got, worked)
        tot_g += gap
        recoverable += amount
        mine = per_tk[key[0]]
        mine["worked_hours"] += worked
        mine["covered_hours"] += min(got, worked)
        mine["gap_hours"] += gap
        mine["recoverable_amount"] += amount
        out_keys.append(TruthKey(
            timekeeper_id=key[0], date=key[1], matter_id=key[2], billing_type=m.billing_type,
            worked_minutes=info.worked_minutes, worked_hours=worked, entered_hours=got, gap_hours=gap, gap=gap > 0,
            amount=amount, plan=info.plan, source_refs=sorted(a.ref for a in info.acts)))
    confirm = [ConfirmTruth(source_ref=a.ref, timekeeper_id=a.tk, activity_id=make_activity_id(a.ref, a.tk),
                            kind=a.confirm_reason, candidates=list(a.candidates))
               for a in plan.acts if a.status == "confirm"]
    confirm.sort(key=lambda c: (c.source_ref, c.timekeeper_id))
    records: dict[str, Counter] = {s: Counter() for s in ("calendar", "mail", "calls", "documents")}
    zones = {k.timekeeper_id: ZoneInfo(k.timezone) for k in roster.keepers}
    source = {"meeting": "calendar", "call": "calls", "document": "documents", "email_sent": "mail",
              "email_received": "mail"}
    for a in plan.acts:
        kind = source[a.kind]
        if kind == "calendar" and a.payload.all_day:
            day = a.payload.all_day
        else:
            day = dt.datetime.fromtimestamp(a.start * 60, zones[a.tk]).date()
        if not plan.month_start <= day <= plan.month_end:
            continue
        status = "ignored" if a.status == "ignored" else "activities"
        records[kind][status] += 1
    rec = {s: {"read": c["activities"] + c["ignored"], "activities": c["activities"], "ignored": c["ignored"],
               "rejected": 0} for s, c in records.items()}
    mail_refs = {a.payload.msg_id: a.ref for a in plan.acts if a.kind.startswith("email")}
    flags = sorted({(e.entry_id, rule) for rule, e in planted})
    return DemoTruth(
        month=month, seed=seed, attorneys=attorneys, period_start=plan.month_start, period_end=plan.month_end,
        keys=out_keys, flags=[PlantedFlag(entry_id=i, rule=r) for i, r in flags], confirm=confirm,
        entries_without_evidence=sorted(e.entry_id for e in no_evidence),
        injection_refs=sorted(mail_refs[mid] for _, mid in plan.injection_refs),
        records=rec, worked_hours=tot_w, gap_hours=tot_g, covered_hours=tot_c,
        entered_hours=sum((e.hours for e in entries if plan.month_start <= e.date <= plan.month_end), Decimal(0)),
        capture_rate=round(float(tot_c / tot_w), 6) if tot_w else 1.0, recoverable_amount=recoverable,
        timekeepers={tk: {**v, "entered_hours": sum((e.hours for e in entries if e.tk == tk), Decimal(0))}
                     for tk, v in per_tk.items()},
    )


def write_files(demo: DemoFirm, out: Path | str, *, with_truth: bool = False) -> list[str]:
    """Write the folder; replaces the files of an earlier demo there, refuses any other non-empty folder."""
    out = Path(out)
    marker = out / MARKER
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # part of the path is a file, or no permission
        raise ConfigError(f"cannot create the folder {out} ({e.strerror})") from None
    if out.is_dir() and any(out.iterdir()):
        if not marker.is_file():
            raise ConfigError(f"{out} is not empty and was not written by `tenths demo`; choose a new folder")
        for rel in marker.read_text(encoding="utf-8").splitlines():
            old = out / rel
            if rel and rel not in demo.files and old.is_file() and out in old.resolve().parents:
                old.unlink()
    written = []
    for rel, data in demo.files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(rel)
    if with_truth:
        (out / "truth.json").write_text(demo.truth.model_dump_json(indent=1) + "\n", encoding="utf-8")
        written.append("truth.json")
    elif (out / "truth.json").is_file():
        (out / "truth.json").unlink()
    marker.write_text("\n".join(written) + "\n", encoding="utf-8")
    return written


def write_demo(out: Path | str, attorneys: int = 5, month: str = "2026-10", seed: int = 7, *,
               with_truth: bool = False) -> DemoFirm:
    demo = generate(attorneys=attorneys, month=month, seed=seed)
    write_files(demo, out, with_truth=with_truth)
    return demo
