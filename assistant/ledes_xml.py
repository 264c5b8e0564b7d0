"""LEDES XML E-Billing 2.1: write an invoice built by `assistant.ledes.build_invoice`, and check such a file.

What the stored public sources show, and this module follows (checked 2026-11-24):

- "The @FIRM segment includes the @CLIENT segment" and each file begins with @FIRM (Mitratech
  Collaborati, "LEDES XML 2.1 Format"); client > invoice > matter > (matter_disc_cred, tksum, fee,
  expense) nest as in the vendor writer named below. @FIRM's own fields in order: lf_vendor_id (named
  lf_office_id in later 2.1.x revisions), lf_id, lf_name, lf_address, lf_remit_address,
  lf_billing_contact, source_app, app_version, firm_URL, file_item_nbr (same page; lf_vendor_id as the
  2.1 name: LOC "LEDES Comparison List v2.0").
- `file_item_nbr` is a unique integer, "the item count of this data element in the invoice file", and is
  the last field of its item (Collaborati; Thomson Reuters Legal Tracker, "LEDES XML invoice posting
  errors"). Nested segments follow it.
- An address element (lf_address) holds the address fields as its direct children (Legal Tracker,
  @ADDRESS_INFO).
- @FEE and @EXPENSE carry charge_desc and task_code; fees task_activity, expenses expense_code (LOC
  survey on the 2022 XML revisions, which names @FEE.charge_desc, @FEE.task_code, @FEE.task_activity,
  @EXPENSE.charge_desc, @EXPENSE.task_code, @EXPENSE.expense_code). LEDES 2000's acca_task/acca_activity
  are not used.
- Element names and their order inside client, invoice, matter, matter_disc_cred, tksum, fee and expense,
  the YYYY-MM-DD dates, the MIA (fixed matter/invoice adjustment) discount with increase_decrease
  "Decrease" and a negative disc_cred_amount, and the root element `ledesxmlebilling2.2` in namespace
  http://www.ledes.org/LEDES22.xsd: one vendor's LEDES XML 2.2 writer (TOTVS SIGAPFS, LEDES22.prw).

Not verified (no stored copy of the LEDES 2.1 XSD or of the LOC 2.1 format document):
- the root `ledesxmlebilling2.1` and namespace http://www.ledes.org/LEDES21.xsd (by analogy with 2.2);
- the exact order of the fields inside client, invoice, matter, tksum, fee and expense, and which of them
  the XSD requires (the vendor's order for 2.2 is followed; 2.1 is said to be 2.2 minus tiered taxes);
- `tksum` as the element name (the vendor's comment names the segment @TKSUM, but it writes `tk_sum`);
- the sign convention of matter_disc_credit_fees (written as the signed sum of the matter's fee
  adjustments, so that matter_net_fees = matter_total_detail_fees + matter_disc_credit_fees);
- address_2/address_3 (firm.toml's `address` lines are written in order as address_1..address_3);
- a flat fee as one @FEE item without a timekeeper (units 1, rate = the fee);
- tk_rate written as the rate billed to that timekeeper on this invoice (their first fee item's rate).
Taxes, contacts, remit address, inv_due_date and inv_payment_terms are omitted (optional, or unknown here).

`xml_problems` parses the text on its own with its own table of segments (it does not use the writer),
so a writer bug cannot hide from it.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from . import __version__
from .ledes import CENT, CODE_SET_NAMES, Invoice, LineItem, code_shape_problems, short_classification
from .models import CLASSIFICATION_LOC_TO_SHORT, CLASSIFICATIONS_SHORT, FirmData

__all__ = ["NAMESPACE", "ROOT", "to_ledes_xml_21", "xml_problems"]

ROOT = "ledesxmlebilling2.1"
NAMESPACE = "http://www.ledes.org/LEDES21.xsd"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
SOURCE_APP = "Tenths"

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------- write


def to_ledes_xml_21(invoice: Invoice, firm: FirmData) -> str:
    """The invoice as a LEDES XML 2.1 document (UTF-8, with the XML declaration). See the module docstring."""
    items = _Counter()
    root = ET.Element(ROOT, {"xmlns": NAMESPACE})
    f = ET.SubElement(root, "firm")
    _text(f, "lf_vendor_id", invoice.law_firm_id)
    _text(f, "lf_id", invoice.law_firm_id)
    _text(f, "lf_name", firm.firm.name)
    lines = [line for line in firm.firm.address if _clean(line)][:3]
    if lines:
        address = ET.SubElement(f, "lf_address")
        for n, line in enumerate(lines, start=1):
            _text(address, f"address_{n}", line)
    _text(f, "source_app", SOURCE_APP)
    _text(f, "app_version", __version__)
    items.stamp(f)

    matter = firm.matter(invoice.law_firm_matter_id)
    client_rec = firm.client(matter.client_id) if matter else None
    c = ET.SubElement(f, "client")
    _text(c, "cl_id", invoice.client_id)
    if client_rec is not None:
        _text(c, "cl_lf_id", client_rec.client_id)
        _text(c, "cl_name", client_rec.name)
    items.stamp(c)

    inv = ET.SubElement(c, "invoice")
    _text(inv, "inv_id", invoice.invoice_number)
    _text(inv, "inv_date", invoice.invoice_date.isoformat())
    _text(inv, "inv_currency", firm.firm.currency)
    _text(inv, "inv_start_date", invoice.billing_start.isoformat())
    _text(inv, "inv_end_date", invoice.billing_end.isoformat())
    _text(inv, "inv_desc", invoice.description)
    _text(inv, "inv_total_net_due", _money(invoice.total))
    items.stamp(inv)

    fees = [li for li in invoice.lines if li.type == "F" or (li.type == "IF" and li.total >= 0)]
    costs = [li for li in invoice.lines if li.type == "E" or (li.type == "IE" and li.total >= 0)]
    adjustments = [li for li in invoice.lines if li.type in ("IF", "IE") and li.total < 0]
    detail_fees = sum((li.total for li in fees), Decimal("0"))
    detail_exp = sum((li.total for li in costs), Decimal("0"))
    adj_fees = sum((li.total for li in adjustments if li.type == "IF"), Decimal("0"))
    adj_exp = sum((li.total for li in adjustments if li.type == "IE"), Decimal("0"))

    m = ET.SubElement(inv, "matter")
    if invoice.client_matter_id:
        _text(m, "cl_matter_id", invoice.client_matter_id)
    _text(m, "lf_matter_id", invoice.law_firm_matter_id)
    _text(m, "matter_name", matter.name if matter else invoice.description)
    _text(m, "matter_final_bill", "Y" if matter is not None and matter.status == "closed" else "N")
    _text(m, "matter_total_detail_fees", _money(detail_fees))
    _text(m, "matter_total_detail_exp", _money(detail_exp))
    _text(m, "matter_disc_credit_fees", _money(adj_fees))
    _text(m, "matter_disc_credit_exp", _money(adj_exp))
    _text(m, "matter_net_fees", _money(detail_fees + adj_fees))
    _text(m, "matter_net_exp", _money(detail_exp + adj_exp))
    _text(m, "matter_total_due", _money(detail_fees + adj_fees + detail_exp + adj_exp))
    items.stamp(m)

    for li in adjustments:
        d = ET.SubElement(m, "matter_disc_cred")
        _text(d, "disc_cred", "MIA")
        _text(d, "disc_cred_category", "Fee" if li.type == "IF" else "Exp")
        _text(d, "increase_decrease", "Decrease")
        _text(d, "disc_cred_amount", _money(li.total))
        items.stamp(d)

    seen: dict[str, LineItem] = {}
    for li in fees:
        if li.timekeeper_id and li.timekeeper_id not in seen:
            seen[li.timekeeper_id] = li
    for tk_id, li in seen.items():
        tk = firm.timekeeper(tk_id)
        first, last = _split_name(tk.name if tk else li.timekeeper_name)
        t = ET.SubElement(m, "tksum")
        _text(t, "tk_id", tk_id)
        _text(t, "tk_lname", last)
        _text(t, "tk_fname", first)
        _text(t, "tk_level", li.timekeeper_classification or (short_classification(tk.classification) if tk else ""))
        _text(t, "tk_rate", _number(li.unit_cost if li.unit_cost is not None else tk.rate if tk else Decimal("0")))
        items.stamp(t)

    for li in fees:
        e = ET.SubElement(m, "fee")
        _text(e, "charge_date", li.date.isoformat())
        if li.timekeeper_id:
            _text(e, "tk_id", li.timekeeper_id)
            _text(e, "tk_level", li.timekeeper_classification)
        _text(e, "charge_desc", li.description)
        if li.task_code:
            _text(e, "task_code", li.task_code)
        if li.activity_code:
            _text(e, "task_activity", li.activity_code)
        _item_amounts(e, li)
        items.stamp(e)

    for li in costs:
        e = ET.SubElement(m, "expense")
        _text(e, "charge_date", li.date.isoformat())
        _text(e, "charge_desc", li.description)
        if li.expense_code:
            _text(e, "expense_code", li.expense_code)
        _item_amounts(e, li)
        items.stamp(e)

    ET.indent(root, space="  ")
    return DECLARATION + "\n" + ET.tostring(root, encoding="unicode") + "\n"


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def stamp(self, element: ET.Element) -> None:
        self.n += 1
        _text(element, "file_item_nbr", str(self.n))


def _item_amounts(e: ET.Element, li: LineItem) -> None:
    """units, rate, base_amount = units x rate, total_amount. A flat fee or IE line: 1 x its amount."""
    if li.unit_cost is None:
        units, rate = Decimal("1"), li.total
    else:
        units, rate = li.units, li.unit_cost
    _text(e, "units", _number(units))
    _text(e, "rate", _number(rate))
    _text(e, "base_amount", _money(units * rate))
    _text(e, "total_amount", _money(li.total))


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = _clean(value)
    return child


def _clean(value: str) -> str:
    """One line of text XML can carry: no control characters, whitespace runs as one space."""
    return " ".join(_NOT_XML.sub(" ", str(value)).split())


def _split_name(name: str) -> tuple[str, str]:
    """'First Middle Last' -> ('First Middle', 'Last'), as Timekeeper.ledes_name splits it."""
    parts = name.split()
    if len(parts) < 2:
        return name, name
    return " ".join(parts[:-1]), parts[-1]


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def _number(value: Decimal) -> str:
    """At least 2 decimals, up to 4 when the value needs them (0.125 h, a 333.3333 rate)."""
    q = value.quantize(CENT)
    if q == value:
        return f"{q:f}"
    return f"{value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP).normalize():f}"


# --------------------------------------------------------------------------- check

# The checker's own table: for each segment, its fields in order, (name, required, kind).
# kind: "text", "id", "date", "money", "number", "int", or "seg" (a nested segment, repeatable).
_SEGMENTS: dict[str, list[tuple[str, bool, str]]] = {
    ROOT: [("firm", True, "seg")],
    "firm": [("lf_vendor_id", True, "id"), ("lf_id", False, "id"), ("lf_name", True, "text"),
             ("lf_address", False, "seg"), ("source_app", False, "text"), ("app_version", False, "text"),
             ("file_item_nbr", True, "int"), ("client", True, "seg")],
    "lf_address": [("address_1", True, "text"), ("address_2", False, "text"), ("address_3", False, "text")],
    "client": [("cl_id", True, "id"), ("cl_lf_id", False, "id"), ("cl_name", False, "text"),
               ("file_item_nbr", True, "int"), ("invoice", True, "seg")],
    "invoice": [("inv_id", True, "id"), ("inv_date", True, "date"), ("inv_due_date", False, "date"),
                ("inv_currency", True, "text"), ("inv_start_date", True, "date"), ("inv_end_date", True, "date"),
                ("inv_desc", False, "text"), ("inv_total_net_due", True, "money"), ("file_item_nbr", True, "int"),
                ("matter", True, "seg")],
    "matter": [("cl_matter_id", False, "id"), ("lf_matter_id", True, "id"), ("matter_name", True, "text"),
               ("matter_final_bill", True, "text"), ("matter_total_detail_fees", True, "money"),
               ("matter_total_detail_exp", True, "money"), ("matter_disc_credit_fees", True, "money"),
               ("matter_disc_credit_exp", True, "money"), ("matter_net_fees", True, "money"),
               ("matter_net_exp", True, "money"), ("matter_total_due", True, "money"), ("file_item_nbr", True, "int"),
               ("matter_disc_cred", False, "seg"), ("tksum", False, "seg"), ("fee", False, "seg"),
               ("expense", False, "seg")],
    "matter_disc_cred": [("disc_cred", True, "text"), ("disc_cred_category", True, "text"),
                         ("increase_decrease", True, "text"),
                         ("disc_cred_amount", True, "money"), ("file_item_nbr", True, "int")],
    "tksum": [("tk_id", True, "id"), ("tk_lname", True, "text"), ("tk_fname", True, "text"),
              ("tk_level", True, "text"), ("tk_rate", True, "number"), ("file_item_nbr", True, "int")],
    "fee": [("charge_date", True, "date"), ("tk_id", False, "id"), ("tk_level", False, "text"),
            ("charge_desc", True, "text"), ("task_code", False, "text"), ("task_activity", False, "text"),
            ("units", True, "number"), ("rate", True, "number"), ("base_amount", True, "money"),
            ("total_amount", True, "money"), ("file_item_nbr", True, "int")],
    "expense": [("charge_date", True, "date"), ("charge_desc", True, "text"), ("expense_code", True, "text"),
                ("units", True, "number"), ("rate", True, "number"), ("base_amount", True, "money"),
                ("total_amount", True, "money"), ("file_item_nbr", True, "int")],
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DEC = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_LEVELS = set(CLASSIFICATIONS_SHORT) | set(CLASSIFICATION_LOC_TO_SHORT)
_ZERO = Decimal("0")


def xml_problems(text: str | bytes, firm: FirmData | None = None, *, codesets=None) -> list[str]:
    """Everything structurally wrong with a LEDES XML 2.1 document, one sentence each ([] = fine).

    Parses the text, checks each segment's fields (required, known, in order), dates, numbers and the
    arithmetic: base_amount = units x rate, total_amount = base_amount, the matter's totals, and
    inv_total_net_due = the sum of its matters' totals due. Fee timekeepers must be in the matter's
    tksum. With `firm`, ids are checked against the firm folder and codes against the matter's code set.
    """
    if firm is not None and codesets is None:
        from .codes import load_codesets

        codesets = load_codesets()
    return _XmlChecker(firm, codesets).run(text)


class _XmlChecker:
    def __init__(self, firm: FirmData | None, codesets) -> None:
        self.firm, self.codesets = firm, codesets
        self.problems: list[str] = []
        self.item_numbers: dict[str, str] = {}

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def run(self, text: str | bytes) -> list[str]:
        raw = text.encode("utf-8") if isinstance(text, str) else text
        declaration = re.match(rb"<\?xml[^>]*\?>", raw.removeprefix(b"\xef\xbb\xbf"))
        if declaration is None:
            self.add("", "the document does not start with an XML declaration")
        elif not re.search(rb"encoding=[\"']utf-8[\"']", declaration.group(0), flags=re.IGNORECASE):
            self.add("", "the XML declaration does not say encoding=\"UTF-8\"")
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            self.add("", f"not well-formed XML ({e})")
            return self.problems
        ns, tag = _split_tag(root.tag)
        if tag != ROOT:
            self.add("", f"the root element is <{tag}>, not <{ROOT}>")
            return self.problems
        if ns != NAMESPACE:
            self.add(ROOT, f"namespace is {ns or 'missing'!r}, not {NAMESPACE!r}")
        self.segment(root, ROOT, ROOT)
        for firm_el in _children(root, "firm"):
            for client in _children(firm_el, "client"):
                for invoice in _children(client, "invoice"):
                    self.check_invoice(firm_el, client, invoice)
        return self.problems

    # ---- structure

    def segment(self, el: ET.Element, name: str, where: str) -> None:
        fields = _SEGMENTS[name]
        order = {field: i for i, (field, _, _) in enumerate(fields)}
        kinds = {field: kind for field, _, kind in fields}
        last = -1
        seen: dict[str, int] = {}
        for child in el:
            _, tag = _split_tag(child.tag)
            if tag not in order:
                self.add(where, f"<{tag}> is not a field of {name}")
                continue
            seen[tag] = seen.get(tag, 0) + 1
            if kinds[tag] != "seg" and seen[tag] > 1:
                self.add(where, f"<{tag}> appears {seen[tag]} times")
            if order[tag] < last:
                self.add(where, f"<{tag}> is out of order in {name}")
            last = max(last, order[tag])
            if kinds[tag] == "seg":
                label = self.label(child, tag, where)
                self.segment(child, tag, label)
            else:
                self.value(where, tag, child, kinds[tag])
        for field, required, _ in fields:
            if required and field not in seen:
                self.add(where, f"<{field}> is missing")

    def label(self, el: ET.Element, tag: str, parent: str) -> str:
        nbr = _field(el, "file_item_nbr")
        return f"{tag} (item {nbr})" if nbr else f"{tag} in {parent}"

    def value(self, where: str, tag: str, el: ET.Element, kind: str) -> None:
        text = el.text or ""
        if len(el):
            self.add(where, f"<{tag}> must hold text, not elements")
        if not text.strip():
            self.add(where, f"<{tag}> is empty")
            return
        if text != text.strip():
            self.add(where, f"<{tag}> has leading or trailing spaces")
        if kind == "date" and _date(text) is None:
            self.add(where, f"<{tag}> {text!r} is not a real date in YYYY-MM-DD form")
        elif kind in ("money", "number"):
            d = _dec(text)
            if d is None:
                self.add(where, f"<{tag}> {text!r} is not a number")
            elif -d.as_tuple().exponent > (2 if kind == "money" else 4):
                self.add(where, f"<{tag}> {text} has more than {2 if kind == 'money' else 4} decimals")
        elif kind == "int":
            if not text.isdigit() or int(text) < 1:
                self.add(where, f"<{tag}> {text!r} is not a positive whole number")
            elif text in self.item_numbers:
                self.add(where, f"file_item_nbr {text} repeats {self.item_numbers[text]}'s")
            else:
                self.item_numbers[text] = where

    # ---- meaning

    def check_invoice(self, firm_el: ET.Element, client: ET.Element, invoice: ET.Element) -> None:
        at = f"invoice {_field(invoice, 'inv_id')}"
        start, end = _date(_field(invoice, "inv_start_date")), _date(_field(invoice, "inv_end_date"))
        if start and end and start > end:
            self.add(at, "inv_start_date is after inv_end_date")
        currency = _field(invoice, "inv_currency")
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            self.add(at, f"inv_currency {currency!r} is not an ISO 4217 code")
        due_total = _ZERO
        dues_ok = True
        for matter in _children(invoice, "matter"):
            due = self.check_matter(at, matter, start, end)
            if due is None:
                dues_ok = False
            else:
                due_total += due
        stated = _dec(_field(invoice, "inv_total_net_due"))
        if stated is not None and dues_ok and stated != due_total:
            self.add(at, f"inv_total_net_due {stated:f} is not the sum of its matters' matter_total_due"
                         f" ({due_total:f})")
        if self.firm is not None:
            self.check_ids(at, firm_el, client, invoice)

    def check_matter(self, inv_at: str, m: ET.Element, start, end) -> Decimal | None:
        at = f"{inv_at}, matter {_field(m, 'lf_matter_id')}"
        final = _field(m, "matter_final_bill")
        if final and final not in ("Y", "N"):
            self.add(at, f"matter_final_bill is {final!r}, not Y or N")
        ok = True
        tks: dict[str, ET.Element] = {}
        for t in _children(m, "tksum"):
            tk = _field(t, "tk_id")
            if tk in tks:
                self.add(at, f"tksum of {tk} appears twice")
            tks[tk] = t
            level = _field(t, "tk_level")
            if level and level not in _LEVELS:
                self.add(at, f"tksum {tk}: tk_level {level!r} is not a LEDES timekeeper classification")
            rate = _dec(_field(t, "tk_rate"))
            if rate is not None and rate < 0:
                self.add(at, f"tksum {tk}: tk_rate is negative")
        fees, exp = _ZERO, _ZERO
        matter_id = _field(m, "lf_matter_id")
        for kind in ("fee", "expense"):
            for e in _children(m, kind):
                total = self.check_item(at, kind, e, tks, start, end, matter_id)
                if total is None:
                    ok = False
                elif kind == "fee":
                    fees += total
                else:
                    exp += total
        adj = {"Fee": _ZERO, "Exp": _ZERO}
        for d in _children(m, "matter_disc_cred"):
            amount = _dec(_field(d, "disc_cred_amount"))
            category = _field(d, "disc_cred_category")
            direction = _field(d, "increase_decrease")
            if category not in adj:
                self.add(at, f"matter_disc_cred: disc_cred_category is {category!r}, not Fee or Exp")
                ok = False
                continue
            if direction not in ("Increase", "Decrease"):
                self.add(at, f"matter_disc_cred: increase_decrease is {direction!r}, not Increase or Decrease")
            if amount is None:
                ok = False
                continue
            if (direction == "Decrease" and amount > 0) or (direction == "Increase" and amount < 0):
                self.add(at, f"matter_disc_cred: a {direction.lower()} of {amount:f} has the wrong sign")
            adj[category] += amount
        got = {name: _dec(_field(m, name)) for name in (
            "matter_total_detail_fees", "matter_total_detail_exp", "matter_disc_credit_fees",
            "matter_disc_credit_exp", "matter_net_fees", "matter_net_exp", "matter_total_due")}
        if any(v is None for v in got.values()):
            return None
        if ok:
            want = {"matter_total_detail_fees": fees, "matter_total_detail_exp": exp,
                    "matter_disc_credit_fees": adj["Fee"], "matter_disc_credit_exp": adj["Exp"]}
            for name, value in want.items():
                if got[name] != value:
                    self.add(at, f"{name} {got[name]:f} is not the sum of its items ({value:f})")
        if got["matter_net_fees"] != got["matter_total_detail_fees"] + got["matter_disc_credit_fees"]:
            self.add(at, "matter_net_fees is not matter_total_detail_fees + matter_disc_credit_fees")
        if got["matter_net_exp"] != got["matter_total_detail_exp"] + got["matter_disc_credit_exp"]:
            self.add(at, "matter_net_exp is not matter_total_detail_exp + matter_disc_credit_exp")
        if got["matter_total_due"] != got["matter_net_fees"] + got["matter_net_exp"]:
            self.add(at, "matter_total_due is not matter_net_fees + matter_net_exp")
        if self.firm is not None:
            self.check_codes(at, m, matter_id)
        return got["matter_total_due"]

    def check_item(self, at: str, kind: str, e: ET.Element, tks: dict, start, end, matter_id: str) -> Decimal | None:
        where = f"{at}, {kind} item {_field(e, 'file_item_nbr') or '?'}"
        day = _date(_field(e, "charge_date"))
        if day and start and end and not start <= day <= end:
            self.add(where, f"charge_date {day} is outside the invoice period {start} to {end}")
        units, rate = _dec(_field(e, "units")), _dec(_field(e, "rate"))
        base, total = _dec(_field(e, "base_amount")), _dec(_field(e, "total_amount"))
        if units is not None and units < 0:
            self.add(where, "units is negative; a discount is a matter_disc_cred")
        if rate is not None and rate < 0:
            self.add(where, "rate is negative")
        if units is not None and rate is not None and base is not None:
            exact = units * rate
            allowed = {exact.quantize(CENT, rounding=ROUND_HALF_UP), exact.quantize(CENT, rounding=ROUND_HALF_EVEN)}
            if base not in allowed:
                self.add(where, f"base_amount {base:f} is not units x rate ({units:f} x {rate:f} = {min(allowed):f})")
        if base is not None and total is not None and total != base:
            self.add(where, f"total_amount {total:f} is not base_amount {base:f}")
        tk = _field(e, "tk_id")
        if kind == "fee" and tk and tk not in tks:
            self.add(where, f"tk_id {tk!r} has no tksum in matter {matter_id}")
        if kind == "fee" and tk and tk in tks and _field(e, "tk_level") not in ("", _field(tks[tk], "tk_level")):
            self.add(where, f"tk_level {_field(e, 'tk_level')!r} differs from tksum {tk}'s")
        task, activity, expense = _field(e, "task_code"), _field(e, "task_activity"), _field(e, "expense_code")
        for problem in code_shape_problems(task, activity, expense,
                                           names=("task_code", "task_activity", "expense_code")):
            self.add(where, problem)
        return total

    def check_codes(self, at: str, m: ET.Element, matter_id: str) -> None:
        matter = self.firm.matter(matter_id)
        if matter is None:
            return
        cs = matter.code_set
        for kind in ("fee", "expense"):
            for e in _children(m, kind):
                where = f"{at}, {kind} item {_field(e, 'file_item_nbr') or '?'}"
                for name, code_kind in (("task_code", "task"), ("task_activity", "activity")):
                    code = _field(e, name)
                    if not code:
                        continue
                    if cs == "none":
                        self.add(where, f"{name} {code} is given, but matter {matter_id} uses no code set")
                    elif not self.codesets.is_valid(cs, code, code_kind):
                        self.add(where, f"{name} {code} is not a {code_kind} code of the {cs} code set that"
                                        f" matter {matter_id} uses")
                code = _field(e, "expense_code")
                if code and not any(self._expense_ok(n, code) for n in CODE_SET_NAMES):
                    self.add(where, f"expense_code {code} is not a UTBMS expense code")
                tk = _field(e, "tk_id")
                if tk and self.firm.timekeeper(tk) is None:
                    self.add(where, f"tk_id {tk!r} is not in timekeepers.csv")

    def _expense_ok(self, name: str, code: str) -> bool:
        try:
            return self.codesets.is_valid(name, code, "expense")
        except (KeyError, ValueError):
            return False

    def check_ids(self, at: str, firm_el: ET.Element, client: ET.Element, invoice: ET.Element) -> None:
        firm = self.firm
        vendor = _field(firm_el, "lf_vendor_id")
        if vendor and vendor != firm.firm.law_firm_id:
            self.add(at, f"lf_vendor_id {vendor!r} is not the firm's law_firm_id {firm.firm.law_firm_id!r}")
        for m in _children(invoice, "matter"):
            matter_id = _field(m, "lf_matter_id")
            matter = firm.matter(matter_id)
            if matter is None:
                self.add(at, f"lf_matter_id {matter_id!r} is not a matter in matters.csv")
                continue
            rec = firm.client(matter.client_id)
            if rec is not None and _field(client, "cl_id") != rec.ledes_client_id:
                self.add(at, f"cl_id {_field(client, 'cl_id')!r} is not client {rec.client_id}'s LEDES id"
                             f" {rec.ledes_client_id!r}")
            if _field(m, "cl_matter_id") != matter.client_matter_id:
                self.add(at, f"cl_matter_id {_field(m, 'cl_matter_id')!r} is not matter {matter_id}'s"
                             f" {matter.client_matter_id!r} (matters.csv client_matter_id)")


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _split_tag(c.tag)[1] == name]


def _field(el: ET.Element, name: str) -> str:
    for c in el:
        if _split_tag(c.tag)[1] == name:
            return (c.text or "").strip()
    return ""


def _date(value: str) -> dt.date | None:
    if not _DATE.fullmatch(value or ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _dec(value: str) -> Decimal | None:
    return Decimal(value) if _DEC.fullmatch(value or "") else None
