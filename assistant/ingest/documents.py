"""Document-management logs (CSV) → document activities; one record per data row.

Columns: `timestamp,timekeeper_id,document,action,minutes` then `matter_id`. The timestamp ends the
session (`start` = timestamp − minutes); without an offset it is in the timekeeper's zone. A row
whose local timestamp falls outside the period is not a record. Ignored: 0 minutes. Rejected: an
unknown timekeeper, an unreadable timestamp, minutes that are not a number from 0 to 1440, an
unknown action, a malformed row. `matter_id` becomes the activity's `matter_hint`; the action is
kept in `location` (the narratives read it there). `source_ref` = `path:LINE`.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation

from ..models import Activity, FirmData, Period, Rejection, SourceResult, Timekeeper, make_activity_id
from .calls import parse_timestamp, require_time
from .csvutil import Row, parse_source_rows

__all__ = ["COLUMNS", "parse_documents"]

SOURCE = "documents"
COLUMNS = ["timestamp", "timekeeper_id", "document", "action", "minutes"]
ACTIONS = ("created", "edited", "finalized")
MAX_MINUTES = 24 * 60


def parse_documents(data: bytes, path: str, firm: FirmData, period: Period) -> SourceResult:
    """Parse one document log. Never raises: a file without the header is one rejection named by its path."""
    timekeepers = {tk.timekeeper_id.lower(): tk for tk in firm.timekeepers}
    return parse_source_rows(data, path, COLUMNS, SOURCE,
                             lambda row, ref, result: _row(row, ref, firm, period, timekeepers, result))


def _row(row: Row, ref: str, firm: FirmData, period: Period, timekeepers: dict[str, Timekeeper],
         out: SourceResult) -> None:
    v = row.values
    if "__error__" in v:
        raise ValueError(v["__error__"])
    stamp = parse_timestamp(v["timestamp"], "timestamp")
    tk = firm.timekeeper(v["timekeeper_id"]) or timekeepers.get(v["timekeeper_id"].lower())
    tz = firm.tz_for(tk.timekeeper_id) if tk else firm.firm.tz
    end = stamp.replace(tzinfo=tz) if stamp.tzinfo is None else stamp.astimezone(tz)
    if not period.contains(end.date()):
        return  # not a record of this analysis
    if tk is None:
        if not v["timekeeper_id"]:
            raise ValueError("timekeeper_id is empty")
        raise ValueError(f"no timekeeper has id {_clip(v['timekeeper_id'])!r}")
    require_time(v["timestamp"], "timestamp")
    minutes = _minutes(v["minutes"])
    action = v["action"].lower()
    if action not in ACTIONS:
        raise ValueError(f"action {_clip(v['action'])!r} is not one of {', '.join(ACTIONS)}")
    if not v["document"]:
        raise ValueError("document is empty")
    if minutes == 0:
        out.rejections.append(Rejection(source=SOURCE, source_ref=ref, status="ignored",
                                        reason="0 minutes on the document"))
        return
    start = (end.astimezone(dt.timezone.utc) - dt.timedelta(minutes=minutes)).astimezone(tz)
    out.activities.append(Activity(
        activity_id=make_activity_id(ref, tk.timekeeper_id), source=SOURCE, source_ref=ref,
        timekeeper_id=tk.timekeeper_id, kind="document", start=start, end=end, minutes=minutes,
        title=v["document"], matter_hint=v.get("matter_id", ""), location=action,
    ))
    out.activity_records += 1


def _minutes(value: str) -> int:
    """Whole minutes, a fraction rounded up; 0 to a day."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"minutes {_clip(value)!r} is not a number") from None
    if not number.is_finite() or number < 0 or number > MAX_MINUTES:
        raise ValueError(f"minutes {_clip(value)!r} is not between 0 and {MAX_MINUTES}")
    return math.ceil(number)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
