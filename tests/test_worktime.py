"""Worked time from evidence: overlaps, rounding, coverage, and figures that add up."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from assistant.worktime import analyse_keys, entries_without_evidence, round_up, task_slots, union_minutes
from firmkit import activity, at, entry, small_firm


@pytest.mark.parametrize("minutes, increment, hours", [
    (0, 6, "0"), (1, 6, "0.1"), (6, 6, "0.1"), (7, 6, "0.2"), (59, 6, "1.0"), (61, 6, "1.1"),
    (14, 15, "0.25"), (16, 15, "0.5"),
])
def test_round_up_to_the_increment(minutes, increment, hours):
    assert round_up(minutes, increment) == Decimal(hours)


def test_union_counts_overlap_once():
    assert union_minutes([(at(5, 10), at(5, 11)), (at(5, 10, 30), at(5, 10, 45))]) == 60
    assert union_minutes([(at(5, 10), at(5, 11)), (at(5, 10, 50), at(5, 11, 20))]) == 80
    assert union_minutes([(at(5, 10), at(5, 10, 10)), (at(5, 12), at(5, 12, 5))]) == 15
    assert union_minutes([]) == 0


def test_call_during_meeting_is_not_double_counted():
    firm = small_firm()
    meeting = activity("cal#1", at(5, 10), 60, title="Acme v. Beta strategy", matter="M-100")
    call = activity("calls.csv:2", at(5, 10, 20), 10, kind="call", matter="M-100")
    [k] = analyse_keys([meeting, call], [], firm)
    assert k.worked_minutes == 60 and k.worked_hours == Decimal("1.0")
    assert k.gap_hours == Decimal("1.0")
    assert len(k.slots) == 1 and k.slots[0].family == "meeting"  # the call joins the meeting's task


def test_burst_of_replies_in_one_thread_is_one_task():
    firm = small_firm()
    mails = [activity(f"m#{i}", at(5, 9, i * 2), 3, kind="email_sent", title="RE: Acme v. Beta RFPs",
                      matter="M-100") for i in range(5)]
    [k] = analyse_keys(mails, [], firm)
    assert k.worked_minutes == 11  # 9:00–9:11, overlapping 3-minute estimates merged
    assert [s.family for s in k.slots] == ["correspondence"]
    assert k.gap_hours == Decimal("0.2")


def test_worked_equals_covered_plus_gap_and_partial_coverage():
    firm = small_firm()
    acts = [activity("cal#1", at(6, 9), 90, title="Acme v. Beta deposition of J. Roe", matter="M-100"),
            activity("calls:2", at(6, 14), 20, kind="call", matter="M-100", names=["Mark Ostrander"]),
            activity("doc:3", at(6, 15), 30, kind="document", title="Motion_to_Compel_v2.docx", matter="M-100")]
    entries = [entry("E1", 6, "0.4", "Telephone conference with M. Ostrander re: discovery")]
    [k] = analyse_keys(acts, entries, firm)
    assert k.worked_minutes == 140 and k.worked_hours == Decimal("2.4")
    assert k.covered_hours == Decimal("0.4")
    assert k.gap_hours == Decimal("2.0")
    assert k.worked_hours == k.covered_hours + k.gap_hours
    assert sum(s.hours for s in k.slots) == k.gap_hours
    # The entry resembles the call, so the call is what it covers; the deposition and the motion are the gap.
    assert {s.family for s in k.slots} == {"meeting", "document"}


def test_entry_at_or_above_worked_leaves_no_gap():
    firm = small_firm()
    acts = [activity("calls:2", at(7, 14), 4, kind="call", matter="M-100")]
    [k] = analyse_keys(acts, [entry("E1", 7, "0.1")], firm)
    assert k.gap_hours == 0 and k.slots == []
    [k] = analyse_keys(acts, [entry("E1", 7, "0.5")], firm)
    assert k.covered_hours == Decimal("0.1") and k.gap_hours == 0


def test_entry_logged_a_day_late_does_not_cover():
    firm = small_firm()
    acts = [activity("calls:2", at(7, 14), 6, kind="call", matter="M-100")]
    late = [entry("E1", 8, "0.1")]
    [k] = analyse_keys(acts, late, firm)
    assert k.gap_hours == Decimal("0.1")
    assert [e.entry_id for e in entries_without_evidence(late, acts, firm)] == ["E1"]


def test_timekeeper_in_another_zone_uses_their_local_date():
    firm = small_firm()  # JC works in America/Chicago
    a = activity("calls:9", dt.datetime(2026, 10, 6, 4, 30, tzinfo=dt.timezone.utc), 12, kind="call", tk="JC",
                 matter="M-100")
    [k] = analyse_keys([a], [], firm)
    assert k.key == ("JC", dt.date(2026, 10, 5), "M-100")  # 23:30 in Chicago on the 5th


def test_dst_day_meeting_spans_the_extra_hour():
    firm = small_firm()
    ny = ZoneInfo("America/New_York")
    start = dt.datetime(2026, 11, 1, 0, 30, tzinfo=ny)
    end = dt.datetime(2026, 11, 1, 2, 30, tzinfo=ny)  # 3 real hours: the clock falls back at 2:00
    a = activity("cal#dst", start, 180, title="Acme v. Beta document review", matter="M-100", end=end)
    [k] = analyse_keys([a], [], firm)
    assert k.worked_minutes == 180 and k.worked_hours == Decimal("3.0")


def test_unmatched_activity_is_not_worked_time():
    firm = small_firm()
    assert analyse_keys([activity("calls:2", at(7, 14), 30, kind="call")], [], firm) == []


def test_slots_split_gap_in_increments_that_sum_exactly():
    firm = small_firm()
    acts = [activity(f"calls:{i}", at(8, 9 + i), 2, kind="call", matter="M-100") for i in range(3)] + \
           [activity("cal#x", at(8, 13), 30, title="Acme v. Beta mediation session", matter="M-100")]
    [k] = analyse_keys(acts, [], firm)
    assert k.worked_minutes == 36 and k.gap_hours == Decimal("0.6")
    assert sum(s.hours for s in k.slots) == Decimal("0.6")
    assert all(s.hours > 0 for s in k.slots)
    assert sorted(a.activity_id for s in k.slots for a in s.activities) == sorted(a.activity_id for a in acts)


def test_task_slots_keep_distinct_meetings_apart():
    acts = [activity("cal#1", at(9, 9), 30, title="Acme v. Beta call prep", matter="M-100"),
            activity("cal#2", at(9, 11), 30, title="Acme v. Beta board update", matter="M-100")]
    assert len(task_slots(acts, 6)) == 2
