"""The accounting invariant under hostile inputs: read = activities + ignored + rejected, every record once.

Truncated, binary, wrongly encoded, empty and huge-line files for the calendar, call and document
parsers, then hypothesis over random bytes, random CSV rows and random calendars.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.ingest import calendar as calendar_module
from assistant.ingest.calendar import parse_ics
from assistant.ingest.calls import parse_calls
from assistant.ingest.documents import parse_documents
from assistant.models import Period, SourceResult
from test_calendar import assert_accounted, make_firm

FIRM = make_firm()
OCTOBER = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
FIXTURES = Path(__file__).parent / "fixtures" / "ics"
SETTINGS = settings(max_examples=75, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

CALLS = (
    "call_id,start,end,direction,timekeeper_phone,other_number\n"
    "c1,2026-10-05T16:00:00Z,2026-10-05T16:12:00Z,outbound,2125550100,6465550199\n"
    "c2,2026-10-05T17:00:00Z,2026-10-05T17:00:00Z,inbound,2125550100,6465550199\n"
    "c3,2026-10-06T17:00:00Z,2026-10-06T17:20:00Z,inbound,2125550101,6465550123\n"
    "c4,2026-10-07T09:00:00Z,2026-10-07T08:00:00Z,inbound,2125550100,6465550199\n"
).encode()
DOCUMENTS = (
    "timestamp,timekeeper_id,document,action,minutes,matter_id\n"
    "2026-10-06T17:30:00,ben,Acme brief.docx,edited,42,M-100\n"
    "2026-10-06T18:30:00,ada,Memo.docx,created,0,\n"
    "2026-10-07T09:00:00,zed,Memo.docx,created,10,\n"
    "2026-10-08T09:00:00,cy,Lease Müller.docx,finalized,15,M-2\n"
).encode()
CALENDAR = (FIXTURES / "rules.ics").read_bytes()

PARSERS = {
    "calendar": (parse_ics, "calendar/ada.ics", CALENDAR),
    "calls": (parse_calls, "calls/log.csv", CALLS),
    "documents": (parse_documents, "documents/dms.csv", DOCUMENTS),
}


def run(source: str, data: bytes) -> SourceResult:
    parser, path, _ = PARSERS[source]
    result = parser(data, path, FIRM, OCTOBER)
    assert_accounted(result)
    assert all(r.source == source for r in result.rejections)
    assert all(a.source == source for a in result.activities)
    assert all(r.source_ref == path or r.source_ref.startswith(path) for r in result.rejections)
    return result


def refs(result: SourceResult) -> list[str]:
    return sorted({a.source_ref for a in result.activities} | {r.source_ref for r in result.rejections})


def rejected_whole(result: SourceResult, path: str) -> bool:
    return (result.activities == [] and len(result.rejections) == 1
            and result.rejections[0].source_ref == path and result.rejections[0].status == "rejected")


# --------------------------------------------------------------------------- the clean baseline


def test_clean_files_account_for_every_record():
    assert refs(run("calls", CALLS)) == [f"calls/log.csv:{n}" for n in (2, 3, 4, 5)]
    assert refs(run("documents", DOCUMENTS)) == [f"documents/dms.csv:{n}" for n in (2, 3, 4, 5)]
    assert run("calendar", CALENDAR).counts.read == 11


# --------------------------------------------------------------------------- whole files that cannot be read


@pytest.mark.parametrize("source", PARSERS)
@pytest.mark.parametrize("data", [
    b"",
    b"   \n\n",
    bytes(range(256)) * 64,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(4000),
    b"PK\x03\x04" + bytes(range(256)) * 8,
], ids=["empty", "blank", "all-bytes", "png", "zip"])
def test_empty_and_binary_files_are_rejected_whole(source, data):
    _, path, _ = PARSERS[source]
    assert rejected_whole(run(source, data), path)


@pytest.mark.parametrize("source", ["calls", "documents"])
@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-16-le", "cp1252"])
def test_wrongly_encoded_csv_is_rejected_whole(source, encoding):
    _, path, good = PARSERS[source]
    text = good.decode() + {"calls": "c9,2026-10-09T09:00:00Z,2026-10-09T09:05:00Z,inbound,2125550100,Zoë\n",
                            "documents": "2026-10-09T09:00:00,ada,Résumé.docx,edited,5,\n"}[source]
    result = run(source, text.encode(encoding))
    assert rejected_whole(result, path)
    assert "UTF-8" in result.rejections[0].reason or "binary" in result.rejections[0].reason


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-8-sig"])
def test_wrongly_encoded_calendar_is_still_read(encoding):
    text = CALENDAR.decode().replace("Out of office", "Congés Müller")
    result = run("calendar", text.encode(encoding, errors="replace"))
    assert result.counts == run("calendar", CALENDAR).counts
    assert "Congés Müller" in {r.reason.split("'")[1] for r in result.rejections if "'" in r.reason}


def test_utf16_without_bom_calendar_is_rejected_whole():
    assert rejected_whole(run("calendar", CALENDAR.decode().encode("utf-16-le")), "calendar/ada.ics")


# --------------------------------------------------------------------------- truncation


@pytest.mark.parametrize("source", PARSERS)
def test_truncated_at_every_point_never_loses_a_record(source):
    _, _, good = PARSERS[source]
    full = run(source, good).counts.read
    for cut in range(0, len(good), max(1, len(good) // 97)):
        result = run(source, good[:cut])
        assert result.counts.read <= full + 1  # a cut row can become one rejected row, never more


def test_truncated_csv_keeps_the_rows_before_the_cut():
    cut = CALLS.rindex(b"\n", 0, len(CALLS) - 1) + 20  # in the middle of the last row
    result = run("calls", CALLS[:cut])
    assert refs(result) == [f"calls/log.csv:{n}" for n in (2, 3, 4, 5)]
    assert result.rejections[-1].source_ref == "calls/log.csv:5"


def test_truncated_calendar_is_rejected_whole():
    assert rejected_whole(run("calendar", CALENDAR[: len(CALENDAR) // 2]), "calendar/ada.ics")


# --------------------------------------------------------------------------- huge lines


@pytest.mark.parametrize("source", ["calls", "documents"])
def test_huge_line_is_one_rejected_row_and_the_rest_is_read(source):
    _, path, good = PARSERS[source]
    header, first, *rest = good.decode().splitlines(keepends=True)
    huge = first.rstrip("\n") + "," + "x" * 2_000_000 + "\n"  # one oversized row between good ones
    result = run(source, (header + first + huge + "".join(rest)).encode())
    assert refs(result) == [f"{path}:{n}" for n in range(2, 3 + len(rest) + 1)]
    line3 = next(r for r in result.rejections if r.source_ref == f"{path}:3")
    assert line3.status == "rejected"


@pytest.mark.parametrize("source", ["calls", "documents"])
def test_huge_field_in_an_ordinary_column(source):
    _, path, good = PARSERS[source]
    header, first, *_ = good.decode().splitlines(keepends=True)
    cells = first.rstrip("\n").split(",")
    cells[2] = "y" * 900_000  # under the csv module's limit: a row with one very long value
    result = run(source, (header + ",".join(cells) + "\n").encode())
    assert refs(result) == [f"{path}:2"]


def test_huge_description_in_a_calendar():
    text = CALENDAR.decode().replace("SUMMARY:Call with opposing counsel",
                                     "SUMMARY:Call with opposing counsel\r\nDESCRIPTION:" + "z" * 3_000_000)
    result = run("calendar", text.encode())
    ext = next(a for a in result.activities if "#external@" in a.source_ref)
    assert len(ext.excerpt) <= 300


# --------------------------------------------------------------------------- hostile recurrence and times


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lines, reason", [
    (["DTSTART:20261006T090000", "DTEND:20261006T091000", "RRULE:FREQ=SECONDLY"], "86400 times a day"),
    (["DTSTART:20261006T090000", "DTEND:20261006T091000",
      "RRULE:FREQ=DAILY;BYMINUTE=0,1,2,3,4,5,6,7,8,9;BYSECOND=1,2,3,4,5,6"],
     "60 times a day"),
    (["DTSTART:20261006T090000", "DTEND:20261006T091000", "RRULE:FREQ=WEEKLY;INTERVAL=0"], "INTERVAL=0"),
    (["DTSTART:00010101T000000", "DTEND:00010101T003000", "RRULE:FREQ=DAILY"], "739,919 times"),
    (["DTSTART:20261006T090000", "DTEND:20261006T100000", "RRULE:FREQ=DAILY;COUNT=99999999999999999999"], "RRULE"),
    (["DTSTART:20261006T090000", "DTEND:99991231T235900Z"], "not a meeting"),
    (["DTSTART:20261006T090000", "DURATION:P9999999D"], "OverflowError"),
])
def test_hostile_events_cost_only_themselves(lines, reason):
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN",
                        "BEGIN:VEVENT", "UID:bad", *lines, "ATTENDEE:mailto:a@client.com", "END:VEVENT",
                        "BEGIN:VEVENT", "UID:good", "DTSTART:20261006T090000", "DTEND:20261006T100000",
                        "ATTENDEE:mailto:a@client.com", "END:VEVENT", "END:VCALENDAR", ""])
    result = run("calendar", body.encode())
    assert [a.source_ref for a in result.activities] == ["calendar/ada.ics#good@2026-10-06T09:00:00-04:00"]
    (bad,) = result.rejections
    assert bad.status == "rejected" and bad.source_ref.startswith("calendar/ada.ics#bad") and reason in bad.reason


# --------------------------------------------------------------------------- hypothesis: random bytes


@SETTINGS
@given(source=st.sampled_from(sorted(PARSERS)), data=st.binary(max_size=3000))
def test_random_bytes_never_raise(source, data):
    run(source, data)


@SETTINGS
@given(source=st.sampled_from(sorted(PARSERS)), data=st.data())
def test_mutated_good_files_never_raise(source, data):
    good = bytearray(PARSERS[source][2])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(good) - 1))
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = data.draw(st.binary(min_size=1, max_size=12))
        if op == "replace":
            good[at:at + len(byte)] = byte
        elif op == "delete":
            del good[at:at + len(byte)]
        else:
            good[at:at] = byte
    run(source, bytes(good))


# --------------------------------------------------------------------------- hypothesis: random CSV rows

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=30)
_OCT_TIME = st.builds(
    lambda day, minute, fmt: fmt.format(dt.datetime(2026, 10, day, 12) + dt.timedelta(minutes=minute)),
    st.integers(3, 28), st.integers(-300, 300),
    st.sampled_from(["{:%Y-%m-%dT%H:%M:%SZ}", "{:%Y-%m-%dT%H:%M:%S+02:00}", "{:%Y-%m-%d %H:%M:%S}",
                     "{:%Y-%m-%dT%H:%M:%S.%f-05:00}"]))
_TIME_OR_JUNK = st.one_of(_OCT_TIME, _TEXT)
"""A time in the period or text that is not a time: either way the row is a record."""
_PHONE = st.one_of(st.sampled_from(["2125550100", "(212) 555-0101", "+1 212 555 0102", "999", ""]), _TEXT)
_TOKEN = st.text("abcdefghij0123456789-", min_size=1, max_size=8)


def _call_row():
    return st.lists(st.one_of(_TEXT, _OCT_TIME), max_size=3).flatmap(lambda extra: st.tuples(
        _TOKEN, _TIME_OR_JUNK, _TIME_OR_JUNK, st.one_of(st.sampled_from(["inbound", "outbound", "IN"]), _TEXT),
        _PHONE, _PHONE).map(lambda row: list(row) + extra))


def _document_row():
    return st.lists(_TEXT, max_size=2).flatmap(lambda extra: st.tuples(
        _TIME_OR_JUNK, st.one_of(st.sampled_from(["ada", "ben", "CY", "zed", ""]), _TEXT),
        st.one_of(st.just("brief.docx"), _TEXT),
        st.one_of(st.sampled_from(["created", "edited", "finalized", "Edited"]), _TEXT),
        st.one_of(st.integers(-5, 2000).map(str), st.sampled_from(["0", "1.5", "1e3", "inf", ""]), _TEXT),
        st.one_of(st.just("M-100"), _TEXT),
    ).map(lambda row: list(row) + extra))


def _write(header: list[str], rows: list[list[str]]) -> tuple[bytes, list[int]]:
    """The CSV bytes and the physical line on which each row starts."""
    out, lines, line = io.StringIO(), [], 2
    out.write(",".join(header) + "\n")
    for row in rows:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        text = buf.getvalue()
        out.write(text)
        lines.append(line)
        line += text.count("\n")
    return out.getvalue().encode(), lines


@SETTINGS
@given(rows=st.lists(_call_row(), max_size=12))
def test_random_call_rows_each_end_exactly_once(rows):
    data, lines = _write(["call_id", "start", "end", "direction", "timekeeper_phone", "other_number"], rows)
    result = run("calls", data)
    assert refs(result) == sorted(f"calls/log.csv:{n}" for n in lines)


@SETTINGS
@given(rows=st.lists(_document_row(), max_size=12))
def test_random_document_rows_each_end_exactly_once(rows):
    data, lines = _write(["timestamp", "timekeeper_id", "document", "action", "minutes", "matter_id"], rows)
    result = run("documents", data)
    assert refs(result) == sorted(f"documents/dms.csv:{n}" for n in lines)


# --------------------------------------------------------------------------- hypothesis: random calendars

_ZONES = ["", ";TZID=America/New_York", ";TZID=Europe/London", ";TZID=Asia/Tokyo", "Z", ";TZID=Nowhere/Land"]
_PEOPLE = ["mailto:ada@smithlane.com", "mailto:ben@smithlane.com", "mailto:x@client.com", "mailto:Y@Other.org"]


@st.composite
def _events(draw, uid: str, first_day: int = 3, last_day: int = 25, extras: bool = False) -> tuple[str, int]:
    """One VEVENT (days counted from Oct 1) and the number of instances it has in October."""
    day = draw(st.integers(first_day, last_day))
    hour = draw(st.integers(0, 23))
    zone = draw(st.sampled_from(_ZONES))
    all_day = draw(st.booleans()) and draw(st.booleans())
    start = dt.datetime(2026, 10, 1, hour, draw(st.sampled_from([0, 15, 30, 59]))) + dt.timedelta(days=day - 1)
    length = dt.timedelta(minutes=draw(st.integers(-120, 3000)))
    count = draw(st.integers(1, 3))
    if all_day:
        times = [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{start + dt.timedelta(days=1):%Y%m%d}"]
    elif zone == "Z":
        times = [f"DTSTART:{start:%Y%m%dT%H%M%S}Z", f"DTEND:{start + length:%Y%m%dT%H%M%S}Z"]
    else:
        times = [f"DTSTART{zone}:{start:%Y%m%dT%H%M%S}", f"DTEND{zone}:{start + length:%Y%m%dT%H%M%S}"]
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261001T000000Z", *times]
    if count > 1:
        lines.append(f"RRULE:FREQ=DAILY;COUNT={count}")
    if draw(st.booleans()):
        lines.append("STATUS:" + draw(st.sampled_from(["CONFIRMED", "CANCELLED", "TENTATIVE"])))
    for person in draw(st.lists(st.sampled_from(_PEOPLE), max_size=3, unique=True)):
        partstat = draw(st.sampled_from(["ACCEPTED", "DECLINED", "NEEDS-ACTION"]))
        lines.append(f"ATTENDEE;PARTSTAT={partstat}:{person}")
    if draw(st.booleans()):
        lines.append("ORGANIZER:" + draw(st.sampled_from(_PEOPLE)))
    lines.append("SUMMARY:" + draw(_TEXT).replace("\n", " ").replace("\\", ""))
    if extras and draw(st.booleans()):
        lines += ["X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "SEQUENCE:2", "BEGIN:VALARM", "ACTION:DISPLAY",
                  "TRIGGER:-PT15M", "END:VALARM", "CLASS:PRIVATE"]
    lines.append("END:VEVENT")
    if extras and count > 1 and not all_day and zone != "Z" and draw(st.booleans()):
        moved = start + dt.timedelta(days=1) + dt.timedelta(hours=draw(st.integers(-72, 72)))
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"RECURRENCE-ID{zone}:{start + dt.timedelta(days=1):%Y%m%dT%H%M%S}",
                  f"DTSTART{zone}:{moved:%Y%m%dT%H%M%S}", f"DTEND{zone}:{moved + dt.timedelta(hours=1):%Y%m%dT%H%M%S}",
                  "SUMMARY:moved", "ATTENDEE:mailto:x@client.com", "END:VEVENT"]
    return "\r\n".join(lines), count


@SETTINGS
@given(st.integers(0, 8).flatmap(lambda n: st.tuples(*[_events(f"ev{i}") for i in range(n)])))
def test_random_calendars_count_every_instance_once(events):
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN",
                        *[text for text, _ in events], "END:VCALENDAR", ""])
    result = run("calendar", body.encode())
    assert result.counts.read == sum(count for _, count in events)


def _summary(result: SourceResult) -> list[tuple]:
    return sorted([(a.activity_id, a.source_ref, a.start.isoformat(), a.end.isoformat(), a.minutes, a.title,
                    tuple(a.counterparties)) for a in result.activities]
                  + [(r.source_ref, r.status, r.reason) for r in result.rejections])


@SETTINGS
@given(st.integers(0, 8).flatmap(
    lambda n: st.tuples(*[_events(f"ev{i}", first_day=-40, last_day=70, extras=True) for i in range(n)])))
def test_skipping_what_is_not_read_changes_nothing(events):
    """The pre-pass (alarms, unused properties, far-away one-offs) and the one-off fast path are invisible."""
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN",
                        *[text for text, _ in events], "END:VCALENDAR", ""]).encode()
    slim = run("calendar", body)
    with mock.patch.object(calendar_module, "_slim", lambda text, period: text):
        full = run("calendar", body)
    assert _summary(slim) == _summary(full)
    # The one-off fast path agrees with recurring_ical_events (every event with a UID goes through it).
    with mock.patch.object(calendar_module, "_RECURRENCE", calendar_module._RECURRENCE | {"UID"}):
        library = run("calendar", body)
    assert _summary(slim) == _summary(library)
