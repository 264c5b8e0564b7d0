"""Calendar exports (.ics) → meeting activities; one record per event instance.

Rules (docs/formats.md repeats them):
- Owner: the timekeeper whose `timekeeper_id` or email is the file's stem, else the timekeeper who
  is ORGANIZER of the file's events (the most frequent one). A file with no owner is rejected whole.
- Times: TZID and UTC as written; floating times, and TZIDs no one knows, are in the owner's zone.
- A record is one instance (after RRULE, RDATE, EXDATE and RECURRENCE-ID) whose start, in the
  owner's zone, falls on a day of the period; `source_ref` = `path#UID@START`, START being where the
  instance actually starts, in ISO 8601 with the owner's offset.
- Ignored: cancelled, declined by the owner, all-day, zero-length, and internal meetings (it has
  attendees and every one of them is a firm person). An event with no attendees is a solo work
  block, not an internal meeting.
- Rejected: an event that ends before it starts, or lasts more than 14 days; a series whose times
  cannot be read or that would recur absurdly often (`path#UID`); a file that is not iCalendar (`path`).
- A timed event running past midnight is one record and one activity per local day of the period
  (the first keeps `make_activity_id(source_ref, timekeeper_id)`, later days add `|YYYY-MM-DD`).
- The same instance written twice in a file is one record. Files are UTF-8 (UTF-16 with a BOM and
  cp1252 are read too).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections import Counter

import icalendar
import recurring_ical_events

from ..errors import IngestError
from ..models import Activity, FirmData, Period, Rejection, SourceResult, Timekeeper, make_activity_id
from . import normalize

__all__ = ["parse_ics"]

SOURCE = "calendar"
EXCERPT_CHARS = 300
_TIME_PROPERTIES = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
_BACKWARDS = "X-TENTHS-END-BEFORE-START"
"""Marks a component whose end precedes its start; recurring_ical_events silently swaps the two."""
_NOT_PEOPLE = {"ROOM", "RESOURCE"}
_UTC = dt.timezone.utc
MAX_PER_DAY = 48
MAX_EXPANSION = 200_000
"""Instances a series may generate from its DTSTART up to the period (daily for 500 years is fine)."""
MAX_LENGTH = dt.timedelta(days=14)
"""A timed event longer than this is a data error (an all-day block would be ignored anyway)."""
_PER_DAY = {"SECONDLY": 86400, "MINUTELY": 1440, "HOURLY": 24}
_FINER = {"SECONDLY": (), "MINUTELY": ("BYSECOND",), "HOURLY": ("BYMINUTE", "BYSECOND")}
_KEEP = frozenset({
    "UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "SEQUENCE",
    "STATUS", "SUMMARY", "DESCRIPTION", "LOCATION", "ORGANIZER", "ATTENDEE", "X-MICROSOFT-CDO-ALLDAYEVENT",
})
"""The VEVENT properties parse_ics (and recurring_ical_events) read; the rest is not parsed."""
_RECURRENCE = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"})
_UNFOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
"""icalendar's own unfolding (icalendar.parser.content_line.UFOLD), so lines split the same way."""
_NEWLINE = re.compile(r"\r?\n")
_NAME = re.compile(r"[^;:]*")
_DTSTART_DATE = re.compile(r'DTSTART(?:;(?:[^:"]|"[^"]*")*)?:(?P<y>\d{4})(?P<m>\d\d)(?P<d>\d\d)(?:T\d{6}Z?)?\s*$',
                           re.IGNORECASE)


def parse_ics(data: bytes, path: str, firm: FirmData, period: Period) -> SourceResult:
    """Parse one calendar file. Never raises: a bad file is one rejection named by its path."""
    try:
        owner = _owner_by_name(path, firm)
        # Without an owner by name, the ORGANIZER of every event decides: keep them all.
        calendars = _read_calendars(data, path, period if owner else None)
        events = [ev for cal in calendars for ev in cal.walk("VEVENT")]
        owner = owner or _owner_by_organizer(events, firm)
        if owner is None:
            raise IngestError(
                f"{path}: no owner — the file name is not a timekeeper id or email, and no event's"
                " ORGANIZER is a timekeeper",
                source=path,
            )
        ctx = _Context(firm, owner, period, path)
        result = SourceResult()
        for uid, components in _series(events):
            series = SourceResult()
            try:
                _expand_series(uid, components, ctx, series)
            except Exception as e:  # noqa: BLE001 - e.g. dates past year 9999: that series only
                series = SourceResult(rejections=[Rejection(
                    source=SOURCE, source_ref=f"{path}#{uid}", status="rejected",
                    reason=f"event {uid!r}: its times cannot be used ({type(e).__name__}: {_short(e)})")])
            result.extend(series)
        return result
    except IngestError as e:
        return _whole_file(path, str(e))
    except Exception as e:  # noqa: BLE001 - untrusted input must never stop the run
        return _whole_file(path, f"{path}: calendar could not be read ({type(e).__name__}: {_short(e)})")


