"""Recorded time entries and expenses (CSV as exported by practice management systems)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from ..errors import IngestError
from ..models import Expense, Rejection, TimeEntry
from .csvutil import read_rows

ENTRY_COLUMNS = ["entry_id", "date", "timekeeper_id", "matter_id", "hours", "narrative"]
EXPENSE_COLUMNS = ["expense_id", "date", "timekeeper_id", "matter_id", "amount", "description"]


def parse_time_entries(data: bytes, path: str = "time_entries.csv", firm=None) -> tuple[list[TimeEntry], list[Rejection]]:
    entries: list[TimeEntry] = []
    rejected: list[Rejection] = []
    try:
        _, rows = read_rows(data, path, ENTRY_COLUMNS)
    except IngestError as e:
        return [], [Rejection(source="time_entries", source_ref=path, status="rejected", reason=str(e))]
    for row in rows:
        ref = f"{path}:{row.line}"
        v = row.values
        try:
            _check_row(v, ENTRY_COLUMNS)
            hours = _decimal(v["hours"], "hours")
            if hours <= 0:
                raise ValueError(f"hours {v['hours']!r} must be greater than zero")
            entries.append(TimeEntry(
                entry_id=v["entry_id"], date=parse_date(v["date"]), timekeeper_id=v["timekeeper_id"],
                matter_id=v["matter_id"], hours=hours, narrative=" ".join(v["narrative"].split()),
                task_code=v.get("task_code", "").upper(), activity_code=v.get("activity_code", "").upper(),
                rate=_decimal(v["rate"], "rate") if v.get("rate") else None, source_ref=ref,
            ))
        except ValueError as e:
            rejected.append(Rejection(source="time_entries", source_ref=ref, status="rejected", reason=str(e)))
    return entries, rejected


def parse_expenses(data: bytes, path: str = "expenses.csv", firm=None) -> tuple[list[Expense], list[Rejection]]:
    expenses: list[Expense] = []
    rejected: list[Rejection] = []
    try:
        _, rows = read_rows(data, path, EXPENSE_COLUMNS)
    except IngestError as e:
        return [], [Rejection(source="expenses", source_ref=path, status="rejected", reason=str(e))]
    for row in rows:
        ref = f"{path}:{row.line}"
        v = row.values
        try:
            _check_row(v, EXPENSE_COLUMNS)
            expenses.append(Expense(
                expense_id=v["expense_id"], date=parse_date(v["date"]), timekeeper_id=v["timekeeper_id"],
                matter_id=v["matter_id"], amount=_decimal(v["amount"], "amount"),
                description=" ".join(v["description"].split()), expense_code=v.get("expense_code", "").upper(),
                units=_decimal(v["units"], "units") if v.get("units") else None,
                unit_cost=_decimal(v["unit_cost"], "unit_cost") if v.get("unit_cost") else None, source_ref=ref,
            ))
        except ValueError as e:
            rejected.append(Rejection(source="expenses", source_ref=ref, status="rejected", reason=str(e)))
    return expenses, rejected


def parse_date(value: str) -> dt.date:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {value!r} is not YYYY-MM-DD")


def _check_row(v: dict[str, str], required: list[str]) -> None:
    if "__error__" in v:
        raise ValueError(v["__error__"])
    empty = [c for c in required if not v.get(c)]
    if empty:
        raise ValueError(f"empty required value(s) {', '.join(empty)}")


def _decimal(value: str, name: str) -> Decimal:
    try:
        d = Decimal(value.replace("$", "").replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{name} {value!r} is not a number")
    return d
