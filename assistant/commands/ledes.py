"""`tenths ledes`: one matter's LEDES 1998B (or LEDES XML 2.1) invoice.

Refused whole when an entry or the file breaks a rule.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, IngestError, RefusedError
from ..folder import load_firm
from ..ingest.csvutil import read_rows
from ..ingest.entries import ENTRY_COLUMNS, EXPENSE_COLUMNS, parse_expenses, parse_time_entries
from ..ledes import build_invoice, ledes_problems, to_ledes_1998b
from ..outputs import write_bytes
from ..models import Expense, FirmData, Period, Rejection, TimeEntry


def run(ns) -> int:
    firm = load_firm(ns.firm)
    if firm.matter(ns.matter) is None:
        raise ConfigError(f"no matter {ns.matter!r} in matters.csv", file="matters.csv")
    if ns.date_from > ns.date_to:
        raise ConfigError(f"--from {ns.date_from} is after --to {ns.date_to}")
    period = Period(start=ns.date_from, end=ns.date_to)
    entries, expenses = load_records(ns.entries, ns.expenses, ns.matter)
    fmt = getattr(ns, "format", "1998B") or "1998B"
    text = export(entries, expenses, firm, ns.matter, ns.invoice_number, ns.invoice_date, period, fmt=fmt)
    write_bytes(Path(ns.out), text.encode("ascii" if fmt == "1998B" else "utf-8"))
    return 0


def export(entries: list[TimeEntry], expenses: list[Expense], firm: FirmData, matter_id: str,
           invoice_number: str, invoice_date, period: Period, *, fmt: str = "1998B") -> str:
    """The LEDES text (`fmt` "1998B" or "XML2.1"), or RefusedError naming each entry and rule that stops it.

    An XML invoice must pass the 1998B checks of the same invoice as well as `xml_problems`.
    """
    from ..validate import check_entries, has_errors

    mine = {e.entry_id for e in entries if e.matter_id == matter_id and period.contains(e.date)}
    # Every entry is checked (duplicates and daily totals need the others); only this invoice's count.
    flags = check_entries(entries, firm, expenses=expenses)
    reasons = [
        f"entry {entry_id}: {f.rule} ({f.severity}): {f.message}"
        for entry_id in sorted(mine) if has_errors(flags.get(entry_id, []))
        for f in flags.get(entry_id, []) if f.severity == "error"
    ]
    if reasons:
        raise RefusedError(f"invoice {invoice_number} not written: entries of matter {matter_id} have errors", reasons)
    invoice = build_invoice(entries, expenses, firm, matter_id, invoice_number, invoice_date, period)
    problems = ledes_problems(invoice, firm)
    if problems:
        raise RefusedError(f"invoice {invoice_number} not written: it would break LEDES 1998B rules", problems)
    if fmt == "XML2.1":
        from ..ledes_xml import to_ledes_xml_21, xml_problems

        text = to_ledes_xml_21(invoice, firm)
        problems = xml_problems(text, firm)
        if problems:
            raise RefusedError(f"invoice {invoice_number} not written: it would break LEDES XML 2.1 rules", problems)
        return text
    return to_ledes_1998b(invoice)


def load_records(entries_path: Path, expenses_path: Path | None, matter_id: str) -> tuple[list[TimeEntry], list[Expense]]:
    data = _read(entries_path)
    entries, rejected = parse_time_entries(data, str(entries_path))
    _refuse_unreadable(data, str(entries_path), rejected, ENTRY_COLUMNS, matter_id, "entry")
    expenses: list[Expense] = []
    if expenses_path is not None:
        data = _read(expenses_path)
        expenses, rejected = parse_expenses(data, str(expenses_path))
        _refuse_unreadable(data, str(expenses_path), rejected, EXPENSE_COLUMNS, matter_id, "expense")
    return entries, expenses


def _refuse_unreadable(data: bytes, path: str, rejected: list[Rejection], columns: list[str], matter_id: str,
                       what: str) -> None:
    """A file that cannot be read is bad usage; a bad row of this matter stops the invoice (it would go missing)."""
    whole = [r for r in rejected if r.source_ref == path]
    if whole:
        raise ConfigError(whole[0].reason, file=path)
    if not rejected:
        return
    try:
        _, rows = read_rows(data, path, columns)
        matter_of_line = {row.line: row.values.get("matter_id", "") for row in rows}
    except IngestError:
        matter_of_line = {}
    mine = [r for r in rejected if matter_of_line.get(int(r.source_ref.rsplit(":", 1)[-1]), matter_id) == matter_id]
    if mine:
        raise RefusedError(f"{len(mine)} {what} row(s) of matter {matter_id} in {path} cannot be read",
                           [f"{r.source_ref}: {r.reason}" for r in mine])



def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read it ({e.strerror})", file=str(path)) from None
