"""LEDES 1998B: build an invoice from entries, write it, read it back, and check it like a strict e-billing platform.

The format (LEDES Oversight Committee, LEDES 1998B): line 1 is `LEDES1998B[]`, line 2 the 24 field names
in a fixed order separated by `|`, then one line per line item; every line ends in `[]`. Invoice-level
fields repeat on every line of an invoice. LINE_ITEM_TOTAL = units x unit cost + adjustment amount, and
INVOICE_TOTAL is the sum of an invoice's LINE_ITEM_TOTALs. Invoice-level adjustments (a flat fee, a
discount) are `IF`/`IE` lines with units 1, the amount in LINE_ITEM_ADJUSTMENT_AMOUNT and no unit cost,
as in the specification's own example (its "Monthly Retainer" line).

`ledes_problems` parses the text on its own (it does not use `read_ledes_1998b`), so a writer bug
cannot hide from it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError, IngestError, RefusedError
from .models import (
    CLASSIFICATION_LOC_TO_SHORT, CLASSIFICATIONS_SHORT, Expense, FirmData, Matter, Period, TimeEntry,
)

__all__ = [
    "FIELDS", "Invoice", "LineItem", "build_invoice", "to_ledes_1998b", "read_ledes_1998b",
    "read_ledes_1998b_all", "ledes_problems", "clean_text",
]

FORMAT_LINE = "LEDES1998B[]"
FIELDS: tuple[str, ...] = (
    "INVOICE_DATE", "INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "INVOICE_TOTAL",
    "BILLING_START_DATE", "BILLING_END_DATE", "INVOICE_DESCRIPTION", "LINE_ITEM_NUMBER",
    "EXP/FEE/INV_ADJ_TYPE", "LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_ADJUSTMENT_AMOUNT", "LINE_ITEM_TOTAL",
    "LINE_ITEM_DATE", "LINE_ITEM_TASK_CODE", "LINE_ITEM_EXPENSE_CODE", "LINE_ITEM_ACTIVITY_CODE",
    "TIMEKEEPER_ID", "LINE_ITEM_DESCRIPTION", "LAW_FIRM_ID", "LINE_ITEM_UNIT_COST", "TIMEKEEPER_NAME",
    "TIMEKEEPER_CLASSIFICATION", "CLIENT_MATTER_ID",
)
HEADER_LINE = "|".join(FIELDS) + "[]"
INVOICE_FIELDS = (
    "INVOICE_DATE", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "INVOICE_TOTAL", "BILLING_START_DATE",
    "BILLING_END_DATE", "INVOICE_DESCRIPTION", "LAW_FIRM_ID", "CLIENT_MATTER_ID",
)
"""Fields that describe the invoice, not the line: identical on every line of one INVOICE_NUMBER."""
LINE_TYPES = ("F", "E", "IF", "IE")
MAX_DESCRIPTION = 1024
"""Platforms reject a description of 1,024 characters or more."""
MAX_ID = 20
"""Character * 20 in the specification: invoice number, client, matter, line item and timekeeper ids."""
CENT = Decimal("0.01")
EOL = "\r\n"
CODE_SET_NAMES = ("litigation", "bankruptcy", "counseling", "project")


class LineItem(BaseModel):
    """One LEDES line item. Money is Decimal; units are hours for fees."""

    model_config = ConfigDict(extra="forbid")

    line_number: str
    type: Literal["F", "E", "IF", "IE"]
    units: Decimal
    adjustment: Decimal = Decimal("0")
    total: Decimal
    date: dt.date
    task_code: str = ""
    expense_code: str = ""
    activity_code: str = ""
    timekeeper_id: str = ""
    description: str
    unit_cost: Decimal | None = None
    timekeeper_name: str = ""
    timekeeper_classification: str = ""
    source_id: str = Field(default="", exclude=True)
    """The entry_id or expense_id the line was built from (not part of the file)."""


class Invoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_date: dt.date
    invoice_number: str
    client_id: str
    law_firm_matter_id: str
    total: Decimal
    billing_start: dt.date
    billing_end: dt.date
    description: str
    law_firm_id: str
    client_matter_id: str = ""
    lines: list[LineItem] = Field(default_factory=list)

    @property
    def fees(self) -> Decimal:
        return sum((li.total for li in self.lines if li.type in ("F", "IF")), Decimal("0"))

    @property
    def expenses(self) -> Decimal:
        return sum((li.total for li in self.lines if li.type in ("E", "IE")), Decimal("0"))

    @property
    def hours(self) -> Decimal:
        return sum((li.units for li in self.lines if li.type == "F"), Decimal("0"))


# --------------------------------------------------------------------------- text


_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE", "\u00f8": "o",
    "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D", "\u00fe": "th", "\u00de": "Th",
    "\u00a7": "Sec.", "\u00b6": "para.", "\u20ac": "EUR ", "\u00a3": "GBP ", "\u00bd": "1/2", "\u00bc": "1/4",
    "\u00be": "3/4", "\u00d7": "x", "\u2122": "(TM)", "\u00ae": "(R)", "\u00a9": "(C)",
}
_BREAKS = re.compile(r"\s*(?:\r\n|[\r\n\u2028\u2029\x0b\x0c\x85])+\s*")


def clean_text(text: str) -> str:
    """Make text safe for a LEDES field without losing its meaning.

    `|` and line breaks separate clauses, so they become "; "; brackets become parentheses (`[]`
    ends a line in the format); accents and typographic punctuation fold to ASCII where an exact
    equivalent exists. Anything else non-ASCII is kept, and `ledes_problems` reports it.
    """
    text = _BREAKS.sub("; ", text)
    text = text.replace("|", "; ").replace("[", "(").replace("]", ")").replace("\t", " ")
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isascii():
            out.append(ch if ch.isprintable() else " ")
        elif ch in _PUNCTUATION:
            out.append(_PUNCTUATION[ch])
        else:
            folded = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(folded if folded and folded.isascii() and folded.isprintable() else ch)
    text = " ".join("".join(out).split())
    text = re.sub(r"(?:\s*;\s*)+", "; ", text)
    return text.strip("; ").strip()


# --------------------------------------------------------------------------- build


def _check_header(invoice_number: str, invoice_date: dt.date, period: Period) -> None:
    """Bad usage (ConfigError): an invoice number the format cannot carry as given, an invoice dated
    before the work it bills. The number is never rewritten: the file must carry the number the firm
    quotes in its letters and ledger."""
    if not invoice_number.strip():
        raise ConfigError("the invoice number is empty")
    bad = sorted({ch for ch in invoice_number if ch in "|[]" or not (ch.isascii() and ch.isprintable())})
    if bad:
        raise ConfigError(f"the invoice number {invoice_number!r} contains {', '.join(repr(c) for c in bad)}, "
                          "which a LEDES file cannot carry")
    if invoice_date < period.start:
        raise ConfigError(f"the invoice date {invoice_date} is before the billing period it invoices "
                          f"({period.start} to {period.end})")


def build_invoice(
    entries: list[TimeEntry],
    expenses: list[Expense],
    firm: FirmData,
    matter_id: str,
    invoice_number: str,
    invoice_date: dt.date,
    period: Period,
    *,
    discount: Decimal | None = None,
) -> Invoice:
    """The invoice of one matter's entries and expenses dated in the period.

    Entries and expenses of other matters or outside the period are left out. Fees: hourly matters
    bill one `F` line per entry at the entry's rate, else the matter's rate for the timekeeper; a
    flat-fee matter bills one `IF` line of its flat fee. `discount` is an amount taken off the fees
    as an `IF` line with a negative total. Raises RefusedError when the data cannot make an invoice.
    """
    _check_header(invoice_number, invoice_date, period)
    matter = firm.matter(matter_id)
    if matter is None:
        raise RefusedError(f"no matter {matter_id} in the firm folder", [f"matter {matter_id} is unknown"])
    client = firm.client(matter.client_id)
    reasons: list[str] = []
    mine = sorted(
        (e for e in entries if e.matter_id == matter_id and period.contains(e.date)),
        key=lambda e: (e.date, e.timekeeper_id, e.entry_id),
    )
    costs = sorted(
        (x for x in expenses if x.matter_id == matter_id and period.contains(x.date)),
        key=lambda x: (x.date, x.expense_id),
    )
    lines: list[LineItem] = []

    def number() -> str:
        return str(len(lines) + 1)

    if matter.billing_type == "hourly":
        for e in mine:
            tk = firm.timekeeper(e.timekeeper_id)
            if tk is None:
                reasons.append(f"entry {e.entry_id}: unknown timekeeper {e.timekeeper_id}")
                continue
            rate = e.rate if e.rate is not None else matter.rate_for(tk)
            lines.append(LineItem(
                line_number=number(), type="F", units=e.hours, total=_money(e.hours * rate), date=e.date,
                task_code=e.task_code, activity_code=e.activity_code, timekeeper_id=e.timekeeper_id,
                description=clean_text(e.narrative), unit_cost=rate, timekeeper_name=clean_text(tk.ledes_name),
                timekeeper_classification=short_classification(tk.classification), source_id=e.entry_id,
            ))
    elif matter.billing_type == "flat":
        if matter.flat_fee is None:
            reasons.append(f"matter {matter_id} is billed at a flat fee but matters.csv gives no flat_fee")
        else:
            lines.append(LineItem(
                line_number=number(), type="IF", units=Decimal("1"), adjustment=_money(matter.flat_fee),
                total=_money(matter.flat_fee), date=period.end,
                description=clean_text(f"Flat fee for {matter.name}, {period.start:%m/%d/%Y} to {period.end:%m/%d/%Y}"),
            ))
    elif matter.billing_type == "pro_bono":
        reasons.append(f"matter {matter_id} is pro bono: there is nothing to invoice")
    # contingency: fees are not billed by the hour; only the expenses are invoiced.

    for x in costs:
        if x.units is not None and x.unit_cost is not None:
            units, unit_cost = x.units, x.unit_cost
            if _money(units * unit_cost) != _money(x.amount):
                reasons.append(f"expense {x.expense_id}: units {x.units} x unit cost {x.unit_cost}"
                               f" = {_money(units * unit_cost)}, but its amount is {x.amount}")
                continue
        else:
            units, unit_cost = Decimal("1"), x.amount
        total = _money(units * unit_cost)
        lines.append(LineItem(
            line_number=number(), type="E", units=units, total=total, date=x.date, expense_code=x.expense_code,
            timekeeper_id="", description=clean_text(x.description), unit_cost=unit_cost, source_id=x.expense_id,
        ))

    if discount:
        discount = abs(discount)
        fees = sum((li.total for li in lines if li.type in ("F", "IF")), Decimal("0"))
        if _money(discount) > fees:
            reasons.append(f"the discount {_money(discount)} is larger than the fees {fees}")
        lines.append(LineItem(
            line_number=number(), type="IF", units=Decimal("1"), adjustment=-_money(discount),
            total=-_money(discount), date=period.end, description="Discount on fees",
        ))
    if reasons:
        raise RefusedError(f"cannot build invoice {invoice_number} for matter {matter_id}", reasons)
    if not lines:
        what = "expenses (its fees are contingent)" if matter.billing_type == "contingency" else "entries or expenses"
        raise RefusedError(f"nothing to invoice for matter {matter_id}",
                           [f"matter {matter_id} has no {what} from {period.start} to {period.end}"])
    return Invoice(
        invoice_date=invoice_date, invoice_number=invoice_number,
        client_id=client.ledes_client_id if client else matter.client_id,
        law_firm_matter_id=matter.matter_id, total=sum((li.total for li in lines), Decimal("0")),
        billing_start=period.start, billing_end=period.end,
        description=clean_text(f"Legal services: {matter.name}"), law_firm_id=firm.firm.law_firm_id,
        client_matter_id=matter.client_matter_id, lines=lines,
    )


def short_classification(value: str) -> str:
    value = value.strip().upper()
    return value if value in CLASSIFICATIONS_SHORT else CLASSIFICATION_LOC_TO_SHORT.get(value, value)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- write


def to_ledes_1998b(invoice: Invoice) -> str:
    """The invoice as a LEDES 1998B file (CRLF line ends, every line ending in `[]`)."""
    head = [
        invoice.invoice_date.strftime("%Y%m%d"), clean_text(invoice.invoice_number), clean_text(invoice.client_id),
        clean_text(invoice.law_firm_matter_id), _fmt_money(invoice.total),
        invoice.billing_start.strftime("%Y%m%d"), invoice.billing_end.strftime("%Y%m%d"),
        clean_text(invoice.description),
    ]
    out = [FORMAT_LINE, HEADER_LINE]
    for li in invoice.lines:
        row = head + [
            clean_text(li.line_number), li.type, _fmt_number(li.units), _fmt_money(li.adjustment),
            _fmt_money(li.total), li.date.strftime("%Y%m%d"), clean_text(li.task_code), clean_text(li.expense_code),
            clean_text(li.activity_code), clean_text(li.timekeeper_id), clean_text(li.description),
            clean_text(invoice.law_firm_id), "" if li.unit_cost is None else _fmt_number(li.unit_cost, places=2),
            clean_text(li.timekeeper_name), clean_text(li.timekeeper_classification),
            clean_text(invoice.client_matter_id),
        ]
        out.append("|".join(row) + "[]")
    return EOL.join(out) + EOL


def _fmt_money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def _fmt_number(value: Decimal, places: int = 2) -> str:
    """At least `places` decimals, up to 4 when the value needs them (0.125 h, a 333.3333 rate)."""
    q = value.quantize(Decimal(1).scaleb(-places))
    if q == value:
        return f"{q:f}"
    return f"{value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP).normalize():f}"


# --------------------------------------------------------------------------- read


def read_ledes_1998b_all(text: str) -> list[Invoice]:
    """Every invoice in a LEDES 1998B file, in order of first appearance. Raises IngestError."""
    lines = _split_lines(text)
    if not lines or lines[0].strip() != FORMAT_LINE:
        raise IngestError("not a LEDES 1998B file: the first line is not LEDES1998B[]")
    if len(lines) < 2 or lines[1].strip() != HEADER_LINE:
        raise IngestError("the second line is not the LEDES 1998B header of 24 field names")
    invoices: dict[str, Invoice] = {}
    for n, raw in enumerate(lines[2:], start=3):
        if not raw.strip():
            continue
        raw = raw.rstrip()
        if not raw.endswith("[]"):
            raise IngestError(f"line {n} does not end in []")
        cells = raw[:-2].split("|")
        if len(cells) != len(FIELDS):
            raise IngestError(f"line {n} has {len(cells)} fields, not {len(FIELDS)}")
        v = dict(zip(FIELDS, cells))
        try:
            item = LineItem(
                line_number=v["LINE_ITEM_NUMBER"], type=v["EXP/FEE/INV_ADJ_TYPE"].upper(),
                units=_dec(v["LINE_ITEM_NUMBER_OF_UNITS"]) or Decimal("0"),
                adjustment=_dec(v["LINE_ITEM_ADJUSTMENT_AMOUNT"]) or Decimal("0"),
                total=_dec(v["LINE_ITEM_TOTAL"]), date=_date(v["LINE_ITEM_DATE"]),
                task_code=v["LINE_ITEM_TASK_CODE"], expense_code=v["LINE_ITEM_EXPENSE_CODE"],
                activity_code=v["LINE_ITEM_ACTIVITY_CODE"], timekeeper_id=v["TIMEKEEPER_ID"],
                description=v["LINE_ITEM_DESCRIPTION"], unit_cost=_dec(v["LINE_ITEM_UNIT_COST"]),
                timekeeper_name=v["TIMEKEEPER_NAME"], timekeeper_classification=v["TIMEKEEPER_CLASSIFICATION"],
            )
            number = v["INVOICE_NUMBER"]
            if number not in invoices:
                # The specification: for each invoice, the first line's invoice-level values are the valid ones.
                invoices[number] = Invoice(
                    invoice_date=_date(v["INVOICE_DATE"]), invoice_number=number, client_id=v["CLIENT_ID"],
                    law_firm_matter_id=v["LAW_FIRM_MATTER_ID"], total=_dec(v["INVOICE_TOTAL"]),
                    billing_start=_date(v["BILLING_START_DATE"]), billing_end=_date(v["BILLING_END_DATE"]),
                    description=v["INVOICE_DESCRIPTION"], law_firm_id=v["LAW_FIRM_ID"],
                    client_matter_id=v["CLIENT_MATTER_ID"],
                )
        except (ValueError, TypeError) as e:
            raise IngestError(f"line {n}: {_first_error(e)}") from None
        invoices[number].lines.append(item)
    if not invoices:
        raise IngestError("the LEDES file has no line items")
    return list(invoices.values())


def read_ledes_1998b(text: str) -> Invoice:
    """The one invoice of a LEDES 1998B file. Raises IngestError (also when the file holds several)."""
    invoices = read_ledes_1998b_all(text)
    if len(invoices) > 1:
        raise IngestError(f"the file holds {len(invoices)} invoices ({', '.join(i.invoice_number for i in invoices)});"
                          " read them with read_ledes_1998b_all")
    return invoices[0]


def _split_lines(text: str) -> list[str]:
    lines = re.split(r"\r\n|\n|\r", text.lstrip("\ufeff"))
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def _dec(value: str) -> Decimal | None:
    value = value.strip()
    if not value:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return d


def _date(value: str) -> dt.date:
    if not re.fullmatch(r"\d{8}", value):
        raise ValueError(f"date {value!r} is not YYYYMMDD")
    return dt.datetime.strptime(value, "%Y%m%d").date()


def _first_error(e: Exception) -> str:
    if hasattr(e, "errors"):
        err = e.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(e)


# --------------------------------------------------------------------------- validate


_TASK = re.compile(r"[A-Z]{1,2}\d{3}")
_ACTIVITY = re.compile(r"A\d{3}")
_EXPENSE = re.compile(r"E\d{3}")


def code_shape_problems(task: str, activity: str, expense: str, *,
                        names: tuple[str, str, str] = ("LINE_ITEM_TASK_CODE", "LINE_ITEM_ACTIVITY_CODE",
                                                       "LINE_ITEM_EXPENSE_CODE")) -> list[str]:
    """The UTBMS rules every LEDES format shares, worded with that format's field names."""
    task_name, activity_name, expense_name = names
    found = []
    if activity and not task:
        found.append(f"{activity_name} {activity} without a {task_name}")
    if task and not _TASK.fullmatch(task):
        found.append(f"{task_name} {task!r} is not a UTBMS task code")
    if activity and not _ACTIVITY.fullmatch(activity):
        found.append(f"{activity_name} {activity!r} is not a UTBMS activity code")
    if expense and not _EXPENSE.fullmatch(expense):
        found.append(f"{expense_name} {expense!r} is not a UTBMS expense code")
    return found
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_KNOWN_CLASSIFICATIONS = set(CLASSIFICATIONS_SHORT) | set(CLASSIFICATION_LOC_TO_SHORT)


