"""Recorded time entries and expenses, written from the planned evidence, with the planted problems.

Each (timekeeper, local date, matter) key with evidence gets a plan: `full` (entries whose hours are
at least the worked time rounded up), `missing` (nothing entered), `under` (entered well below the
worked time) or `late` (a short call entered on the next working day, so its own day has nothing).
Flag problems are planted on `full` keys so they never change whether a key is a gap — except the
entry on the closed matter and the intra-firm conference, which add time on keys of their own.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from .firm import MatterSpec, Roster
from .plan import Act

TENTH = Decimal("0.1")
VAGUE = ["Review file", "Attention to matter", "Work on file", "Follow up", "Review documents"]


@dataclass
class Entry:
    date: dt.date
    tk: str
    matter_id: str
    hours: Decimal
    narrative: str
    task_code: str
    activity_code: str
    rate: str
    entry_id: str = ""
    flags: list[str] = field(default_factory=list)


@dataclass
class KeyInfo:
    tk: str
    date: dt.date
    matter_id: str
    acts: list[Act]
    worked_minutes: int
    plan: str = "full"


def hours_up(minutes: int, increment: int = 6) -> Decimal:
    if minutes <= 0:
        return Decimal(0)
    units = -(-minutes // increment)
    return (Decimal(units * increment) / Decimal(60)).quantize(Decimal("0.01"))


def union_minutes(intervals: list[tuple[int, int]]) -> int:
    total = 0
    cur_s = cur_e = None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def build_keys(acts: list[Act], zones: dict[str, ZoneInfo]) -> dict[tuple[str, dt.date, str], KeyInfo]:
    grouped: dict[tuple[str, dt.date, str], list[Act]] = defaultdict(list)
    for a in acts:
        if a.status == "activity" and a.matter:
            day = dt.datetime.fromtimestamp(a.start * 60, zones[a.tk]).date()
            grouped[(a.tk, day, a.matter)].append(a)
    return {key: KeyInfo(key[0], key[1], key[2], acts_, union_minutes([(a.start, a.end) for a in acts_]))
            for key, acts_ in sorted(grouped.items())}


# --------------------------------------------------------------------------- narratives


def _family(a: Act) -> tuple[str, str]:
    if a.kind == "meeting":
        return "meeting", a.payload.uid
    if a.kind == "call":
        return "call", ""
    if a.kind == "document":
        return "document", a.payload.document.rsplit(" v", 1)[0]
    return "correspondence", ""


def task_groups(acts: list[Act]) -> list[list[Act]]:
    """A key's evidence as tasks: each meeting, the day's calls, the day's mail, each document."""
    groups: dict[tuple[str, str], list[Act]] = {}
    for a in sorted(acts, key=lambda a: (a.start, a.ref)):
        groups.setdefault(_family(a), []).append(a)
    return list(groups.values())


def _who(p) -> str:
    if p is None:
        return "client"
    if p.side == "opposing":
        return f"opposing counsel ({p.short})"
    return p.short


def narrate(group: list[Act], m: MatterSpec) -> tuple[str, str, str]:
    """(narrative, task code, activity code) in the register of real billing narratives."""
    a = group[0]
    topic = a.topic.phrase if a.topic else "case status"
    task = (a.topic.task_code if a.topic else "") or ""
    side = a.who.side if a.who else "client"
    talk = "A107" if side == "opposing" else "A106"
    if a.kind == "meeting":
        if a.who is None:
            text, act_code = f"Draft {topic}", "A103"
        elif "weekly status call" in a.payload.summary:
            text, act_code = f"Weekly status call with {_who(a.who)} re: {topic}", talk
        elif side == "opposing":
            text, act_code = f"Meet and confer with {_who(a.who)} re: {topic}", talk
        else:
            text, act_code = f"Conference with {_who(a.who)} re: {topic}", talk
    elif a.kind == "call":
        people = list(dict.fromkeys(_who(x.who) for x in group))
        plural = "s" if len(group) > 1 else ""
        text, act_code = f"Telephone conference{plural} with {' and '.join(people[:2])} re: {topic}", talk
    elif a.kind == "document":
        actions = {x.payload.action for x in group}
        verb = "Finalize" if "finalized" in actions else ("Draft" if "created" in actions else "Revise")
        text, act_code = f"{verb} {topic}", "A103"
    else:
        sent = [x for x in group if x.kind == "email_sent"]
        lead = sent[0] if sent else a
        topic = lead.topic.phrase if lead.topic else topic
        task = (lead.topic.task_code if lead.topic else task) or task
        lead_side = lead.who.side if lead.who else "client"
        if sent:
            text = f"Draft correspondence to {_who(lead.who)} re: {topic}"
            act_code = "A107" if lead_side == "opposing" else "A106"
        else:
            text, act_code = f"Review correspondence from {_who(lead.who)} re: {topic}", "A104"
    if len(text.split()) < 7:
        text += " for client review"
    if m.code_set == "none":
        return text, "", ""
    return text, task, act_code


