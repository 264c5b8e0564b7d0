"""Invoice cover letters and client status reports, written from facts only and checked against them.

A `LetterBrief` holds every fact a letter may state (firm, recipient, matter, invoice figures, the
work by UTBMS phase, hours and fees, upcoming events). The offline letter is the brief poured into
an editable Markdown template (`templates/letters/<kind>.md`, or the firm folder's own copy). An
engine may rewrite it (`engine.write_letter`), but `letter_problems` then checks every number,
amount, date, identifier and person's name in the answer against the brief, and a letter that
states anything else is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterable, Literal

from pydantic import BaseModel, Field

from .errors import RefusedError
from .ledes import Invoice
from .models import FirmData, Matter, Model, Period, TimeEntry

__all__ = [
    "LetterBrief", "PhaseWork", "TimekeeperWork", "InvoiceFacts", "UpcomingEvent", "TEMPLATES_DIR",
    "cover_brief", "status_brief", "load_template", "render_letter", "write_letter", "letter_problems",
    "letter_docx",
]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "letters"
LetterKind = Literal["cover", "status"]
TITLES = {"PT": "Partner", "AS": "Associate", "OC": "Of Counsel", "PL": "Paralegal", "LA": "Legal Assistant"}
ITEMS_PER_PHASE = 4


class PhaseWork(Model):
    """The work of one UTBMS phase (L300 Discovery, ...) in the period."""

    code: str
    """The phase code, e.g. L300; empty for work without a task code."""
    name: str
    hours: Decimal
    fees: Decimal | None = None
    items: list[str] = Field(default_factory=list)
    """The phase's distinct narratives, most time first (at most a few)."""
    more: int = 0
    """How many further distinct narratives are not listed."""
    dates: list[dt.date] = Field(default_factory=list)


class TimekeeperWork(Model):
    name: str
    title: str
    hours: Decimal
    rate: Decimal | None = None
    fees: Decimal | None = None


class InvoiceFacts(Model):
    number: str
    date: dt.date
    total: Decimal
    fees: Decimal
    expenses: Decimal
    hours: Decimal


class UpcomingEvent(Model):
    date: dt.date
    title: str
    time: str = ""
    """Local start time as written in the letter, e.g. "10:00 a.m."; empty for all-day."""


class LetterBrief(Model):
    """Every fact a letter may state; nothing else may appear in it."""

    kind: LetterKind
    letter_date: dt.date
    firm_name: str
    firm_address: list[str] = Field(default_factory=list)
    payment_terms: str = ""
    payment_link: str = ""
    client_name: str
    recipient_name: str
    recipient_email: str = ""
    matter_id: str
    matter_name: str
    client_matter_id: str = ""
    billing_type: str = "hourly"
    period_start: dt.date
    period_end: dt.date
    invoice: InvoiceFacts | None = None
    work: list[PhaseWork] = Field(default_factory=list)
    timekeepers: list[TimekeeperWork] = Field(default_factory=list)
    period_hours: Decimal = Decimal("0")
    period_fees: Decimal | None = None
    hours_to_date: Decimal = Decimal("0")
    fees_to_date: Decimal | None = None
    upcoming: list[UpcomingEvent] = Field(default_factory=list)
    signer_name: str
    signer_title: str = ""


# --------------------------------------------------------------------------- briefs


def cover_brief(firm: FirmData, matter_id: str, invoice: Invoice, entries: list[TimeEntry]) -> LetterBrief:
    """The facts of a cover letter: the invoice's figures and the work it bills."""
    period = Period(start=invoice.billing_start, end=invoice.billing_end)
    brief = _base(firm, matter_id, "cover", invoice.invoice_date, period, entries)
    brief.invoice = InvoiceFacts(number=invoice.invoice_number, date=invoice.invoice_date, total=invoice.total,
                                 fees=invoice.fees, expenses=invoice.expenses, hours=invoice.hours)
    return brief


