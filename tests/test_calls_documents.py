"""Call logs and document logs: zones, what is left out and why, line numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.ingest.calls import parse_calls
from assistant.ingest.documents import parse_documents
from assistant.models import Period, SourceResult, make_activity_id
from test_calendar import assert_accounted, make_firm

OCTOBER = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
CALL_HEADER = "call_id,start,end,direction,timekeeper_phone,other_number\n"
DOC_HEADER = "timestamp,timekeeper_id,document,action,minutes,matter_id\n"


@pytest.fixture(scope="module")
def firm():
    return make_firm()


def calls(firm, *rows: str, period: Period = OCTOBER) -> SourceResult:
    result = parse_calls((CALL_HEADER + "".join(r + "\n" for r in rows)).encode(), "calls/log.csv", firm, period)
    assert_accounted(result)
    return result


def docs(firm, *rows: str, period: Period = OCTOBER) -> SourceResult:
    result = parse_documents((DOC_HEADER + "".join(r + "\n" for r in rows)).encode(), "documents/dms.csv", firm,
                             period)
    assert_accounted(result)
    return result


def outcome(result: SourceResult) -> dict[str, tuple[str, str]]:
    """source_ref -> ("activity", title) or (status, reason)."""
    found = {a.source_ref: ("activity", a.title) for a in result.activities}
    found.update({r.source_ref: (r.status, r.reason) for r in result.rejections})
    return found


# --------------------------------------------------------------------------- calls


def test_call_in_utc_is_shown_in_the_timekeepers_zone(firm):
    result = calls(firm, "c1,2026-10-05T16:00:00Z,2026-10-05T16:12:01Z,outbound,(212) 555-0101,+1 646 555 0199")
    (a,) = result.activities
    assert a.timekeeper_id == "ben"  # Ben's phone, written differently
    assert (a.start.isoformat(), a.end.isoformat()) == ("2026-10-05T09:00:00-07:00", "2026-10-05T09:12:01-07:00")
    assert a.minutes == 13  # ceil(721 s / 60)
    assert a.counterparties == ["6465550199"]
    assert a.kind == "call" and a.source == "calls"
    assert a.source_ref == "calls/log.csv:2"
    assert a.activity_id == make_activity_id("calls/log.csv:2", "ben")
    assert a.title == "Outbound call to +1 646 555 0199"


def test_offsets_and_naive_times(firm):
    result = calls(firm,
                   "c1,2026-10-05T12:00:00+02:00,2026-10-05T12:30:00+02:00,inbound,2125550100,6465550199",
                   "c2,2026-10-05 15:00:00,2026-10-05 15:05:00,Inbound,2125550100,6465550199")
    one, two = result.activities
    assert one.start.isoformat() == "2026-10-05T06:00:00-04:00"  # Ada: the firm's zone
    assert two.start.isoformat() == "2026-10-05T11:00:00-04:00"  # no offset: UTC
    assert one.title.startswith("Inbound call from")


def test_call_period_is_judged_in_the_timekeepers_zone(firm):
    # 02:00Z on Nov 1 is still Oct 31 in Los Angeles (Ben) but Nov 1 in London (Cy).
    result = calls(firm,
                   "c1,2026-11-01T02:00:00Z,2026-11-01T02:10:00Z,inbound,212-555-0101,6465550199",
                   "c2,2026-11-01T02:00:00Z,2026-11-01T02:10:00Z,inbound,212-555-0102,6465550199",
                   "c3,2026-09-30T12:00:00Z,2026-09-30T12:10:00Z,inbound,nobody,6465550199")
    assert [a.timekeeper_id for a in result.activities] == ["ben"]
    assert result.counts.read == 1  # outside the period: not records, even the bad one


@pytest.mark.parametrize("row, status, reason", [
    ("c,2026-10-05T16:00:00Z,2026-10-05T16:00:00Z,inbound,2125550100,6465550199", "ignored", "0-second call"),
    ("c,2026-10-05T16:00:00Z,2026-10-05T16:10:00Z,outbound,2125550100,212-555-0101", "ignored",
     "internal call between ada and ben"),
    ("c,2026-10-05T16:00:00Z,2026-10-05T16:10:00Z,outbound,999-555-0000,6465550199", "rejected",
     "no timekeeper has phone 999-555-0000"),
    ("c,2026-10-05T16:00:00Z,2026-10-05T16:10:00Z,outbound,,6465550199", "rejected", "timekeeper_phone is empty"),
    ("c,2026-10-05T16:00:00Z,2026-10-05T15:10:00Z,outbound,2125550100,6465550199", "rejected",
     "call ends (2026-10-05T11:10:00-04:00) before it starts (2026-10-05T12:00:00-04:00)"),
    ("c,yesterday,2026-10-05T15:10:00Z,outbound,2125550100,6465550199", "rejected",
     "start 'yesterday' is not an ISO 8601 timestamp"),
    ("c,2026-10-05T16:00:00Z,,outbound,2125550100,6465550199", "rejected", "end is empty"),
    ("c,2026-10-05T16:00:00Z,2026-10-05T16:10:00Z,sideways,2125550100,6465550199", "rejected",
     "direction 'sideways' is not inbound or outbound"),
    ("c,2026-10-05T16:00:00Z,2026-10-05T16:10:00Z,inbound,2125550100,6465550199,surplus", "rejected",
     "7 fields where the header has 6"),
])
def test_call_rows_left_out_say_why(firm, row, status, reason):
    result = calls(firm, row)
    assert outcome(result) == {"calls/log.csv:2": (status, reason)}


def test_bom_and_crlf(firm):
    body = "\ufeff" + CALL_HEADER.replace("\n", "\r\n") + (
        "c1,2026-10-05T16:00:00+0000,2026-10-05T16:10:00+0000,outbound,2125550100,6465550199\r\n"
        "c2,20261005T170000Z,20261005T171000Z,outbound,2125550100,6465550199\r\n")
    result = parse_calls(body.encode(), "calls/log.csv", firm, OCTOBER)
    assert [(a.source_ref, a.minutes) for a in result.activities] == [("calls/log.csv:2", 10), ("calls/log.csv:3", 10)]


def test_date_without_time_is_rejected(firm):
    assert outcome(calls(firm, "c,2026-10-05,2026-10-05T16:10:00Z,outbound,2125550100,6465550199")) == {
        "calls/log.csv:2": ("rejected", "start '2026-10-05' has no time of day")}
    assert outcome(docs(firm, "2026-10-06,ada,memo.docx,edited,10,")) == {
        "documents/dms.csv:2": ("rejected", "timestamp '2026-10-06' has no time of day")}
    assert outcome(docs(firm, "2026-11-06,ada,memo.docx,edited,10,")) == {}  # outside the period: not a record


def test_unknown_caller_is_still_an_activity(firm):
    (a,) = calls(firm, "c,2026-10-05T16:00:00Z,2026-10-05T16:01:00Z,inbound,2125550100,").activities
    assert a.counterparties == [] and a.title == "Inbound call from an unknown number" and a.minutes == 1


def test_call_line_numbers_are_physical_lines(firm):
    body = (CALL_HEADER + "\n"  # a blank line is not a record
            + 'c1,2026-10-05T16:00:00Z,2026-10-05T16:10:00Z,inbound,2125550100,"646\n555 0199"\n'
            + "c2,2026-10-05T17:00:00Z,2026-10-05T17:10:00Z,inbound,2125550100,6465550199\n")
    result = parse_calls(body.encode(), "calls/log.csv", firm, OCTOBER)
    assert [a.source_ref for a in result.activities] == ["calls/log.csv:3", "calls/log.csv:5"]


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"id,when\n1,2\n", "lacks required column"),
    ("call_id,start,end,direction,timekeeper_phone,other_number\nx,é\n".encode("latin-1"), "not UTF-8"),
])
def test_unusable_call_log_is_one_rejection(firm, data, reason):
    result = parse_calls(data, "calls/log.csv", firm, OCTOBER)
    (r,) = result.rejections
    assert (r.source_ref, r.status) == ("calls/log.csv", "rejected") and reason in r.reason


# --------------------------------------------------------------------------- documents


def test_document_session_ends_at_the_timestamp(firm):
    (a,) = docs(firm, "2026-10-06T17:30:00,ben,Acme MSJ brief v3.docx,Edited,42,M-100").activities
    assert (a.start.isoformat(), a.end.isoformat()) == ("2026-10-06T16:48:00-07:00", "2026-10-06T17:30:00-07:00")
    assert a.minutes == 42 and a.kind == "document" and a.title == "Acme MSJ brief v3.docx"
    assert a.matter_hint == "M-100" and a.location == "edited"
    assert a.matter_id is None
    assert a.source_ref == "documents/dms.csv:2"


def test_document_times_with_offsets_and_fractions(firm):
    one, two = docs(firm, "2026-10-06T12:00:00Z,ada,a.docx,created,7.2,",
                    "2026-10-06T12:00:00+01:00,CY,b.docx,finalized,5,").activities
    assert one.end.isoformat() == "2026-10-06T08:00:00-04:00" and one.minutes == 8  # fractions round up
    assert one.matter_hint == ""
    assert two.timekeeper_id == "cy" and two.end.isoformat() == "2026-10-06T12:00:00+01:00"


def test_document_without_matter_column(firm):
    data = b"timestamp,timekeeper_id,document,action,minutes\n2026-10-06T09:00:00,ada,memo.docx,edited,10\n"
    (a,) = parse_documents(data, "documents/dms.csv", firm, OCTOBER).activities
    assert a.matter_hint == "" and a.minutes == 10


@pytest.mark.parametrize("row, status, reason", [
    ("2026-10-06T09:00:00,ada,memo.docx,edited,0,M-1", "ignored", "0 minutes"),
    ("2026-10-06T09:00:00,zed,memo.docx,edited,10,M-1", "rejected", "no timekeeper has id 'zed'"),
    ("2026-10-06T09:00:00,,memo.docx,edited,10,M-1", "rejected", "timekeeper_id is empty"),
    ("06/10/2026 9am,ada,memo.docx,edited,10,M-1", "rejected", "is not an ISO 8601 timestamp"),
    ("2026-10-06T09:00:00,ada,memo.docx,edited,ten,M-1", "rejected", "minutes 'ten' is not a number"),
    ("2026-10-06T09:00:00,ada,memo.docx,edited,-5,M-1", "rejected", "not between 0 and 1440"),
    ("2026-10-06T09:00:00,ada,memo.docx,edited,NaN,M-1", "rejected", "not between 0 and 1440"),
    ("2026-10-06T09:00:00,ada,memo.docx,edited,99999,M-1", "rejected", "not between 0 and 1440"),
    ("2026-10-06T09:00:00,ada,memo.docx,printed,10,M-1", "rejected", "action 'printed'"),
    ("2026-10-06T09:00:00,ada,,edited,10,M-1", "rejected", "document is empty"),
])
def test_document_rows_left_out_say_why(firm, row, status, reason):
    ((ref, (got_status, got_reason)),) = outcome(docs(firm, row)).items()
    assert ref == "documents/dms.csv:2" and got_status == status and reason in got_reason


def test_document_period_uses_the_local_timestamp(firm):
    result = docs(firm, "2026-10-31T23:30:00,ada,a.docx,edited,10,",      # local: in
                  "2026-11-01T03:00:00Z,ada,b.docx,edited,10,",            # Oct 31 23:00 New York: in
                  "2026-11-01T00:10:00,ada,c.docx,edited,90,",             # started Oct 31, ends Nov 1: out
                  "2026-09-30T10:00:00,zed,d.docx,edited,10,")             # out, even with a bad timekeeper
    assert [a.title for a in result.activities] == ["a.docx", "b.docx"]
    assert result.counts.read == 2
