"""Calendar ingestion on hand-written .ics files: recurrence, zones, ownership, what is left out and why."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.ingest.calendar import parse_ics
from assistant.models import Firm, FirmData, Period, SourceResult, Timekeeper, make_activity_id

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
OCT_NOV = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 11, 30))


def make_firm() -> FirmData:
    """Ada (firm zone, New York), Ben (Los Angeles), Cy (London, with an alias)."""
    return FirmData(
        root="/nonexistent",
        firm=Firm(name="Smith & Lane LLP", law_firm_id="SL-1", timezone="America/New_York"),
        timekeepers=[
            Timekeeper(timekeeper_id="ada", name="Ada Lane", classification="PT", rate=Decimal("500"),
                       email="ada@smithlane.com", phone="+1 (212) 555-0100"),
            Timekeeper(timekeeper_id="ben", name="Ben Ortiz", classification="AS", rate=Decimal("300"),
                       email="ben@smithlane.com", phone="212-555-0101", timezone="America/Los_Angeles"),
            Timekeeper(timekeeper_id="cy", name="Cy Park", classification="PL", rate=Decimal("150"),
                       email="cy@smithlane.com", aliases=["c.park@smithlane.com"], phone="212.555.0102",
                       timezone="Europe/London"),
        ],
        clients=[], matters=[], contacts=[],
    )


def assert_accounted(result: SourceResult) -> None:
    """Every record ends in exactly one place, once: read = activities + ignored + rejected."""
    counts = result.counts
    assert counts.read == counts.activities + counts.ignored + counts.rejected
    activity_refs = {a.source_ref for a in result.activities}
    rejection_refs = [r.source_ref for r in result.rejections]
    assert len(activity_refs) == result.activity_records
    assert len(rejection_refs) == len(set(rejection_refs)), "a record was left out twice"
    assert not activity_refs & set(rejection_refs), "a record is both an activity and left out"
    ids = [a.activity_id for a in result.activities]
    assert len(ids) == len(set(ids))
    for a in result.activities:
        assert a.start.tzinfo is not None and a.end.tzinfo is not None
        assert a.minutes > 0 and a.start < a.end


@pytest.fixture(scope="module")
def firm() -> FirmData:
    return make_firm()


def parse(name: str, path: str, firm: FirmData, period: Period = OCT_NOV) -> SourceResult:
    result = parse_ics((FIXTURES / f"{name}.ics").read_bytes(), path, firm, period)
    assert_accounted(result)
    return result


def starts(result: SourceResult) -> dict[str, list[str]]:
    """UID -> instance starts (ISO) of the activities, in order."""
    found: dict[str, list[str]] = {}
    for a in result.activities:
        uid, start = a.source_ref.split("#", 1)[1].rsplit("@", 1)
        if start not in found.setdefault(uid, []):
            found[uid].append(start)
    return found


def left_out(result: SourceResult) -> dict[str, tuple[str, str]]:
    """UID -> (status, reason) of the records left out."""
    return {r.source_ref.split("#", 1)[1].rsplit("@", 1)[0]: (r.status, r.reason) for r in result.rejections}


# --------------------------------------------------------------------------- time zones and DST


def test_daily_series_keeps_its_wall_time_across_the_dst_change(firm):
    result = parse("dst_week", "calendar/ada.ics", firm)
    assert starts(result)["dst-standup"] == [
        "2026-10-31T09:00:00-04:00", "2026-11-01T09:00:00-05:00", "2026-11-02T09:00:00-05:00"]
    assert {a.minutes for a in result.activities if "dst-standup" in a.source_ref} == {30}


def test_event_across_midnight_and_the_dst_change_is_one_record_cut_per_day(firm):
    result = parse("dst_week", "calendar/ada.ics", firm)
    pieces = [a for a in result.activities if "dst-overnight" in a.source_ref]
    ref = "calendar/ada.ics#dst-overnight@2026-10-31T23:00:00-04:00"
    assert [a.source_ref for a in pieces] == [ref, ref]
    assert [(a.start.isoformat(), a.end.isoformat(), a.minutes) for a in pieces] == [
        ("2026-10-31T23:00:00-04:00", "2026-11-01T00:00:00-04:00", 60),
        ("2026-11-01T00:00:00-04:00", "2026-11-01T03:00:00-05:00", 240),  # 00:00 EDT → 03:00 EST is 4 h
    ]
    assert pieces[0].activity_id == make_activity_id(ref, "ada")
    assert pieces[0].activity_id != pieces[1].activity_id
    assert result.activity_records == 6  # 3 standups + overnight + UTC + London


def test_utc_and_other_zones_are_shown_in_the_owners_zone(firm):
    result = parse("dst_week", "calendar/ada.ics", firm)
    by_uid = {a.source_ref.split("#")[1].split("@")[0]: a for a in result.activities}
    assert by_uid["dst-utc"].start.isoformat() == "2026-11-02T10:00:00-05:00"
    assert by_uid["dst-utc"].minutes == 45
    assert by_uid["dst-london"].start.isoformat() == "2026-10-30T10:00:00-04:00"  # 14:00 GMT
    assert by_uid["dst-london"].location == "Acme London office"


def test_floating_and_unknown_zones_are_the_timekeepers_zone(firm):
    result = parse("floating", "calendar/ben.ics", firm)  # Ben works in Los Angeles
    assert starts(result) == {
        "float-1": ["2026-10-15T09:00:00-07:00"],
        "unknown-zone": ["2026-10-15T11:00:00-07:00"],
        "utc-1": ["2026-10-15T13:00:00-07:00"],
    }
    assert [a.minutes for a in result.activities] == [60, 30, 50]  # utc-1 has DURATION:PT50M


def test_floating_falls_back_to_the_firms_zone(firm):
    result = parse("floating", "calendar/ada.ics", firm)  # Ada has no zone of her own
    assert starts(result)["float-1"] == ["2026-10-15T09:00:00-04:00"]


# --------------------------------------------------------------------------- recurrence


def test_weekly_series_with_exdate_moved_and_cancelled_instances(firm):
    result = parse("recurring", "calendar/ada.ics", firm)
    assert starts(result)["weekly-acme"] == [
        "2026-10-06T10:00:00-04:00",
        "2026-10-13T10:00:00-04:00",
        # Oct 20 is an EXDATE; Oct 27 moved to Thursday Oct 29 14:00 (START = where it moved to)
        "2026-10-29T14:00:00-04:00",
        # Nov 3 is cancelled (below); Nov 10 moved to Dec 2, outside the period: not a record
    ]
    moved = next(a for a in result.activities if "2026-10-29" in a.source_ref)
    assert moved.minutes == 90 and moved.title == "Acme weekly status (moved to Thursday)"
    assert left_out(result) == {"weekly-acme": ("ignored", "event 'Acme weekly status': cancelled")}
    assert result.counts.model_dump() == {"read": 7, "activities": 6, "ignored": 1, "rejected": 0}


def test_rdate_adds_instances(firm):
    result = parse("recurring", "calendar/ada.ics", firm)
    assert starts(result)["rdate-depo"] == [
        "2026-10-05T16:00:00-04:00", "2026-10-12T16:00:00-04:00", "2026-10-19T16:00:00-04:00"]


@pytest.mark.parametrize("first, last, expected", [
    ("2026-10-13", "2026-10-19", {"weekly-acme": ["2026-10-13T10:00:00-04:00"],
                                  "rdate-depo": ["2026-10-19T16:00:00-04:00"]}),
    ("2026-10-27", "2026-10-28", {}),  # the Oct 27 instance moved away
    ("2026-10-29", "2026-10-29", {"weekly-acme": ["2026-10-29T14:00:00-04:00"]}),
    ("2026-12-01", "2026-12-31", {"weekly-acme": ["2026-12-02T10:00:00-05:00"]}),  # moved in from Nov 10
])
def test_only_instances_starting_in_the_period_are_records(firm, first, last, expected):
    period = Period(start=dt.date.fromisoformat(first), end=dt.date.fromisoformat(last))
    result = parse("recurring", "calendar/ada.ics", firm, period)
    assert starts(result) == expected
    assert result.rejections == []


# --------------------------------------------------------------------------- ignored and rejected


@pytest.mark.parametrize("uid, status, reason", [
    ("all-day", "ignored", "all-day"),
    ("ms-all-day", "ignored", "all-day"),
    ("cancelled", "ignored", "cancelled"),
    ("declined", "ignored", "declined by ada"),
    ("internal", "ignored", "internal meeting"),
    ("no-length", "ignored", "no duration"),
    ("backwards", "rejected", "ends (2026-10-09T14:00:00-04:00) before it starts (2026-10-09T15:00:00-04:00)"),
    ("no-start", "rejected", "no DTSTART"),
    ("bad-start", "rejected", "DTSTART cannot be read"),
])
def test_records_left_out_say_why(firm, uid, status, reason):
    found = left_out(parse("rules", "calendar/ada.ics", firm))
    assert found[uid][0] == status
    assert reason in found[uid][1]


def test_rule_file_accounting_and_refs(firm):
    result = parse("rules", "calendar/ada.ics", firm)
    assert result.counts.model_dump() == {"read": 11, "activities": 2, "ignored": 6, "rejected": 3}
    refs = {r.source_ref for r in result.rejections}
    assert "calendar/ada.ics#backwards@2026-10-09T15:00:00-04:00" in refs  # START as written
    assert "calendar/ada.ics#no-start" in refs  # no time at all: the UID names it
    assert not any("outside" in ref for ref in refs | {a.source_ref for a in result.activities})


def test_solo_work_block_is_not_an_internal_meeting(firm):
    solo = next(a for a in parse("rules", "calendar/ada.ics", firm).activities if "#solo@" in a.source_ref)
    assert solo.title == "Draft MSJ brief – Acme v. Beta"
    assert solo.minutes == 180 and solo.counterparties == [] and solo.kind == "meeting"


def test_external_meeting_fields(firm):
    ext = next(a for a in parse("rules", "calendar/ada.ics", firm).activities if "#external@" in a.source_ref)
    assert ext.counterparties == ["otto@opposingllp.com"]  # the firm's own Ben is not a counterparty
    assert ext.participant_names == ["Otto Posing"]
    assert ext.location == "Zoom"
    assert ext.excerpt.startswith("Meet and confer on discovery.")
    assert ext.minutes == 45 and ext.timekeeper_id == "ada"
    assert ext.matter_id is None  # matching is not the parser's job


def test_declined_only_counts_for_the_person_who_declined(firm):
    # The same file as Ben's calendar: Ada declined, Ben accepted, the organizer is external.
    result = parse("rules", "calendar/ben.ics", firm)
    assert "declined" not in left_out(result)
    pitch = next(a for a in result.activities if "#declined@" in a.source_ref)
    assert pitch.counterparties == ["bea@betacorp.com"] and pitch.timekeeper_id == "ben"
    assert pitch.start.isoformat() == "2026-10-07T10:00:00-07:00"


def test_excerpt_is_cut_to_300_characters(firm):
    ics = _one_event("DESCRIPTION:" + "x" * 500, "ATTENDEE:mailto:a@client.com")
    (a,) = parse_ics(ics, "calendar/ada.ics", firm, OCT_NOV).activities
    assert a.excerpt == "x" * 300


# --------------------------------------------------------------------------- multi-day


def test_multi_day_event_is_one_record_and_one_activity_per_day(firm):
    result = parse("multiday", "calendar/ada.ics", firm)
    trial = [a for a in result.activities if "#trial@" in a.source_ref]
    assert [(a.start.date().isoformat(), a.minutes) for a in trial] == [
        ("2026-10-12", 16 * 60), ("2026-10-13", 24 * 60), ("2026-10-14", 18 * 60)]
    assert len({a.source_ref for a in trial}) == 1
    assert not any("started-before" in a.source_ref for a in result.activities)  # started in September
    assert result.activity_records == 2


def test_days_after_the_period_are_cut_off(firm):
    october = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    result = parse("multiday", "calendar/ada.ics", firm, october)
    month_end = [a for a in result.activities if "#month-end@" in a.source_ref]
    assert [(a.start.isoformat(), a.end.isoformat(), a.minutes) for a in month_end] == [
        ("2026-10-31T22:00:00-04:00", "2026-11-01T00:00:00-04:00", 120)]


# --------------------------------------------------------------------------- ownership


@pytest.mark.parametrize("path, owner", [
    ("calendar/ada.ics", "ada"),
    ("calendar/ADA.ics", "ada"),
    ("calendar/ben@smithlane.com.ics", "ben"),
    ("calendar/c.park@smithlane.com.ics", "cy"),  # an alias
    ("calendar/sub/cy.ics", "cy"),
    ("calendar/shared.ics", "ben"),  # no match by name: the ORGANIZER who is a timekeeper
])
def test_owner_from_file_name_else_organizer(firm, path, owner):
    result = parse("organizer_owned", path, firm)
    assert {a.timekeeper_id for a in result.activities} == {owner}


def test_file_without_owner_is_rejected_whole(firm):
    result = parse("no_owner", "calendar/unknown.ics", firm)
    assert result.activities == []
    (r,) = result.rejections
    assert (r.source_ref, r.status) == ("calendar/unknown.ics", "rejected")
    assert "no owner" in r.reason


def test_same_invitation_in_two_calendars_is_two_records(firm):
    a = parse("organizer_owned", "calendar/ada.ics", firm)
    b = parse("organizer_owned", "calendar/ben.ics", firm)
    assert a.activity_records == b.activity_records == 2
    assert not {x.activity_id for x in a.activities} & {x.activity_id for x in b.activities}


def test_source_refs_and_ids_are_stable(firm):
    one = parse("recurring", "calendar/ada.ics", firm)
    two = parse("recurring", "calendar/ada.ics", firm)
    assert [a.activity_id for a in one.activities] == [a.activity_id for a in two.activities]
    pattern = re.compile(r"^calendar/ada\.ics#[\w-]+@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
    assert all(pattern.match(a.source_ref) for a in one.activities)
    assert all(a.activity_id == make_activity_id(a.source_ref, "ada") for a in one.activities)


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00", "binary"),
    (b"hello, this is not a calendar", "not an iCalendar"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026101", "not a readable"),
])
def test_unreadable_file_is_one_rejection_named_by_its_path(firm, data, reason):
    result = parse_ics(data, "calendar/ada.ics", firm, OCT_NOV)
    assert result.activities == []
    (r,) = result.rejections
    assert (r.source, r.source_ref, r.status) == ("calendar", "calendar/ada.ics", "rejected")
    assert reason in r.reason


def test_bad_rrule_rejects_that_series_only(firm):
    ics = _calendar(
        _event("broken", "DTSTART:20261005T090000", "DTEND:20261005T100000", "RRULE:FREQ=SOMETIMES"),
        _event("fine", "DTSTART:20261006T090000", "DTEND:20261006T100000", "ATTENDEE:mailto:a@client.com"),
    )
    result = parse_ics(ics, "calendar/ada.ics", firm, OCT_NOV)
    assert_accounted(result)
    assert [r.source_ref for r in result.rejections] == ["calendar/ada.ics#broken"]
    assert "RRULE" in result.rejections[0].reason
    assert result.activity_records == 1


def test_latin1_and_utf16_calendars_are_read(firm):
    text = _calendar(_event("enc", "DTSTART:20261006T090000", "DTEND:20261006T100000",
                            "SUMMARY:Réunion Müller", "ATTENDEE:mailto:a@client.com")).decode()
    for data in (text.encode("latin-1"), text.encode("utf-16"), text.encode("utf-8-sig")):
        (a,) = parse_ics(data, "calendar/ada.ics", firm, OCT_NOV).activities
        assert a.title == "Réunion Müller"


def _event(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261001T000000Z", *lines, "END:VEVENT"])


def _calendar(*events: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", *events, "END:VCALENDAR", ""]).encode()


def _one_event(*lines: str) -> bytes:
    return _calendar(_event("one", "DTSTART:20261006T090000", "DTEND:20261006T100000", *lines))


# --------------------------------------------------------------------------- what is not parsed


def test_alarms_and_unknown_properties_do_not_matter(firm):
    ics = _calendar(_event(
        "outlook", "DTSTART;TZID=America/New_York:20261006T090000", "DTEND;TZID=America/New_York:20261006T100000",
        "X-ALT-DESC;FMTTYPE=text/html:<html><body>" + "<p>x</p>" * 50 + "</body></html>",
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "CLASS:PUBLIC", "PRIORITY:5", "this line is not iCalendar at all",
        "SUMMARY:Acme call", "ATTENDEE:mailto:a@client.com",
        "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:Reminder", "END:VALARM",
        "LOCATION:Room 4",
    ))
    (a,) = parse_ics(ics, "calendar/ada.ics", firm, OCT_NOV).activities
    assert (a.title, a.location, a.excerpt, a.minutes) == ("Acme call", "Room 4", "", 60)


def test_long_export_only_yields_the_period(firm):
    events = [_event(f"old-{m}", f"DTSTART:2025{m:02d}10T090000", f"DTEND:2025{m:02d}10T100000",
                     "ATTENDEE:mailto:a@client.com") for m in range(1, 13)]
    events.append(_event("series-from-2025", "DTSTART;TZID=America/New_York:20250106T080000",
                         "DTEND;TZID=America/New_York:20250106T083000", "RRULE:FREQ=WEEKLY;BYDAY=MO",
                         "ATTENDEE:mailto:a@client.com"))
    events.append(_event("series-from-2025", "RECURRENCE-ID;TZID=America/New_York:20250901T080000",
                         "DTSTART;TZID=America/New_York:20261007T080000",
                         "DTEND;TZID=America/New_York:20261007T083000", "ATTENDEE:mailto:a@client.com"))
    october = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    result = parse_ics(_calendar(*events), "calendar/ada.ics", firm, october)
    assert_accounted(result)
    assert starts(result) == {"series-from-2025": [
        "2026-10-05T08:00:00-04:00",
        "2026-10-07T08:00:00-04:00",  # a 2025 instance moved into this October
        "2026-10-12T08:00:00-04:00", "2026-10-19T08:00:00-04:00", "2026-10-26T08:00:00-04:00"]}


def test_outlook_export_custom_and_windows_zones(firm):
    result = parse("outlook_zones", "calendar/ada.ics", firm)
    assert [a.start.isoformat() for a in result.activities] == [
        "2026-10-30T10:00:00-04:00",  # 09:00 CDT, zone defined by the file's own VTIMEZONE
        "2026-11-02T10:00:00-05:00",  # 09:00 CST after the change
        "2026-11-02T12:00:00-05:00",  # "Pacific Standard Time" is a Windows zone name
        "2026-11-03T09:00:00-05:00",  # the same instance written twice is one record
    ]
    first = result.activities[0]
    assert first.source_ref.startswith("calendar/ada.ics#040000008200E00074C5B7101A82E008")  # folded UID, unfolded
    assert first.participant_names == ["Lee, Kim"] and first.counterparties == ["kim.lee@midwestco.com"]
    assert result.counts.read == 4