def status_brief(firm: FirmData, matter_id: str, entries: list[TimeEntry], period: Period, today: dt.date,
                 upcoming: Iterable[UpcomingEvent] = ()) -> LetterBrief:
    """The facts of a status report: the period's work, hours and fees to date, what is coming up."""
    brief = _base(firm, matter_id, "status", today, period, entries)
    brief.upcoming = sorted((e for e in upcoming if e.date >= today),
                            key=lambda e: (e.date, e.time, e.title))
    return brief


def _base(firm: FirmData, matter_id: str, kind: LetterKind, letter_date: dt.date, period: Period,
          entries: list[TimeEntry]) -> LetterBrief:
    matter = firm.matter(matter_id)
    if matter is None:
        raise RefusedError(f"no matter {matter_id} in the firm folder", [f"matter {matter_id} is unknown"])
    client = firm.client(matter.client_id)
    recipient_name, recipient_email = _recipient(firm, matter, kind)
    lead = firm.timekeeper(matter.lead_timekeeper_id) if matter.lead_timekeeper_id else None
    mine = [e for e in entries if e.matter_id == matter_id]
    in_period = [e for e in mine if period.contains(e.date)]
    to_date = [e for e in mine if e.date <= period.end]
    hourly = matter.billing_type == "hourly"
    return LetterBrief(
        kind=kind, letter_date=letter_date, firm_name=firm.firm.name, firm_address=list(firm.firm.address),
        payment_terms=firm.firm.payment_terms, payment_link=firm.firm.payment_link,
        client_name=client.name if client else matter.client_id,
        recipient_name=recipient_name, recipient_email=recipient_email,
        matter_id=matter.matter_id, matter_name=matter.name, client_matter_id=matter.client_matter_id,
        billing_type=matter.billing_type, period_start=period.start, period_end=period.end,
        work=_phases(in_period, firm, matter),
        timekeepers=_timekeepers(in_period, firm, matter),
        period_hours=_hours(in_period), period_fees=_fees(in_period, firm, matter) if hourly else None,
        hours_to_date=_hours(to_date), fees_to_date=_fees(to_date, firm, matter) if hourly else None,
        signer_name=lead.name if lead else firm.firm.name,
        signer_title=TITLES.get(lead.classification, "") if lead else "",
    )


def _recipient(firm: FirmData, matter: Matter, kind: LetterKind) -> tuple[str, str]:
    """Who the letter goes to: never opposing counsel or another outsider listed among the matter's contacts.

    Cover letters go to the named contact whose address is the client's billing email, else to the
    client's own contact on the matter; status reports to the client's own contact on the matter.
    Without one, "Accounts Payable" at the billing email.
    """
    client = firm.client(matter.client_id)
    billing = client.billing_email.lower() if client else ""
    domains = set(client.domains if client else []) | ({billing.rsplit("@", 1)[-1]} if "@" in billing else set())
    own = [c for c in firm.contacts if c.client_id == matter.client_id and c.email
           and c.email.lower().rsplit("@", 1)[-1] in domains and c.matter_id in ("", matter.matter_id)]
    ranked = sorted(own, key=lambda c: (c.matter_id != matter.matter_id,))
    if kind == "cover":
        ranked = sorted(ranked, key=lambda c: c.email.lower() != billing)
    if ranked:
        return ranked[0].name, ranked[0].email
    return "Accounts Payable", client.billing_email if client else ""


def _rate(e: TimeEntry, firm: FirmData, matter: Matter) -> Decimal | None:
    if e.rate is not None:
        return e.rate
    tk = firm.timekeeper(e.timekeeper_id)
    return matter.rate_for(tk) if tk else None


