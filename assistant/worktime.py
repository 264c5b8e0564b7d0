"""Evidence → worked time → coverage by entries → gaps and the draft slots that fill them.

The figures a billing partner sees must add up, so one rule decides them all (docs/formats.md):

* a *key* is (timekeeper, local date, matter); only activities with a confirmed matter count;
* worked minutes on a key are the union of its activities' intervals — a call during a meeting,
  or a burst of replies in one thread, is counted once — and worked hours are those minutes
  rounded up to the firm's increment;
* entries on the same key cover worked hours up to what they record; covered = min(entered, worked);
* the gap on a key is worked − covered; worked = covered + gap holds per key, per timekeeper and in total.

A key's gap is split into *slots*, one per task (a meeting, the day's calls, the day's
correspondence, a document), so a draft never block-bills; the slots' hours add up to the gap.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from .models import Activity, FirmData, TimeEntry

Key = tuple[str, dt.date, str]
"""(timekeeper_id, local date, matter_id)"""


@dataclass
class Slot:
    """One task's uncovered evidence on a key: what a single draft entry stands on."""

    family: str
    """meeting, call, correspondence or document."""
    activities: list[Activity]
    minutes: int
    """Union minutes of the evidence."""
    hours: Decimal = Decimal(0)
    """This slot's share of the key's gap."""


@dataclass
class KeyResult:
    key: Key
    activities: list[Activity]
    worked_minutes: int
    worked_hours: Decimal
    entries: list[TimeEntry] = field(default_factory=list)
    entered_hours: Decimal = Decimal(0)
    covered_hours: Decimal = Decimal(0)
    gap_hours: Decimal = Decimal(0)
    slots: list[Slot] = field(default_factory=list)
    """Uncovered slots, their hours summing to gap_hours."""

    @property
    def uncovered_activities(self) -> list[Activity]:
        return [a for s in self.slots for a in s.activities]