def ledes_problems(text_or_invoice: str | Invoice, firm: FirmData | None = None, *, codesets=None) -> list[str]:
    """Everything an e-billing platform would reject a LEDES 1998B file for, one sentence each ([] = fine).

    With `firm`, also checks the ids against the firm folder and every code against the matter's
    code set (`codesets` defaults to assistant.codes.load_codesets()).
    """
    sources: dict[str, str] = {}
    if isinstance(text_or_invoice, Invoice):
        sources = {li.line_number: li.source_id for li in text_or_invoice.lines if li.source_id}
        text = to_ledes_1998b(text_or_invoice)
    else:
        text = text_or_invoice
    if firm is not None and codesets is None:
        from .codes import load_codesets

        codesets = load_codesets()
    return _Checker(firm, codesets, sources).run(text)


class _Checker:
    def __init__(self, firm: FirmData | None, codesets, sources: dict[str, str]):
        self.firm, self.codesets, self.sources = firm, codesets, sources
        self.problems: list[str] = []
        self.unreadable_lines = 0

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def run(self, text: str) -> list[str]:
        if text.startswith("\ufeff"):
            self.add("line 1", "the file starts with a byte order mark; LEDES files are plain ASCII")
            text = text[1:]
        lines = re.split(r"\r\n|\n|\r", text)
        if lines and lines[-1] == "":
            lines.pop()  # the final line end
        if not lines or lines[0] != FORMAT_LINE:
            self.add("line 1", f"must be exactly {FORMAT_LINE}, found {(lines[0] if lines else '')[:40]!r}")
        if len(lines) < 2 or lines[1] != HEADER_LINE:
            self.add("line 2", "must be the 24 LEDES 1998B field names in the specification's order, ending in []")
            if len(lines) >= 2:
                found = lines[1].removesuffix("[]").split("|")
                for i, (want, got) in enumerate(zip(FIELDS, found), start=1):
                    if want != got:
                        self.add("line 2", f"field {i} is {got!r}, the specification has {want}")
                        break
                if len(found) != len(FIELDS):
                    self.add("line 2", f"header has {len(found)} fields, not {len(FIELDS)}")
        rows: list[tuple[int, dict[str, str]]] = []
        for n, raw in enumerate(lines[2:], start=3):
            row = self.split(n, raw)
            if row is not None:
                rows.append((n, row))
        if not rows and len(lines) >= 2:
            self.add("", "the file has no line items")
        firsts: dict[str, int] = {}
        for n, row in rows:
            firsts.setdefault(row["INVOICE_NUMBER"], n)
        for n, row in rows:
            self.check_line(n, row, first=firsts[row["INVOICE_NUMBER"]] == n)
        self.check_invoices(rows)
        return self.problems

    def where(self, n: int, row: dict[str, str]) -> str:
        src = self.sources.get(row.get("LINE_ITEM_NUMBER", ""))
        return f"line {n}" + (f" (item {row['LINE_ITEM_NUMBER']}, {src})" if src else "")

    def split(self, n: int, raw: str) -> dict[str, str] | None:
        if not raw.strip():
            self.add(f"line {n}", "is empty; every line after the header must be a line item")
            return None
        if not raw.endswith("[]"):
            self.add(f"line {n}", "does not end in [] (a line break inside a field, or a missing terminator)")
            body = raw
        else:
            body = raw[:-2]
        cells = body.split("|")
        if len(cells) != len(FIELDS):
            self.add(f"line {n}", f"has {len(cells)} fields; LEDES 1998B has exactly {len(FIELDS)}")
            self.unreadable_lines += 1
            return None
        return dict(zip(FIELDS, cells))

    # ---- one line

    def check_line(self, n: int, v: dict[str, str], *, first: bool = True) -> None:
        """One line; invoice-level fields only on the invoice's first line (the others must equal it)."""
        line_at = self.where(n, v)
        invoice_at = f"invoice {v['INVOICE_NUMBER']} (line {n})"
        fields = {k: x for k, x in v.items() if first or k not in INVOICE_FIELDS}
        for name, value in fields.items():
            at = invoice_at if name in INVOICE_FIELDS else line_at
            if value.strip().upper() == "NULL":
                self.add(at, f"{name} is the string NULL; an empty field must be empty")
            if "[" in value or "]" in value:
                self.add(at, f"{name} contains [ or ], which end a line in LEDES 1998B")
            if value != value.strip():
                self.add(at, f"{name} has leading or trailing spaces")
            bad = sorted({c for c in value if not c.isascii() or not c.isprintable()})
            if bad:
                shown = ", ".join(repr(c) for c in bad[:5])
                self.add(at, f"{name} contains characters outside printable ASCII ({shown}); LEDES 1998B is an ASCII format")
        for name in ("INVOICE_DATE", "INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "INVOICE_TOTAL",
                     "BILLING_START_DATE", "BILLING_END_DATE", "LINE_ITEM_NUMBER", "EXP/FEE/INV_ADJ_TYPE",
                     "LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_TOTAL", "LINE_ITEM_DATE", "LINE_ITEM_DESCRIPTION",
                     "LAW_FIRM_ID", "CLIENT_MATTER_ID"):
            if name in fields and not v[name].strip():
                hint = _REQUIRED_HINT.get(name, "")
                self.add(invoice_at if name in INVOICE_FIELDS else line_at, f"{name} is empty; it is required{hint}")
        for name in ("INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "LINE_ITEM_NUMBER", "TIMEKEEPER_ID",
                     "LAW_FIRM_ID", "CLIENT_MATTER_ID"):
            if name in fields and len(v[name]) > MAX_ID:
                self.add(invoice_at if name in INVOICE_FIELDS else line_at,
                         f"{name} {v[name]!r} is longer than {MAX_ID} characters")
        for name in ("LINE_ITEM_DESCRIPTION", "INVOICE_DESCRIPTION"):
            if name in fields and len(v[name]) >= MAX_DESCRIPTION:
                self.add(invoice_at if name in INVOICE_FIELDS else line_at,
                         f"{name} is {len(v[name])} characters; it must be shorter than {MAX_DESCRIPTION}")
        at = line_at
        dates = {name: self.date(invoice_at if name in INVOICE_FIELDS else line_at, name, v[name],
                                 quiet=name not in fields)
                 for name in ("INVOICE_DATE", "BILLING_START_DATE", "BILLING_END_DATE", "LINE_ITEM_DATE")}
        start, end, day = dates["BILLING_START_DATE"], dates["BILLING_END_DATE"], dates["LINE_ITEM_DATE"]
        if first and start and end and start > end:
            self.add(invoice_at, f"BILLING_START_DATE {v['BILLING_START_DATE']} is after BILLING_END_DATE {v['BILLING_END_DATE']}")
        if start and end and day and not start <= day <= end:
            self.add(at, f"LINE_ITEM_DATE {v['LINE_ITEM_DATE']} is outside the billing period"
                         f" {v['BILLING_START_DATE']}-{v['BILLING_END_DATE']}")

        kind = v["EXP/FEE/INV_ADJ_TYPE"]
        if kind and kind not in LINE_TYPES:
            self.add(at, f"EXP/FEE/INV_ADJ_TYPE is {kind!r}; it must be F, E, IF or IE")
        units = self.number(at, "LINE_ITEM_NUMBER_OF_UNITS", v["LINE_ITEM_NUMBER_OF_UNITS"], places=4)
        adjustment = self.number(at, "LINE_ITEM_ADJUSTMENT_AMOUNT", v["LINE_ITEM_ADJUSTMENT_AMOUNT"], places=4)
        total = self.number(at, "LINE_ITEM_TOTAL", v["LINE_ITEM_TOTAL"], places=2)
        unit_cost = self.number(at, "LINE_ITEM_UNIT_COST", v["LINE_ITEM_UNIT_COST"], places=4)
        if first:
            self.number(invoice_at, "INVOICE_TOTAL", v["INVOICE_TOTAL"], places=2)
        if units is not None and units < 0:
            self.add(at, f"LINE_ITEM_NUMBER_OF_UNITS is negative ({v['LINE_ITEM_NUMBER_OF_UNITS']}); put a discount"
                         " in an IF/IE line or in LINE_ITEM_ADJUSTMENT_AMOUNT")
        if unit_cost is not None and unit_cost < 0:
            self.add(at, f"LINE_ITEM_UNIT_COST is negative ({v['LINE_ITEM_UNIT_COST']})")
        if kind in ("F", "E") and not v["LINE_ITEM_UNIT_COST"].strip():
            self.add(at, f"LINE_ITEM_UNIT_COST is empty on a {kind} line")
        if units is not None and total is not None and (unit_cost is not None or not v["LINE_ITEM_UNIT_COST"].strip()):
            exact = units * (unit_cost or 0) + (adjustment or 0)
            allowed = {exact.quantize(CENT, rounding=ROUND_HALF_UP), exact.quantize(CENT, rounding=ROUND_HALF_EVEN)}
            if total not in allowed:
                self.add(at, f"LINE_ITEM_TOTAL {v['LINE_ITEM_TOTAL']} is not units x unit cost + adjustment"
                             f" ({v['LINE_ITEM_NUMBER_OF_UNITS']} x {v['LINE_ITEM_UNIT_COST'] or 0}"
                             f" + {v['LINE_ITEM_ADJUSTMENT_AMOUNT'] or 0} = {min(allowed)})")

        task, activity, expense = v["LINE_ITEM_TASK_CODE"], v["LINE_ITEM_ACTIVITY_CODE"], v["LINE_ITEM_EXPENSE_CODE"]
        for problem in code_shape_problems(task, activity, expense):
            self.add(at, problem)
        if kind == "F":
            for name in ("TIMEKEEPER_ID", "TIMEKEEPER_NAME", "TIMEKEEPER_CLASSIFICATION"):
                if not v[name].strip():
                    self.add(at, f"{name} is empty on a fee line")
            if expense:
                self.add(at, f"a fee line carries the expense code {expense}")
        if kind in ("F", "IF", "IE") or v["TIMEKEEPER_NAME"]:
            name = v["TIMEKEEPER_NAME"]
            if name and not re.fullmatch(r"[^,]+, [^,]+(, [^,]+)?", name):
                self.add(at, f"TIMEKEEPER_NAME {name!r} is not 'Last, First'")
        cls = v["TIMEKEEPER_CLASSIFICATION"]
        if cls and cls not in _KNOWN_CLASSIFICATIONS:
            self.add(at, f"TIMEKEEPER_CLASSIFICATION {cls!r} is not a LEDES classification"
                         f" ({', '.join(CLASSIFICATIONS_SHORT)} or a LOC code such as PARTNR)")
        if kind in ("E", "IE") and not expense:
            self.add(at, f"an {'expense' if kind == 'E' else 'expense adjustment'} line without an"
                         " E-code in LINE_ITEM_EXPENSE_CODE")
        if kind == "E" and activity:
            self.add(at, f"an expense line carries the activity code {activity}")
        if self.firm is not None:
            self.check_against_firm(line_at, invoice_at if first else "", v)

    def check_against_firm(self, at: str, invoice_at: str, v: dict[str, str]) -> None:
        """`invoice_at` is empty except on an invoice's first line, where the invoice-level ids are checked."""
        firm = self.firm
        matter = firm.matter(v["LAW_FIRM_MATTER_ID"])
        if invoice_at and v["LAW_FIRM_ID"] != firm.firm.law_firm_id:
            self.add(invoice_at, f"LAW_FIRM_ID {v['LAW_FIRM_ID']!r} is not the firm's {firm.firm.law_firm_id!r}")
        if matter is None:
            if invoice_at:
                self.add(invoice_at, f"LAW_FIRM_MATTER_ID {v['LAW_FIRM_MATTER_ID']!r} is not a matter in matters.csv")
            return
        client = firm.client(matter.client_id)
        if invoice_at and client and v["CLIENT_ID"] != client.ledes_client_id:
            self.add(invoice_at, f"CLIENT_ID {v['CLIENT_ID']!r} is not client {client.client_id}'s LEDES id"
                                 f" {client.ledes_client_id!r}")
        if invoice_at and v["CLIENT_MATTER_ID"] != matter.client_matter_id:
            self.add(invoice_at, f"CLIENT_MATTER_ID {v['CLIENT_MATTER_ID']!r} is not matter {matter.matter_id}'s"
                                 f" {matter.client_matter_id!r} (matters.csv client_matter_id)")
        tk_id = v["TIMEKEEPER_ID"]
        if tk_id and firm.timekeeper(tk_id) is None:
            self.add(at, f"TIMEKEEPER_ID {tk_id!r} is not in timekeepers.csv")
        self.check_codes(at, v, matter)

    def check_codes(self, at: str, v: dict[str, str], matter: Matter) -> None:
        cs = matter.code_set
        for kind, name in (("task", "LINE_ITEM_TASK_CODE"), ("activity", "LINE_ITEM_ACTIVITY_CODE")):
            code = v[name]
            if not code:
                continue
            if cs == "none":
                self.add(at, f"{name} {code} is given, but matter {matter.matter_id} uses no code set")
            elif not self.codesets.is_valid(cs, code, kind):
                self.add(at, f"{name} {code} is not a {kind} code of the {cs} code set that matter"
                             f" {matter.matter_id} uses")
        code = v["LINE_ITEM_EXPENSE_CODE"]
        if code and not self.expense_code_ok(cs, code):
            self.add(at, f"LINE_ITEM_EXPENSE_CODE {code} is not a UTBMS expense code")

    def expense_code_ok(self, cs: str, code: str) -> bool:
        # The UTBMS expense codes are one list shared by every code set.
        names = ([cs] if cs != "none" else []) + [n for n in CODE_SET_NAMES if n != cs]
        for name in names:
            try:
                if self.codesets.is_valid(name, code, "expense"):
                    return True
            except (KeyError, ValueError):
                continue
        return False

    # ---- across lines

    def check_invoices(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        by_invoice: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for n, v in rows:
            by_invoice.setdefault(v["INVOICE_NUMBER"], []).append((n, v))
        for number, items in by_invoice.items():
            label = f"invoice {number}"
            first_n, first = items[0]
            for n, v in items[1:]:
                for name in INVOICE_FIELDS:
                    if v[name] != first[name]:
                        self.add(self.where(n, v), f"{name} {v[name]!r} differs from line {first_n}'s"
                                                   f" {first[name]!r}; it must be the same on every line of {label}")
            seen: dict[str, int] = {}
            for n, v in items:
                key = v["LINE_ITEM_NUMBER"]
                if key in seen:
                    self.add(f"line {n}", f"LINE_ITEM_NUMBER {key} repeats line {seen[key]}'s in {label}")
                else:
                    seen[key] = n
            people: dict[str, tuple[int, str, str]] = {}
            for n, v in items:
                tk = v["TIMEKEEPER_ID"]
                if not tk:
                    continue
                who = (n, v["TIMEKEEPER_NAME"], v["TIMEKEEPER_CLASSIFICATION"])
                first_seen = people.setdefault(tk, who)
                if who[1:] != first_seen[1:]:
                    self.add(self.where(n, v), f"TIMEKEEPER_ID {tk} is {who[1]!r} ({who[2]}) here but"
                                               f" {first_seen[1]!r} ({first_seen[2]}) on line {first_seen[0]}")
            totals = [_quiet_decimal(v["LINE_ITEM_TOTAL"]) for _, v in items]
            stated = _quiet_decimal(first["INVOICE_TOTAL"])
            if stated is not None and all(t is not None for t in totals) and not self.unreadable_lines:
                computed = sum(totals, Decimal("0"))
                if computed != stated:
                    self.add(label, f"INVOICE_TOTAL {first['INVOICE_TOTAL']} is not the sum of its"
                                    f" LINE_ITEM_TOTALs ({computed:f})")

    # ---- values

    def date(self, at: str, name: str, value: str, *, quiet: bool = False) -> dt.date | None:
        if not value:
            return None
        if not re.fullmatch(r"\d{8}", value):
            if not quiet:
                self.add(at, f"{name} {value!r} is not a date in YYYYMMDD form")
            return None
        try:
            return dt.datetime.strptime(value, "%Y%m%d").date()
        except ValueError:
            if not quiet:
                self.add(at, f"{name} {value!r} is not a real date")
            return None

    def number(self, at: str, name: str, value: str, *, places: int) -> Decimal | None:
        if not value:
            return None
        if not _NUMBER.fullmatch(value):
            self.add(at, f"{name} {value!r} is not a number")
            return None
        d = Decimal(value)
        if -d.as_tuple().exponent > places:
            self.add(at, f"{name} {value} has more than {places} decimals")
        return d


_REQUIRED_HINT = {
    "CLIENT_MATTER_ID": " (e-billing platforms file the invoice under the client's matter id: set client_matter_id"
                        " in matters.csv)",
    "CLIENT_ID": " (set ledes_client_id in clients.csv)",
    "LAW_FIRM_ID": " (set law_firm_id in firm.toml)",
}


def _quiet_decimal(value: str) -> Decimal | None:
    return Decimal(value) if _NUMBER.fullmatch(value or "") else None