def _fee(e: TimeEntry, firm: FirmData, matter: Matter) -> Decimal:
    rate = _rate(e, firm, matter) or Decimal("0")
    return (e.hours * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fees(entries: list[TimeEntry], firm: FirmData, matter: Matter) -> Decimal:
    return sum((_fee(e, firm, matter) for e in entries), Decimal("0.00"))


def _hours(entries: list[TimeEntry]) -> Decimal:
    return sum((e.hours for e in entries), Decimal("0"))


def _phases(entries: list[TimeEntry], firm: FirmData, matter: Matter) -> list[PhaseWork]:
    from .codes import load_codesets

    codes = load_codesets()
    groups: dict[str, list[TimeEntry]] = {}
    names: dict[str, str] = {}
    for e in entries:
        found = codes.find(e.task_code) if e.task_code else None
        key = found.phase if found and found.phase else ""
        names[key] = (found.phase_name or found.name) if found and key else "Other work"
        groups.setdefault(key, []).append(e)
    out = []
    hourly = matter.billing_type == "hourly"
    for key in sorted(groups, key=lambda k: (k == "", k)):
        group = groups[key]
        minutes: dict[str, Decimal] = {}
        for e in group:
            text = _sentence(e.narrative)
            minutes[text] = minutes.get(text, Decimal("0")) + e.hours
        ranked = sorted(minutes, key=lambda t: (-minutes[t], t))
        items = _varied(ranked, ITEMS_PER_PHASE)
        shown = sum(1 for t in ranked if any(t.partition(" re: ")[2] and t.partition(" re: ")[2] in i or t in i
                                             for i in items))
        out.append(PhaseWork(
            code=key, name=names[key], hours=_hours(group), fees=_fees(group, firm, matter) if hourly else None,
            items=items, more=len(ranked) - shown, dates=sorted({e.date for e in group}),
        ))
    return out


def _timekeepers(entries: list[TimeEntry], firm: FirmData, matter: Matter) -> list[TimekeeperWork]:
    rows = []
    for tk_id in sorted({e.timekeeper_id for e in entries}):
        tk = firm.timekeeper(tk_id)
        mine = [e for e in entries if e.timekeeper_id == tk_id]
        rates = {_rate(e, firm, matter) for e in mine}
        work = TimekeeperWork(
            name=tk.name if tk else tk_id, title=TITLES.get(tk.classification, "") if tk else "",
            hours=_hours(mine), rate=rates.pop() if len(rates) == 1 else None,
            fees=_fees(mine, firm, matter) if matter.billing_type == "hourly" else None,
        )
        rows.append((_SENIORITY.get(tk.classification if tk else "", 9), -work.hours, work.name, work))
    return [row[-1] for row in sorted(rows, key=lambda r: r[:3])]


_SENIORITY = {"PT": 0, "OC": 1, "AS": 2, "PL": 3, "LA": 4}


def _varied(ranked: list[str], limit: int) -> list[str]:
    """Up to `limit` items, one per subject, most time first; narratives on one subject ("... re: privilege
    log") merge into one item naming up to three of their actions."""
    subjects: dict[str, tuple[str, list[str]]] = {}
    for text in ranked:
        action, sep, subject = text.partition(" re: ")
        key = subject.lower() if sep else text.lower()
        _, actions = subjects.setdefault(key, (subject if sep else "", []))
        if action not in actions:
            actions.append(action if sep else text)
    items = []
    for subject, actions in list(subjects.values())[:limit]:
        acts = [actions[0]] + [_lower_first(a) for a in actions[1:3]]
        joined = acts[0] if len(acts) == 1 else ", ".join(acts[:-1]) + " and " + acts[-1]
        items.append(f"{joined} re: {subject}" if subject else joined)
    return items


def _sentence(narrative: str) -> str:
    text = " ".join(narrative.split()).rstrip(" .;")
    return text[:1].upper() + text[1:] if text else text


# --------------------------------------------------------------------------- rendering


def load_template(kind: LetterKind, firm_root: Path | str | None = None) -> str:
    """The firm's own `templates/letters/<kind>.md` when it has one, else the bundled template."""
    if firm_root is not None:
        own = Path(firm_root) / "templates" / "letters" / f"{kind}.md"
        if own.is_file():
            return own.read_text(encoding="utf-8-sig")
    return _bundled(kind)


@functools.cache
def _bundled(kind: str) -> str:
    return (TEMPLATES_DIR / f"{kind}.md").read_text(encoding="utf-8")


def render_letter(brief: LetterBrief, template: str | None = None) -> str:
    """The offline letter: the template with the brief's facts filled in (Markdown)."""
    text = string.Template(template if template is not None else _bundled(brief.kind)).safe_substitute(_values(brief))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def money(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def hours(value: Decimal) -> str:
    """2.0, 0.25, 3.7: tenths at least, hundredths when recorded."""
    return f"{value.quantize(Decimal('0.1')) if value == value.quantize(Decimal('0.1')) else value.quantize(Decimal('0.01')):f}"


def long_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _values(b: LetterBrief) -> dict[str, str]:
    inv = b.invoice
    letterhead = "\n".join([f"**{b.firm_name}**"] + [f"{line}" for line in b.firm_address])
    letterhead = letterhead.replace("\n", "  \n")
    recipient = [b.recipient_name, b.client_name] + ([b.recipient_email] if b.recipient_email else [])
    ref = f"our matter {b.matter_id}" + (f", your reference {b.client_matter_id}" if b.client_matter_id else "")
    v = {
        "letterhead": letterhead, "firm_name": b.firm_name, "letter_date": long_date(b.letter_date),
        "recipient_block": "  \n".join(recipient), "recipient_name": b.recipient_name, "client_name": b.client_name,
        "matter_name": b.matter_name, "matter_id": b.matter_id, "matter_reference": ref,
        "period_start": long_date(b.period_start), "period_end": long_date(b.period_end),
        "payment_terms": b.payment_terms, "payment_link": b.payment_link,
        "signer_name": b.signer_name, "signer_line": "  \n".join(x for x in (b.signer_name, b.signer_title) if x),
        "work_summary": _work_summary(b), "timekeeper_summary": _timekeeper_summary(b),
        "period_hours": hours(b.period_hours), "hours_to_date": hours(b.hours_to_date),
        "period_fees": money(b.period_fees), "fees_to_date": money(b.fees_to_date),
        "time_and_fees": _time_and_fees(b), "upcoming": _upcoming(b),
    }
    if inv:
        parts = [f"fees of {money(inv.fees)}"] + ([f"expenses of {money(inv.expenses)}"] if inv.expenses else [])
        v.update({
            "invoice_number": inv.number, "invoice_date": long_date(inv.date), "total": money(inv.total),
            "fees": money(inv.fees), "expenses": money(inv.expenses), "hours": hours(inv.hours),
            "total_breakdown": " and ".join(parts),
        })
    return v


def _work_summary(b: LetterBrief) -> str:
    if not b.work:
        return "No time was recorded on this matter during the period."
    lines = []
    for p in b.work:
        head = f"**{p.name}**" + (f" ({p.code})" if p.code else "")
        figure = f"{hours(p.hours)} hours" + (f", {money(p.fees)}" if p.fees is not None else "")
        items = "; ".join(_lower_first(i) for i in p.items)
        more = "; and related work" if p.more else ""
        lines.append(f"- {head}, {figure}: {items}{more}.")
    return "\n".join(lines)


def _timekeeper_summary(b: LetterBrief) -> str:
    lines = []
    for t in b.timekeepers:
        who = f"{t.name}" + (f" ({t.title})" if t.title else "")
        figure = f"{hours(t.hours)} hours" + (f", {money(t.fees)}" if t.fees is not None else "")
        lines.append(f"- {who}: {figure}")
    return "\n".join(lines)


def _time_and_fees(b: LetterBrief) -> str:
    if b.period_fees is not None:
        return (f"During the period, {hours(b.period_hours)} hours were recorded, for fees of {money(b.period_fees)}."
                f" Time recorded on this matter to date, through {long_date(b.period_end)}:"
                f" {hours(b.hours_to_date)} hours, for fees of {money(b.fees_to_date)}.")
    basis = {"flat": "a flat-fee basis", "contingency": "a contingency-fee basis", "pro_bono": "a pro bono basis"}.get(
        b.billing_type, "an agreed basis")
    return (f"During the period, {hours(b.period_hours)} hours were recorded. Time recorded on this matter to"
            f" date, through {long_date(b.period_end)}: {hours(b.hours_to_date)} hours. We handle this matter on"
            f" {basis}.")


def _upcoming(b: LetterBrief) -> str:
    if not b.upcoming:
        return "Nothing is scheduled on our calendar for this matter at present."
    lines = []
    for e in b.upcoming:
        at = f" at {e.time}" if e.time else ""
        lines.append(f"- {long_date(e.date)}{at}: {e.title}")
    return "\n".join(lines)


def _lower_first(text: str) -> str:
    # "Draft motion" -> "draft motion", but leave "FRCP", "Acme" and other proper words alone.
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower() and first.lower() in _VERBS:
        return text[:1].lower() + text[1:]
    return text


_VERBS = {
    "draft", "drafted", "review", "reviewed", "revise", "revised", "prepare", "prepared", "research", "researched",
    "telephone", "conference", "confer", "conferred", "attend", "attended", "analyze", "analyzed", "analysis",
    "correspondence", "email", "e-mail", "meeting", "meet", "met", "call", "calls", "finalize", "finalized",
    "edit", "edited", "negotiate", "negotiated", "file", "filed", "summarize", "summarized", "strategy",
    "discussion", "discuss", "discussed", "work", "worked", "respond", "responded", "update", "updated",
    "travel", "travelled", "traveled", "appear", "appeared", "outline", "outlined", "organize", "organized",
    "weekly", "daily", "monthly", "status", "follow", "follow-up", "further", "initial", "receive", "received",
    "emails", "e-mails", "communications", "communicate", "correspond", "conferences", "teleconference",
    "videoconference", "video", "zoom", "memo", "memorandum", "letter", "letters", "client", "team", "internal",
    "begin", "continue", "continued", "complete", "completed", "coordinate", "coordinated", "compile", "compiled",
    "calculate", "assess", "evaluate", "identify", "investigate", "collect", "gather", "plan", "schedule",
}


# --------------------------------------------------------------------------- writing through an engine


def write_letter(brief: LetterBrief, *, engine=None, template: str | None = None) -> str:
    """The letter in Markdown: offline from the template, or the engine's rewrite if it states only facts."""
    offline = render_letter(brief, template)
    problems = letter_problems(offline, brief, template=template)
    if problems:  # an edited template can state something the brief does not
        raise RefusedError(f"the {brief.kind} letter template states facts the brief does not hold", problems)
    if engine is None or getattr(engine, "name", "offline") == "offline":
        return offline
    text = engine.write_letter(brief.kind, brief, offline)
    problems = letter_problems(text, brief, template=template)
    if problems:
        raise RefusedError(f"the {engine.name} engine's {brief.kind} letter states facts not in the entries or"
                           " the invoice; refused", problems)
    return text


# --------------------------------------------------------------------------- grounding

_MONTHS = {m.lower(): i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"], start=1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATE_PATTERNS = [
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})" + _ORD + r",?\s+(?P<year>\d{4})\b", re.I),
    re.compile(r"\b(?P<day>\d{1,2})" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})\b", re.I),
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(r"\b(?P<mnum>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}|\d{2})\b"),
    re.compile(r"\b" + _MONTH + r",?\s+(?P<year>\d{4})\b", re.I),
    re.compile(r"\b" + _MONTH + r"\s+(?P<day>\d{1,2})" + _ORD + r"\b(?!\s*,?\s*\d)", re.I),
]
_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:[ap]\.?\s?m\.?|o'clock)(?![a-z])|\b\d{1,2}:\d{2}\b", re.I)
_IDENT = re.compile(r"(?<![\w$])(?=[\w\-/#.]*\d)(?=[\w\-/#.]*[A-Za-z\-/#])[A-Za-z0-9#][\w\-/#.]*[A-Za-z0-9]")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)", re.I)
_NUMBER = re.compile(r"\$?\d[\d,]*(?:\.\d+)?")
_LIST_MARK = re.compile(r"^\s*\d+[.)]\s", re.M)
_HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Dr|Judge|Justice|Hon|Prof|Professor|Magistrate|Counsel|Attorney)"
_CAPS = re.compile(
    r"(?:\b(?P<hon>" + _HONORIFIC + r")\.?\s+)?"
    r"(?P<name>[A-Z][\w'\-]*[a-z][\w'\-]*(?:\s+(?:[A-Z]\.\s+)?[A-Z][\w'\-]*[a-z][\w'\-]*)*)"
)
_COMMON = set("""
a an the and or of for to in on at by with from as re our your we you i it its this that these those is are was
were be been has have had will would should could may might can please thank thanks dear sincerely regards best
kind yours truly respectfully very cordially enclosed enclosure attached invoice invoices statement letter report
status cover summary total totals fees fee expenses expense costs cost hours hour time work performed period
professional services legal matter matters client clients firm payment payments due terms upcoming events event
schedule scheduled calendar next steps discovery litigation phase phases other re: subject date dated
january february march april may june july august september october november december monday tuesday wednesday
thursday friday saturday sunday jan feb mar apr jun jul aug sep sept oct nov dec mr mrs ms dr esq llp llc inc
pc pllc corp co ltd partner associate counsel paralegal assistant legal if should any questions question
contact let know do not hesitate further information regarding about also during through since until including
all each per no none not nothing at present pending progress update updates highlights key overview
accounts payable department team us me my note notes following below above here there thereafter herein
""".split())