def round_up(minutes: int, increment: int) -> Decimal:
    """Minutes → hours rounded *up* to the increment (6 min = 0.1 h): a 2-minute call is 0.1 h."""
    if minutes <= 0:
        return Decimal(0)
    units = -(-minutes // increment)
    return (Decimal(units * increment) / Decimal(60)).quantize(Decimal("0.01"))


def union_minutes(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """Total minutes covered by the intervals, overlaps counted once."""
    total = 0.0
    cur_start = cur_end = None
    for s, e in sorted(intervals):
        if cur_end is None or s > cur_end:
            if cur_end is not None:
                total += (cur_end - cur_start).total_seconds()
            cur_start, cur_end = s, e
        elif e > cur_end:
            cur_end = e
    if cur_end is not None:
        total += (cur_end - cur_start).total_seconds()
    return int(-(-total // 60))


def activity_minutes(activities: list[Activity]) -> int:
    return union_minutes([_interval(a) for a in activities])


def local_date(a: Activity, firm: FirmData) -> dt.date:
    return a.start.astimezone(firm.tz_for(a.timekeeper_id)).date()


def group_keys(activities: list[Activity], firm: FirmData) -> dict[Key, list[Activity]]:
    keys: dict[Key, list[Activity]] = defaultdict(list)
    for a in activities:
        if a.matter_id:
            keys[(a.timekeeper_id, local_date(a, firm), a.matter_id)].append(a)
    return keys


def analyse_keys(activities: list[Activity], entries: list[TimeEntry], firm: FirmData) -> list[KeyResult]:
    """Every key with evidence, its coverage by entries of the same key, and its uncovered slots."""
    inc = firm.firm.increment_minutes
    entries_by_key: dict[Key, list[TimeEntry]] = defaultdict(list)
    for e in entries:
        entries_by_key[(e.timekeeper_id, e.date, e.matter_id)].append(e)
    results = []
    for key, acts in sorted(group_keys(activities, firm).items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        minutes = activity_minutes(acts)
        worked = round_up(minutes, inc)
        key_entries = entries_by_key.get(key, [])
        entered = sum((e.hours for e in key_entries), Decimal(0))
        covered = min(entered, worked)
        r = KeyResult(key=key, activities=acts, worked_minutes=minutes, worked_hours=worked,
                      entries=key_entries, entered_hours=entered, covered_hours=covered, gap_hours=worked - covered)
        if r.gap_hours > 0:
            r.slots = _uncovered_slots(acts, key_entries, r.gap_hours, inc)
        results.append(r)
    return results


def entries_without_evidence(entries: list[TimeEntry], activities: list[Activity], firm: FirmData) -> list[TimeEntry]:
    """Entries on a key that has no evidence at all: information for the reviewer, not an error."""
    keys = set(group_keys(activities, firm))
    return [e for e in entries if (e.timekeeper_id, e.date, e.matter_id) not in keys]


# --------------------------------------------------------------------------- slots


def task_slots(activities: list[Activity], increment: int) -> list[Slot]:
    """Group a key's evidence into tasks. Overlapping evidence joins the task of its longest item."""
    groups = _overlap_groups(activities)
    by_task: dict[tuple[str, str], list[Activity]] = defaultdict(list)
    for group in groups:
        lead = max(group, key=lambda a: (_interval(a)[1] - _interval(a)[0], a.activity_id))
        fam = family(lead)
        # Each meeting and each document is its own task; the day's calls and mail are one each.
        ident = lead.activity_id if fam == "meeting" else (lead.title.casefold() if fam == "document" else "")
        by_task[(fam, ident)].extend(group)
    slots = [Slot(family=fam, activities=sorted(acts, key=lambda a: (a.start, a.activity_id)),
                  minutes=activity_minutes(acts))
             for (fam, _), acts in by_task.items()]
    slots.sort(key=lambda s: (s.activities[0].start, s.family))
    for s in slots:
        s.hours = round_up(s.minutes, increment)
    return slots


def family(a: Activity) -> str:
    return {"meeting": "meeting", "call": "call", "document": "document"}.get(a.kind, "correspondence")


def _uncovered_slots(acts: list[Activity], entries: list[TimeEntry], gap: Decimal, increment: int) -> list[Slot]:
    slots = task_slots(acts, increment)
    # Entries cover the tasks their narratives resemble most; the rest is what nobody entered.
    remaining = sum((e.hours for e in entries), Decimal(0))
    words = _words(" ".join(e.narrative for e in entries))
    order = sorted(slots, key=lambda s: (-_similarity(words, s), s.activities[0].start))
    uncovered: list[tuple[Slot, Decimal]] = []
    for s in order:
        covered = min(s.hours, remaining)
        remaining -= covered
        if s.hours - covered > 0:
            uncovered.append((s, s.hours - covered))
    if not uncovered:  # rounding left a sliver on a fully "covered" key: give it to the last task
        uncovered = [(order[-1], gap)]
    return _share(uncovered, gap, increment)


def _share(weighted: list[tuple[Slot, Decimal]], gap: Decimal, increment: int) -> list[Slot]:
    """Split the key's gap over the slots by largest remainder, in whole increments."""
    unit = Decimal(increment) / Decimal(60)
    units_total = int((gap / unit).to_integral_value(rounding="ROUND_HALF_UP"))
    weights = [w for _, w in weighted]
    total_w = sum(weights, Decimal(0))
    quotas = [w / total_w * units_total for w in weights]
    alloc = [int(q) for q in quotas]
    rest = units_total - sum(alloc)
    for i in sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - alloc[i]), i))[:rest]:
        alloc[i] += 1
    out: list[Slot] = []
    orphans: list[Activity] = []
    for (slot, _), n in zip(weighted, alloc):
        if n == 0:
            orphans.extend(slot.activities)
            continue
        out.append(Slot(slot.family, list(slot.activities), slot.minutes, (n * unit).quantize(Decimal("0.01"))))
    if orphans and out:
        # Evidence too small to earn its own increment still has to be traced somewhere.
        biggest = max(out, key=lambda s: s.hours)
        biggest.activities.extend(orphans)
    return sorted(out, key=lambda s: (s.activities[0].start, s.family))


def _overlap_groups(activities: list[Activity]) -> list[list[Activity]]:
    groups: list[list[Activity]] = []
    end: dt.datetime | None = None
    for a in sorted(activities, key=lambda a: (*_interval(a), a.activity_id)):
        s, e = _interval(a)
        if end is not None and s < end:
            groups[-1].append(a)
            end = max(end, e)
        else:
            groups.append([a])
            end = e
    return groups


def _interval(a: Activity) -> tuple[dt.datetime, dt.datetime]:
    # In UTC: subtracting two datetimes of one ZoneInfo zone gives wall-clock time, wrong on DST days.
    start, end = a.start.astimezone(dt.timezone.utc), a.end.astimezone(dt.timezone.utc)
    if end > start:
        return start, end
    return start, start + dt.timedelta(minutes=max(a.minutes, 0))


_WORD = re.compile(r"[a-z]{3,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def _similarity(entry_words: set[str], slot: Slot) -> float:
    if not entry_words:
        return 0.0
    slot_words = _words(" ".join([slot.family, *(a.title for a in slot.activities),
                                  *(n for a in slot.activities for n in a.participant_names)]))
    if slot.family == "call":
        slot_words |= {"telephone", "call", "phone", "conference"}
    if slot.family == "correspondence":
        slot_words |= {"email", "correspondence", "letter", "emails"}
    return len(entry_words & slot_words) / (len(slot_words) or 1)