# --------------------------------------------------------------------------- entries


def write_entries(keys: dict, roster: Roster, weekdays: list[dt.date], rng: random.Random,
                  attorneys: int) -> tuple[list[Entry], list[tuple[str, Entry]], list[Entry]]:
    """Entries for every key by its plan, then the planted flag problems.

    Returns (entries, planted (rule, entry), entries on keys without evidence)."""
    keepers = {k.timekeeper_id: k for k in roster.keepers}
    matters = {m.matter_id: m for m in roster.matters}
    next_day = {d: weekdays[i + 1] for i, d in enumerate(weekdays[:-1])}
    entries: list[Entry] = []
    by_key: dict[tuple, list[Entry]] = defaultdict(list)
    no_evidence: list[Entry] = []

    def add(e: Entry, key=None) -> Entry:
        entries.append(e)
        if key is not None:
            by_key[key].append(e)
        return e

    for key, info in keys.items():
        tk, day, mid = key
        m, k = matters[mid], keepers[tk]
        rate = str(m.rate_for(k))
        worked = hours_up(info.worked_minutes)
        groups = task_groups(info.acts)
        only_calls = all(a.kind == "call" for a in info.acts)
        r = rng.random()
        if by_key.get(key):  # yesterday's late entry landed here: this key is entered in full
            r = 1.0
        if only_calls and info.worked_minutes <= 6 and day in next_day and (tk, next_day[day], mid) not in keys \
                and r < 0.6:
            info.plan = "late"
            text, task, act = narrate(groups[0], m)
            text += f" on {day.month}/{day.day}"
            later = next_day[day]
            no_evidence.append(add(Entry(later, tk, mid, TENTH, text, task, act, rate), (tk, later, mid)))
        elif r < 0.12:
            info.plan = "missing"
        elif info.worked_minutes >= 30 and r < 0.19:
            info.plan = "under"
            biggest = max(groups, key=lambda g: (union_minutes([(a.start, a.end) for a in g]), g[0].start))
            text, task, act = narrate(biggest, m)
            share = Decimal(str(rng.choice([0.3, 0.4, 0.5, 0.6])))
            hours = max(TENTH, (worked * share).quantize(TENTH, rounding="ROUND_DOWN"))
            hours = min(hours, worked - Decimal("0.2"))
            add(Entry(day, tk, mid, hours, text, task, act, rate), key)
        else:
            info.plan = "full"
            written: dict[str, Entry] = {}
            for g in groups:
                text, task, act = narrate(g, m)
                h = hours_up(union_minutes([(a.start, a.end) for a in g])).quantize(TENTH)
                if rng.random() < 0.12:
                    h += TENTH
                if text in written:  # two meetings on the same subject: one entry, as a biller writes it
                    written[text].hours += h
                    continue
                written[text] = add(Entry(day, tk, mid, h, text, task, act, rate), key)

    planted = _plant(keys, by_key, entries, roster, weekdays, rng, attorneys, no_evidence)
    return entries, planted, no_evidence