def letter_problems(text: str, brief: LetterBrief, *, template: str | None = None) -> list[str]:
    """Every statement of fact in `text` that the brief does not hold, one sentence each ([] = grounded).

    Checked: dates, times, money amounts and other numbers, identifiers such as invoice and matter
    numbers, and capitalised names of people. The template's own words are allowed too.
    """
    facts = _Facts(brief, template if template is not None else _bundled(brief.kind))
    problems: list[str] = []
    body = _LIST_MARK.sub(" ", text)

    def blank(m: re.Match) -> str:
        return " " * len(m.group(0))

    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(body):
            problem = facts.date_problem(m)
            if problem:
                problems.append(problem)
        body = pattern.sub(blank, body)
    for m in _TIME.finditer(body):
        if _squash(m.group(0)) not in facts.squashed:
            problems.append(f"the time {m.group(0)!r} is not in the facts")
    body = _TIME.sub(blank, body)
    for m in _IDENT.finditer(body):
        token = m.group(0).rstrip(".")
        if _ORDINAL.fullmatch(token) or _NUMBER.fullmatch(token):
            continue
        if token.lower() not in facts.tokens:
            problems.append(f"{token!r} (an invoice, matter or other reference number) is not in the facts")
    body = _IDENT.sub(blank, body)
    for m in _NUMBER.finditer(body):
        raw = m.group(0).rstrip(",.")
        try:
            value = Decimal(raw.replace("$", "").replace(",", ""))
        except ArithmeticError:
            continue
        if _norm(value) not in facts.numbers:
            what = "the amount" if raw.startswith("$") else "the number"
            problems.append(f"{what} {raw} is not in the facts (invoice, entries or calendar)")
    for m in _CAPS.finditer(body):
        words = re.findall(r"[A-Za-z][\w'\-]*", m.group("name"))
        if len(words) < 2 and not m.group("hon"):
            continue
        unknown = [w for w in words if w.lower() not in facts.words and w.lower() not in _COMMON]
        if unknown:
            while len(words) > 1 and words[0].lower() in _COMMON:  # "Dear Harold Stone" -> "Harold Stone"
                words = words[1:]
            who = (m.group("hon") + " " if m.group("hon") else "") + " ".join(words)
            problems.append(f"the name {who!r} is not in the facts ({', '.join(unknown)} unknown)")
    return list(dict.fromkeys(problems))


