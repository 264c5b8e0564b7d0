"""Call logs (CSV) → call activities; one record per data row.

Columns: `call_id,start,end,direction,timekeeper_phone,other_number`. Timestamps are ISO 8601 with an
offset or `Z` (a timestamp without one is read as UTC) and are shown in the timekeeper's zone. The
timekeeper is the one whose phone, normalised, is `timekeeper_phone`. A row whose local start falls
outside the period is not a record. Ignored: 0-second calls and calls between two timekeepers.
Rejected: unreadable times, end before start, an unknown timekeeper phone, a malformed row.
`source_ref` = `path:LINE`; minutes = ceil(seconds / 60).
"""

from __future__ import annotations

import datetime as dt
import math

from ..models import Activity, FirmData, Period, Rejection, SourceResult, Timekeeper, make_activity_id
from . import normalize
from .csvutil import Row, parse_source_rows

__all__ = ["COLUMNS", "parse_calls", "parse_timestamp", "require_time"]

SOURCE = "calls"
COLUMNS = ["call_id", "start", "end", "direction", "timekeeper_phone", "other_number"]
_DIRECTIONS = {
    "inbound": "inbound", "incoming": "inbound", "in": "inbound",
    "outbound": "outbound", "outgoing": "outbound", "out": "outbound",
}


def parse_calls(data: bytes, path: str, firm: FirmData, period: Period) -> SourceResult:
    """Parse one call log. Never raises: a file without the header is one rejection named by its path."""
    phones = _phones(firm)
    return parse_source_rows(data, path, COLUMNS, SOURCE,
                             lambda row, ref, result: _row(row, ref, firm, period, phones, result))


def parse_timestamp(value: str, column: str) -> dt.datetime:
    """ISO 8601 (`2026-10-05T14:03:00Z`, `…+02:00`, a space for the T); naive when it has no offset."""
    text = (value or "").strip()
    if not text:
        raise ValueError(f"{column} is empty")
    try:
        return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise ValueError(f"{column} {_clip(text)!r} is not an ISO 8601 timestamp") from None


def require_time(value: str, column: str) -> None:
    """A bare date parses as midnight; as evidence of when work happened it is not a time."""
    if len(value.strip()) <= 10:
        raise ValueError(f"{column} {_clip(value.strip())!r} has no time of day")


def _row(row: Row, ref: str, firm: FirmData, period: Period, phones: dict[str, Timekeeper],
         out: SourceResult) -> None:
    v = row.values
    if "__error__" in v:
        raise ValueError(v["__error__"])
    start = _aware(parse_timestamp(v["start"], "start"))
    tk = phones.get(normalize.phone(v["timekeeper_phone"]))
    tz = firm.tz_for(tk.timekeeper_id) if tk else firm.firm.tz
    start = start.astimezone(tz)
    if not period.contains(start.date()):
        return  # not a record of this analysis
    if tk is None:
        if not v["timekeeper_phone"]:
            raise ValueError("timekeeper_phone is empty")
        raise ValueError(f"no timekeeper has phone {_clip(v['timekeeper_phone'])}")
    require_time(v["start"], "start")
    end = _aware(parse_timestamp(v["end"], "end")).astimezone(tz)
    require_time(v["end"], "end")
    if end < start:
        raise ValueError(f"call ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    direction = _DIRECTIONS.get(v["direction"].lower())
    if direction is None:
        raise ValueError(f"direction {_clip(v['direction'])!r} is not inbound or outbound")
    other = normalize.phone(v["other_number"])
    if end == start:
        out.rejections.append(Rejection(source=SOURCE, source_ref=ref, status="ignored", reason="0-second call"))
        return
    if other and other in phones:
        out.rejections.append(Rejection(
            source=SOURCE, source_ref=ref, status="ignored",
            reason=f"internal call between {tk.timekeeper_id} and {phones[other].timekeeper_id}"))
        return
    shown = _clip(v["other_number"]) if other else "an unknown number"
    title = f"Outbound call to {shown}" if direction == "outbound" else f"Inbound call from {shown}"
    seconds = (end - start).total_seconds()
    out.activities.append(Activity(
        activity_id=make_activity_id(ref, tk.timekeeper_id), source=SOURCE, source_ref=ref,
        timekeeper_id=tk.timekeeper_id, kind="call", start=start, end=end,
        minutes=math.ceil(seconds / 60), title=title, counterparties=[other] if other else [],
    ))
    out.activity_records += 1


def _phones(firm: FirmData) -> dict[str, Timekeeper]:
    found: dict[str, Timekeeper] = {}
    for tk in firm.timekeepers:
        number = normalize.phone(tk.phone)
        if number:
            found.setdefault(number, tk)
    return found


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
