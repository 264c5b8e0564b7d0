"""Small firms and activities built in code, for tests of the pure steps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from assistant.models import Activity, Client, Contact, Firm, FirmData, Matter, TimeEntry, Timekeeper, make_activity_id

NY = ZoneInfo("America/New_York")


def small_firm() -> FirmData:
    return FirmData(
        root="/nonexistent",
        firm=Firm(name="Hale & Ortiz LLP", law_firm_id="12-3456789", timezone="America/New_York"),
        timekeepers=[
            Timekeeper(timekeeper_id="MO", name="Maria Ortiz", classification="PT", rate=Decimal("450"),
                       email="mortiz@haleortiz.com", phone="212-555-0101"),
            Timekeeper(timekeeper_id="JC", name="James Chen", classification="AS", rate=Decimal("300"),
                       email="jchen@haleortiz.com", phone="212-555-0102", timezone="America/Chicago"),
        ],
        clients=[
            Client(client_id="ACME", name="Acme Corp.", ledes_client_id="ACME01", billing_email="ap@acme.com",
                   domains=["acme.com"]),
            Client(client_id="GLOBX", name="Globex Inc.", ledes_client_id="GLX", billing_email="ap@globex.com",
                   domains=["globex.com"]),
            Client(client_id="INIT", name="Initech", ledes_client_id="INI", billing_email="ap@initech.com",
                   domains=["initech.com"]),
        ],
        matters=[
            Matter(matter_id="M-100", client_id="ACME", name="Acme v. Beta Industries", status="open",
                   billing_type="hourly", code_set="litigation", references=["2026-0100", "Acme v. Beta"]),
            Matter(matter_id="M-200", client_id="GLOBX", name="Globex bankruptcy", status="open",
                   billing_type="hourly", code_set="bankruptcy", references=["2026-0200"]),
            Matter(matter_id="M-201", client_id="GLOBX", name="Globex lease dispute", status="open",
                   billing_type="flat", code_set="litigation", references=["2026-0201"],
                   flat_fee=Decimal("5000")),
            Matter(matter_id="M-300", client_id="INIT", name="Initech audit", status="closed",
                   billing_type="hourly", code_set="counseling"),
        ],
        contacts=[
            Contact(client_id="ACME", name="Mark Ostrander", email="mostrander@acme.com", phone="+1 (646) 555-0199"),
            Contact(client_id="GLOBX", name="Dana Lee", email="dlee@globex.com", phone="646-555-0123",
                    matter_id="M-200"),
            Contact(client_id="GLOBX", name="Sam Park", email="spark@globex.com", phone="646-555-0124"),
        ],
    )


def at(day: int, hour: int, minute: int = 0, tz=NY, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=tz)


def activity(ref: str, start: dt.datetime, minutes: int, *, tk: str = "MO", kind: str = "meeting",
             title: str = "", matter: str | None = None, counterparties=(), names=(), source: str | None = None,
             end: dt.datetime | None = None) -> Activity:
    source = source or {"meeting": "calendar", "call": "calls", "document": "documents"}.get(kind, "mail")
    return Activity(
        activity_id=make_activity_id(ref, tk), source=source, source_ref=ref, timekeeper_id=tk, kind=kind,
        start=start, end=end or start + dt.timedelta(minutes=minutes), minutes=minutes, title=title,
        matter_id=matter, match_confidence=0.95 if matter else 0.0, counterparties=list(counterparties),
        participant_names=list(names),
    )


def entry(eid: str, day: int, hours: str, narrative: str = "Telephone conference with M. Ostrander re: discovery",
          *, tk: str = "MO", matter: str = "M-100") -> TimeEntry:
    return TimeEntry(entry_id=eid, date=dt.date(2026, 10, day), timekeeper_id=tk, matter_id=matter,
                     hours=Decimal(hours), narrative=narrative)