class _Facts:
    def __init__(self, brief: LetterBrief, template: str):
        strings: list[str] = []
        self.dates: set[dt.date] = set()
        numbers: set[Decimal] = set()
        _walk(brief, strings, self.dates, numbers)
        # The letter's own renderings of dates are facts too.
        strings += [long_date(d) for d in self.dates]
        text = "\n".join(strings)
        self.squashed = _squash(text)
        self.tokens = {t.rstrip(".").lower() for t in _IDENT.findall(text)}
        # The template's words may name no one, but they are the firm's prose: allowed as words only.
        words = text + "\n" + re.sub(r"\$\w+", " ", template)
        self.words = {w.lower() for w in re.findall(r"[A-Za-z][\w'\-]*", words)}
        self.words |= {w.lower().strip("'") for w in re.findall(r"[A-Za-z]+", words)}
        for m in _NUMBER.finditer(text):
            try:
                numbers.add(Decimal(m.group(0).rstrip(",.").replace("$", "").replace(",", "")))
            except ArithmeticError:
                pass
        for d in self.dates:
            numbers |= {Decimal(d.year), Decimal(d.day), Decimal(d.month)}
        self.numbers = {_norm(n) for n in numbers}
        self.month_years = {(d.year, d.month) for d in self.dates}
        self.month_days = {(d.month, d.day) for d in self.dates}

    def date_problem(self, m: re.Match) -> str | None:
        g = m.groupdict()
        month = _MONTHS.get((g.get("month") or "").lower().rstrip(".")) if g.get("month") else int(g["mnum"])
        year = int(g["year"]) if g.get("year") else None
        if year is not None and year < 100:
            year += 2000
        day = int(g["day"]) if g.get("day") else None
        said = m.group(0).strip()
        if _squash(said) in self.squashed:  # quoted from a narrative or an event title
            return None
        try:
            if year and day:
                when = dt.date(year, month, day)
                return None if when in self.dates else f"the date {said!r} is not in the facts"
        except (ValueError, TypeError):
            return f"{said!r} is not a real date"
        if year and (year, month) not in self.month_years:
            return f"the month {said!r} is not in the facts"
        if day and (month, day) not in self.month_days:
            return f"the date {said!r} is not in the facts"
        return None