# --------------------------------------------------------------------------- file level


def _whole_file(path: str, reason: str) -> SourceResult:
    return SourceResult(rejections=[Rejection(source=SOURCE, source_ref=path, status="rejected", reason=reason)])


def _decode(data: bytes, path: str) -> str:
    if not data.strip():
        raise IngestError(f"{path} is empty", source=path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError(f"{path} claims UTF-16 but is not", source=path) from None
    if b"\x00" in data[:8192]:
        raise IngestError(f"{path} is a binary file, not an iCalendar file", source=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # RFC 5545 says UTF-8; old Windows exporters write cp1252. Text fields may lose a character.
        return data.decode("cp1252", errors="replace")


def _read_calendars(data: bytes, path: str, period: Period | None) -> list[icalendar.Component]:
    text = _decode(data, path)
    if "BEGIN:VCALENDAR" not in text[:65536].upper():
        raise IngestError(f"{path} is not an iCalendar file (no BEGIN:VCALENDAR)", source=path)
    try:
        components = icalendar.Calendar.from_ical(_slim(text, period), multiple=True)
    except ValueError as e:
        raise IngestError(f"{path} is not a readable iCalendar file ({_short(e)})", source=path) from None
    calendars = [c for c in components if c.name == "VCALENDAR"]
    if not calendars:
        raise IngestError(f"{path} is not a readable iCalendar file (no complete VCALENDAR)", source=path)
    return calendars


def _slim(text: str, period: Period | None) -> str:
    """The calendar with only what parse_ics reads, so icalendar (about 0.1 ms a line) parses less.

    Inside VEVENTs: drop alarms, other nested components and unused properties. With a period: drop
    one-off events (no RRULE, RDATE or RECURRENCE-ID in their UID) whose DTSTART date is two days or
    more away from it; they cannot be records of it. Anything unclear is kept for icalendar to judge.
    """
    lines = [line for line in _NEWLINE.split(_UNFOLD.sub("", text)) if line]
    out: list[str | list[str]] = []
    event: list[str] | None = None
    depth = 0
    recurring: set[str] = set()
    dated: list[tuple[list[str], str, dt.date | None]] = []
    for line in lines:
        name = _NAME.match(line).group(0).upper()
        value = line[len(name) + 1:].strip().upper() if line[len(name):len(name) + 1] == ":" else ""
        if event is None:
            if name == "BEGIN" and value == "VEVENT":
                event, depth, uid, recurs, start = [line], 0, "", False, None
            else:
                out.append(line)
            continue
        if name == "BEGIN":
            depth += 1
        elif name == "END" and depth:
            depth -= 1
        elif depth:
            pass
        elif name == "END":
            event.append(line)
            out.append(event)
            if recurs:
                recurring.add(uid)
            dated.append((event, uid, start))
            event = None
        elif name in _KEEP:
            event.append(line)
            if name == "UID":
                uid = line.split(":", 1)[-1].strip()
            elif name in _RECURRENCE:
                recurs = True
            elif name == "DTSTART":
                start = _start_date(line)
    if event is not None:
        out.append(event)  # unterminated: icalendar will say so
    if period is not None:
        first, last = period.start - dt.timedelta(days=2), period.end + dt.timedelta(days=2)
        drop = {id(ev) for ev, uid, start in dated
                if start is not None and uid not in recurring and not first <= start <= last}
        out = [item for item in out if id(item) not in drop]
    return "\r\n".join(line for item in out for line in ([item] if isinstance(item, str) else item)) + "\r\n"


def _start_date(line: str) -> dt.date | None:
    match = _DTSTART_DATE.match(line)
    if not match:
        return None
    try:
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def _owner_by_name(path: str, firm: FirmData) -> Timekeeper | None:
    name = os.path.basename(path)
    stem = (name[:-4] if name.lower().endswith(".ics") else name).strip().lower()
    for tk in firm.timekeepers:
        if stem in {tk.timekeeper_id.lower(), normalize.email(tk.email), *map(normalize.email, tk.aliases)}:
            return tk
    return None


def _owner_by_organizer(events: list[icalendar.Component], firm: FirmData) -> Timekeeper | None:
    by_address = _timekeepers_by_address(firm)
    organizers: Counter[str] = Counter()
    for ev in events:
        for address, _ in _addresses(ev.get("ORGANIZER")):
            if address in by_address:
                organizers[by_address[address].timekeeper_id] += 1
    if not organizers:
        return None
    return firm.timekeeper(organizers.most_common(1)[0][0])


def _timekeepers_by_address(firm: FirmData) -> dict[str, Timekeeper]:
    found: dict[str, Timekeeper] = {}
    for tk in firm.timekeepers:
        for address in (tk.email, *tk.aliases):
            if address:
                found.setdefault(normalize.email(address), tk)
    return found


def _series(events: list[icalendar.Component]) -> list[tuple[str, list[icalendar.Component]]]:
    """Group events by UID (a series and its overrides); an event without UID is its own series."""
    groups: dict[str, list[icalendar.Component]] = {}
    for index, ev in enumerate(events):
        uid = str(ev.get("UID", "")).strip()
        if not uid:
            uid = f"no-uid-{index}"
            ev["UID"] = uid
        groups.setdefault(uid, []).append(ev)
    return list(groups.items())


# --------------------------------------------------------------------------- series and instances


class _Context:
    def __init__(self, firm: FirmData, owner: Timekeeper, period: Period, path: str):
        self.firm, self.owner, self.period, self.path = firm, owner, period, path
        self.tz = firm.tz_for(owner.timekeeper_id)
        self.owner_addresses = {normalize.email(a) for a in (owner.email, *owner.aliases) if a}
        self.firm_addresses = set(_timekeepers_by_address(firm))
        self.firm_domains = firm.firm_domains
        self.window = (
            dt.datetime.combine(period.start - dt.timedelta(days=1), dt.time(), self.tz),
            dt.datetime.combine(period.end + dt.timedelta(days=2), dt.time(), self.tz),
        )
        self.seen: set[str] = set()

    def local(self, value: dt.date | dt.datetime) -> dt.datetime:
        """A DTSTART/DTEND value as an aware datetime in the owner's zone (dates: local midnight)."""
        if not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time(), self.tz)
        if value.tzinfo is None:
            return value.replace(tzinfo=self.tz)
        return value.astimezone(self.tz)

    def is_firm(self, address: str) -> bool:
        return address in self.firm_addresses or normalize.domain(address) in self.firm_domains


def _expand_series(uid: str, components: list[icalendar.Component], ctx: _Context, out: SourceResult) -> None:
    problem = _time_problem(components)
    if problem is None and len(components) == 1 and not any(name in components[0] for name in _RECURRENCE):
        # A one-off event (most of a calendar): its only instance is itself; no need for the library.
        ev = components[0]
        start, end = ev["DTSTART"].dt, _raw_end(ev)
        _instance(uid, ev, start, end, _before(end, start, ctx), ctx, out)
        return
    if problem is None:
        problem = _too_costly(components, ctx)
    if problem is None:
        try:
            for comp in components:
                if _ends_before_start(comp, ctx):
                    comp[_BACKWARDS] = "1"
            calendar = icalendar.Calendar()
            for comp in components:
                calendar.add_component(comp)
            instances = recurring_ical_events.of(calendar).between(*ctx.window)
        except Exception as e:  # noqa: BLE001 - a broken series is one rejected record
            problem = f"its recurrence cannot be expanded ({type(e).__name__}: {_short(e)})"
    if problem is not None:
        if _outside_period(components, ctx):
            return  # cannot have an instance in the period: not a record of this analysis
        ref = f"{ctx.path}#{uid}"
        if ref not in ctx.seen:
            ctx.seen.add(ref)
            out.rejections.append(Rejection(source=SOURCE, source_ref=ref, status="rejected",
                                            reason=f"event {uid!r}: {problem}"))
        return
    for ev in sorted(instances, key=lambda c: ctx.local(c["DTSTART"].dt)):
        start, end = ev["DTSTART"].dt, ev["DTEND"].dt
        backwards = _BACKWARDS in ev
        if backwards:
            start, end = end, start  # undo the library's swap: report what was written
        _instance(uid, ev, start, end, backwards, ctx, out)


def _time_problem(components: list[icalendar.Component]) -> str | None:
    for comp in components:
        for name, message in getattr(comp, "errors", []):
            if str(name).upper() in _TIME_PROPERTIES:
                return f"{name} cannot be read ({_short(message)})"
        if comp.get("DTSTART") is None:
            return "it has no DTSTART"
        end, duration = comp.get("DTEND"), comp.get("DURATION")
        if end is not None and not isinstance(_value(end), dt.date):
            return "DTEND cannot be read"
        if duration is not None and not isinstance(_value(duration), dt.timedelta):
            return "DURATION cannot be read"
    return None


def _too_costly(components: list[icalendar.Component], ctx: _Context) -> str | None:
    """Refuse rules that would keep the library busy for minutes (or forever: INTERVAL=0)."""
    for comp in components:
        rules = comp.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            freq = str((rule.get("FREQ") or [""])[0]).upper()
            interval = int((rule.get("INTERVAL") or [1])[0])
            if interval < 1:
                return f"RRULE INTERVAL={interval} is not a positive number"
            per_day = _PER_DAY.get(freq, 1) / interval
            for unit in _FINER.get(freq, ("BYHOUR", "BYMINUTE", "BYSECOND")):
                per_day *= max(1, len(rule.get(unit) or []))
            if per_day > MAX_PER_DAY:
                return f"it recurs up to {per_day:g} times a day (more than {MAX_PER_DAY}); not a meeting series"
            days = (ctx.period.end - ctx.local(comp["DTSTART"].dt).date()).days
            if days * per_day > MAX_EXPANSION:
                return (f"it would repeat about {days * per_day:,.0f} times from its start to the period"
                        f" (more than {MAX_EXPANSION:,})")
    return None


def _ends_before_start(comp: icalendar.Component, ctx: _Context) -> bool:
    return _before(_raw_end(comp), comp["DTSTART"].dt, ctx)


def _raw_end(comp: icalendar.Component) -> dt.date | dt.datetime:
    """DTEND, else DTSTART + DURATION, else RFC 5545's default (a day for a date, nothing for a time)."""
    start = comp["DTSTART"].dt
    if comp.get("DTEND") is not None:
        return comp["DTEND"].dt
    if comp.get("DURATION") is not None:
        duration = comp["DURATION"].dt
        if not isinstance(start, dt.datetime) and duration.seconds:
            start = dt.datetime.combine(start, dt.time())
        return start + duration
    return start if isinstance(start, dt.datetime) else start + dt.timedelta(days=1)


def _before(a: dt.date | dt.datetime, b: dt.date | dt.datetime, ctx: _Context) -> bool:
    return ctx.local(a).astimezone(_UTC) < ctx.local(b).astimezone(_UTC)


def _outside_period(components: list[icalendar.Component], ctx: _Context) -> bool:
    """True when a series can have no instance starting in the period (judged by DTSTART alone)."""
    starts = []
    for comp in components:
        value = _value(comp.get("DTSTART"))
        if not isinstance(value, dt.date):
            return False
        starts.append(ctx.local(value).date())
    if min(starts) > ctx.period.end:
        return True
    recurring = any("RRULE" in comp or "RDATE" in comp for comp in components)
    return not recurring and not any(ctx.period.contains(day) for day in starts)


def _instance(uid: str, ev: icalendar.Component, raw_start: dt.date | dt.datetime, raw_end: dt.date | dt.datetime,
              backwards: bool, ctx: _Context, out: SourceResult) -> None:
    start, end = ctx.local(raw_start), ctx.local(raw_end)
    if not ctx.period.contains(start.date()):
        return
    ref = f"{ctx.path}#{uid}@{start.isoformat()}"
    if ref in ctx.seen:
        return  # the same instance written twice in one file is one record
    ctx.seen.add(ref)
    title = str(ev.get("SUMMARY", "")).strip()

    def leave(status: str, reason: str) -> None:
        label = f"event {title!r}" if title else f"event {uid!r}"
        out.rejections.append(Rejection(source=SOURCE, source_ref=ref, status=status, reason=f"{label}: {reason}"))

    if backwards:
        return leave("rejected", f"ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if str(ev.get("STATUS", "")).strip().upper() == "CANCELLED":
        return leave("ignored", "cancelled")
    attendees = _addresses(ev.get("ATTENDEE"))
    if any(a in ctx.owner_addresses and p.get("PARTSTAT", "").upper() == "DECLINED" for a, p in attendees):
        return leave("ignored", f"declined by {ctx.owner.timekeeper_id}")
    all_day_flag = str(ev.get("X-MICROSOFT-CDO-ALLDAYEVENT", "")).strip().upper() == "TRUE"
    if not isinstance(raw_start, dt.datetime) or all_day_flag:
        return leave("ignored", "all-day event")
    if end.astimezone(_UTC) <= start.astimezone(_UTC):
        return leave("ignored", "the event has no duration")
    if end - start > MAX_LENGTH:
        return leave("rejected", f"lasts {(end - start).days} days (more than {MAX_LENGTH.days}); not a meeting")
    people = [(a, p) for a, p in attendees + _addresses(ev.get("ORGANIZER"))
              if p.get("CUTYPE", "").upper() not in _NOT_PEOPLE and a not in ctx.owner_addresses]
    if people and all(ctx.is_firm(a) for a, _ in people):
        return leave("ignored", "internal meeting (every attendee is at the firm)")

    counterparties: list[str] = []
    names: list[str] = []
    for address, params in people:
        if ctx.is_firm(address) or "@" not in address or address in counterparties:
            continue
        counterparties.append(address)
        cn = str(params.get("CN", "")).strip().strip('"')
        if cn and cn not in names:
            names.append(cn)
    excerpt = str(ev.get("DESCRIPTION", "")).strip()[:EXCERPT_CHARS]
    location = str(ev.get("LOCATION", "")).strip()
    tk_id = ctx.owner.timekeeper_id
    for n, (piece_start, piece_end) in enumerate(_day_pieces(start, end, ctx)):
        out.activities.append(Activity(
            activity_id=make_activity_id(ref if n == 0 else f"{ref}|{piece_start.date().isoformat()}", tk_id),
            source=SOURCE, source_ref=ref, timekeeper_id=tk_id, kind="meeting",
            start=piece_start, end=piece_end, minutes=_minutes(piece_start, piece_end),
            title=title, counterparties=counterparties, participant_names=names,
            excerpt=excerpt, location=location,
        ))
    out.activity_records += 1


def _day_pieces(start: dt.datetime, end: dt.datetime, ctx: _Context) -> list[tuple[dt.datetime, dt.datetime]]:
    """Cut [start, end) at local midnights; keep the pieces on days of the period. Arithmetic in UTC."""
    pieces = []
    cursor, stop = start.astimezone(_UTC), end.astimezone(_UTC)
    while cursor < stop:
        day = cursor.astimezone(ctx.tz).date()
        if day > ctx.period.end:
            break
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ctx.tz).astimezone(_UTC)
        piece_end = min(stop, midnight)
        if ctx.period.contains(day):
            pieces.append((cursor.astimezone(ctx.tz), piece_end.astimezone(ctx.tz)))
        cursor = piece_end
    return pieces


def _minutes(start: dt.datetime, end: dt.datetime) -> int:
    return math.ceil((end.astimezone(_UTC) - start.astimezone(_UTC)).total_seconds() / 60)


def _addresses(value) -> list[tuple[str, dict[str, str]]]:
    """ATTENDEE/ORGANIZER values as (normalised email, parameters)."""
    if value is None:
        return []
    found = []
    for item in value if isinstance(value, list) else [value]:
        address = str(item).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        params = {str(k).upper(): str(v) for k, v in getattr(item, "params", {}).items()}
        found.append((normalize.email(address), params))
    return found


def _value(prop):
    """A property's Python value, or None when it is missing or broken (vBroken raises on .dt)."""
    try:
        return prop.dt
    except Exception:  # noqa: BLE001 - icalendar raises its own error types for broken values
        return None


def _short(error: object, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