def _plant(keys, by_key, entries: list[Entry], roster: Roster, weekdays, rng: random.Random, attorneys: int,
           no_evidence: list[Entry]) -> list[tuple[str, Entry]]:
    matters = {m.matter_id: m for m in roster.matters}
    keepers = {k.timekeeper_id: k for k in roster.keepers}
    full = [key for key, info in keys.items() if info.plan == "full" and by_key.get(key)]
    rng.shuffle(full)
    used: set = set()
    planted: list[tuple[str, Entry]] = []
    scale = max(1, attorneys // 5)

    def take(pred, n):
        out = []
        for key in full:
            if len(out) >= n:
                break
            if key in used or not pred(key):
                continue
            used.add(key)
            out.append(key)
        return out

    coded = lambda key: matters[key[2]].code_set != "none"
    # block billing: a key's separate tasks in one entry
    for key in take(lambda k: len(by_key[k]) >= 3 and sum(e.hours for e in by_key[k]) <= Decimal("5.5"), 3 * scale):
        es = by_key[key]
        first = es[0]
        parts = [first.narrative] + [e.narrative[0].lower() + e.narrative[1:] for e in es[1:]]
        first.narrative = "; ".join(parts)
        first.hours = sum((e.hours for e in es), Decimal(0))
        for e in es[1:]:
            entries.remove(e)
        by_key[key] = [first]
        planted.append(("block_billing", first))
    # vague narratives
    for key in take(lambda k: len(by_key[k]) == 1, 4 * scale):
        e = by_key[key][0]
        e.narrative = rng.choice(VAGUE)
        planted.append(("vague_narrative", e))
    # duplicates: the same entry keyed twice, narrative nearly identical
    for key in take(lambda k: len(by_key[k]) == 1 and coded(k), 2 * scale):
        e = by_key[key][0]
        twin = Entry(e.date, e.tk, e.matter_id, e.hours, e.narrative.replace(" re: ", " regarding ") + ".",
                     e.task_code, e.activity_code, e.rate)
        entries.append(twin)
        by_key[key].append(twin)
        planted.append(("duplicate", twin))
        planted.append(("duplicate", e))
    # a quarter-hour entry where the firm bills in tenths (on a key it still covers)
    for key in take(lambda k: len(by_key[k]) == 1 and by_key[k][0].hours <= Decimal("0.2")
                    and keys[k].worked_minutes <= 12, 1):
        e = by_key[key][0]
        e.hours = Decimal("0.25")
        planted.append(("increment", e))
    # invalid codes: a code that does not exist, and a bankruptcy code on a litigation matter
    lit = lambda k: matters[k[2]].code_set == "litigation"
    for i, key in enumerate(take(lambda k: lit(k), 2 * scale)):
        e = by_key[key][0]
        e.task_code = "L999" if i % 2 == 0 else "B110"
        planted.append(("invalid_code", e))
    # missing codes
    for key in take(lambda k: coded(k), 2 * scale):
        e = by_key[key][0]
        e.task_code = e.activity_code = ""
        planted.append(("missing_code", e))
    # an entry on the closed matter (no evidence: the matter is closed)
    closed = [m for m in roster.matters if m.status == "closed"]
    if closed:
        m = closed[0]
        tk = m.team[1] if len(m.team) > 1 else m.lead
        day = weekdays[min(6, len(weekdays) - 1)]
        e = Entry(day, tk, m.matter_id, Decimal("0.4"),
                  "Prepare final report to client re: outcome of opposition proceeding", "L190", "A106",
                  str(m.rate_for(keepers[tk])))
        entries.append(e)
        no_evidence.append(e)
        planted.append(("closed_matter", e))
    # an intra-firm conference billed to a client whose guidelines forbid it
    acme = [key for key in full if key not in used and matters[key[2]].client_id == "C1001"
            and len(matters[key[2]].team) > 1]
    if acme:
        key = acme[0]
        used.add(key)
        m = matters[key[2]]
        colleague = keepers[next(t for t in m.team if t != key[0])]
        e = Entry(key[1], key[0], key[2], Decimal("0.3"),
                  f"Office conference with {colleague.short} re: {m.topics[0].phrase} strategy",
                  m.topics[0].task_code, "A105", by_key[key][0].rate)
        entries.append(e)
        by_key[key].append(e)
        planted.append(("guideline:no_intra_firm_conferences", e))
    return planted


def number_entries(entries: list[Entry]) -> None:
    entries.sort(key=lambda e: (e.date, e.tk, e.matter_id, e.narrative, str(e.hours)))
    for i, e in enumerate(entries, start=1):
        e.entry_id = f"TE{i:06d}"


def entry_rows(entries: list[Entry]) -> list[list[str]]:
    return [[e.entry_id, e.date.isoformat(), e.tk, e.matter_id, _fmt_hours(e.hours), e.narrative, e.task_code,
             e.activity_code, e.rate] for e in entries]


def _fmt_hours(h: Decimal) -> str:
    h = h.normalize()
    text = format(h, "f")
    return text if "." in text else text + ".0"


# --------------------------------------------------------------------------- expenses

EXPENSES = [
    ("E101", "Photocopies for document production", "pages", Decimal("0.10")),
    ("E112", "Court filing fee", None, Decimal("405.00")),
    ("E115", "Deposition transcript (certified copy)", None, Decimal("1245.60")),
    ("E107", "Courier delivery to chambers", None, Decimal("38.50")),
    ("E110", "Rail fare to out-of-town deposition", None, Decimal("214.00")),
    ("E106", "Online legal research charges", None, Decimal("87.20")),
]


def write_expenses(roster: Roster, weekdays: list[dt.date], rng: random.Random) -> list[list[str]]:
    rows = []
    n = 0
    for m in roster.matters:
        if m.status != "open" or m.billing_type == "pro_bono":
            continue
        for _ in range(rng.randint(0, 3)):
            code, desc, unit, amount = rng.choice(EXPENSES)
            if m.code_set == "bankruptcy" and code in ("E115", "E110"):
                code, desc, unit, amount = EXPENSES[3]
            day = rng.choice(weekdays)
            n += 1
            if unit:
                units = Decimal(rng.randrange(120, 2400, 10))
                rows.append((day, m.matter_id, [f"X{n:05d}", day.isoformat(), m.team[-1], m.matter_id,
                             str((units * amount).quantize(Decimal("0.01"))), desc, code, str(units), str(amount)]))
            else:
                rows.append((day, m.matter_id, [f"X{n:05d}", day.isoformat(), m.lead, m.matter_id, str(amount), desc,
                                                code, "", ""]))
    rows.sort(key=lambda r: (r[0], r[1], r[2][0]))
    out = []
    for i, (_, _, row) in enumerate(rows, start=1):
        row[0] = f"X{i:05d}"
        out.append(row)
    return out


__all__ = ["Entry", "KeyInfo", "build_keys", "write_entries", "number_entries", "entry_rows", "write_expenses",
           "hours_up", "union_minutes"]