def _walk(value, strings: list[str], dates: set[dt.date], numbers: set[Decimal]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), strings, dates, numbers)
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            _walk(v, strings, dates, numbers)
    elif isinstance(value, str):
        strings.append(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, dt.date):
        dates.add(value)
    elif isinstance(value, (Decimal, int)):
        numbers.add(Decimal(value))
        strings.append(money(Decimal(value)))
        strings.append(hours(Decimal(value)))


def _norm(value: Decimal) -> Decimal:
    return abs(value).normalize()


def _squash(text: str) -> str:
    return re.sub(r"[\s.]", "", text.lower())


# --------------------------------------------------------------------------- .docx


def letter_docx(markdown: str, brief: LetterBrief):
    """A python-docx Document: the firm's letterhead, then the letter (the Markdown's letterhead block dropped)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Georgia"
    style.font.size = Pt(11)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(brief.firm_name)
    run.bold = True
    run.font.size = Pt(16)
    for line in brief.firm_address:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(0)
        r = p.add_run(line)
        r.font.size = Pt(9)
        r.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    _rule(doc)
    body = markdown.split("\n---\n", 1)[1] if "\n---\n" in markdown else markdown
    for block in re.split(r"\n\s*\n", body.strip()):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            level = min(len(lines[0]) - len(lines[0].lstrip("#")), 3)
            h = doc.add_heading(lines[0].lstrip("#").strip(), level=level + 1)
            for r in h.runs:
                r.font.color.rgb = RGBColor(0x22, 0x22, 0x22)
            lines = lines[1:]
            if not lines:
                continue
        if all(line.lstrip().startswith(("- ", "* ")) for line in lines):
            for line in lines:
                _inline(doc.add_paragraph(style="List Bullet"), line.lstrip()[2:])
            continue
        p = doc.add_paragraph()
        for i, line in enumerate(lines):
            if i:
                p.add_run().add_break()
            _inline(p, line.rstrip())
    return doc


def _inline(paragraph, text: str) -> None:
    for i, part in enumerate(re.split(r"\*\*", text)):
        if part:
            run = paragraph.add_run(part)
            run.bold = i % 2 == 1


def _rule(doc) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = doc.add_paragraph()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, val in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "888888")):
        bottom.set(qn(key), val)
    borders.append(bottom)
    p._p.get_or_add_pPr().append(borders)
