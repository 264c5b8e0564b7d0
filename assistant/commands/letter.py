"""`tenths letter cover|status`: a cover letter for an invoice, or a status report, as .md or .docx."""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from ..errors import ConfigError
from ..folder import load_firm, relative, source_files
from ..ingest.entries import parse_expenses, parse_time_entries
from ..ledes import build_invoice
from ..letters import UpcomingEvent, cover_brief, letter_docx, load_template, status_brief, write_letter
from ..models import Expense, FirmData, Period, TimeEntry
from ..outputs import write_bytes

UPCOMING_DAYS = 90


def run(ns) -> int:
    suffix = ns.out.suffix.lower()
    if suffix not in (".md", ".docx"):
        raise ConfigError(f"--out must end in .md or .docx, not {ns.out.name!r}")
    firm = load_firm(ns.firm)
    if firm.matter(ns.matter) is None:
        raise ConfigError(f"no matter {ns.matter!r} in matters.csv", file="matters.csv")
    today = dt.date.today()
    entries = _entries(ns.entries or Path(ns.firm) / "time_entries.csv")
    if ns.kind == "cover":
        if not ns.invoice_number:
            raise ConfigError("a cover letter needs --invoice-number (the invoice it accompanies)")
        invoice_date = ns.invoice_date or today
        period = _period(ns, invoice_date)
        invoice = build_invoice(entries, _expenses(Path(ns.firm) / "expenses.csv"), firm, ns.matter,
                                ns.invoice_number, invoice_date, period)
        brief = cover_brief(firm, ns.matter, invoice, entries)
    else:
        period = _period(ns, today)
        brief = status_brief(firm, ns.matter, entries, period, today,
                             upcoming_events(ns.firm, firm, ns.matter, today))
    engine = _engine()
    try:
        text = write_letter(brief, engine=engine, template=load_template(ns.kind, ns.firm))
    finally:
        if engine is not None:
            engine.close()
    if suffix == ".md":
        write_bytes(Path(ns.out), text.encode("utf-8"))
    else:
        buffer = io.BytesIO()
        letter_docx(text, brief).save(buffer)
        write_bytes(Path(ns.out), buffer.getvalue())
    return 0


def _period(ns, reference: dt.date) -> Period:
    """--from/--to, else the calendar month before `reference`."""
    last_month_end = reference.replace(day=1) - dt.timedelta(days=1)
    start = ns.date_from or (last_month_end.replace(day=1) if not ns.date_to else ns.date_to.replace(day=1))
    end = ns.date_to or (last_month_end if not ns.date_from else _month_end(ns.date_from))
    if start > end:
        raise ConfigError(f"--from {start} is after --to {end}")
    return Period(start=start, end=end)


def _month_end(day: dt.date) -> dt.date:
    nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def _entries(path: Path) -> list[TimeEntry]:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the time entries ({e.strerror})", file=str(path)) from None
    entries, rejected = parse_time_entries(data, str(path))
    if any(r.source_ref == str(path) for r in rejected):
        raise ConfigError(rejected[0].reason, file=str(path))
    for r in rejected:
        print(f"tenths letter: skipped {r.source_ref}: {r.reason}", file=sys.stderr)
    return entries


def _expenses(path: Path) -> list[Expense]:
    if not path.is_file():
        return []
    expenses, _ = parse_expenses(path.read_bytes(), str(path))
    return expenses


def _engine():
    try:
        from ..engines import get_engine
        from ..settings import load_settings
    except ImportError:
        return None
    return get_engine(load_settings())


def upcoming_events(root: Path | str, firm: FirmData, matter_id: str, today: dt.date) -> list[UpcomingEvent]:
    """The matter's calendar events from tomorrow on (the same meeting in two calendars once)."""
    from ..ingest.calendar import parse_ics
    from ..matching import match_activities

    window = Period(start=today + dt.timedelta(days=1), end=today + dt.timedelta(days=UPCOMING_DAYS))
    activities = []
    for path in source_files(root)["calendar"]:
        try:
            result = parse_ics(path.read_bytes(), relative(root, path), firm, window)
        except OSError:
            continue
        activities += result.activities
    seen: dict[tuple, tuple[dt.datetime, UpcomingEvent]] = {}
    for a in match_activities(activities, firm):
        if a.matter_id != matter_id:
            continue
        local = a.start.astimezone(firm.firm.tz)
        time = local.strftime("%I:%M %p").lstrip("0").replace("AM", "a.m.").replace("PM", "p.m.")
        event = UpcomingEvent(date=local.date(), title=" ".join(a.title.split())[:120] or "Meeting", time=time)
        seen.setdefault((local, event.title.lower()), (local, event))
    return [event for _, event in sorted(seen.values(), key=lambda pair: (pair[0], pair[1].title))]
