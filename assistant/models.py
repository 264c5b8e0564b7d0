"""Every pydantic type that crosses a module boundary.

Money is `Decimal`, durations are integer minutes, every datetime is zone-aware.
Field docstrings are read by people and, for response models, by the LLM.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["calendar", "mail", "calls", "documents"]
SOURCES: tuple[Source, ...] = ("calendar", "mail", "calls", "documents")
BillingType = Literal["hourly", "flat", "contingency", "pro_bono"]
CodeSetName = Literal["litigation", "bankruptcy", "counseling", "project", "none"]
Severity = Literal["error", "warning"]
ActivityKind = Literal[
    "meeting", "call", "email_sent", "email_received", "document"
]

# LEDES 1998B uses the short codes; LOC 2014 codes are accepted on input and mapped.
CLASSIFICATIONS_SHORT = ("PT", "AS", "OC", "PL", "LA", "OT")
CLASSIFICATION_LOC_TO_SHORT = {
    "PARTNR": "PT", "PARTNER": "PT", "SHRHLD": "PT", "MNGPTR": "PT", "SRPTNR": "PT", "EQPTNR": "PT",
    "ASSOC": "AS", "SRASSC": "AS", "JRASSC": "AS", "ASSOCT": "AS",
    "OFCOUN": "OC", "OFCNSL": "OC", "COUNSL": "OC",
    "PARALG": "PL", "SRPARA": "PL", "JRPARA": "PL",
    "LGLAST": "LA", "LEGAST": "LA", "SECRTY": "LA",
    "OTHER": "OT", "OTHTMK": "OT", "LAWCLK": "OT", "CLERK": "OT",
}


class Model(BaseModel):
    model_config = ConfigDict(frozen=False, extra="forbid", validate_assignment=False)


# --------------------------------------------------------------------------- firm


class Firm(Model):
    name: str
    law_firm_id: str
    timezone: str = "UTC"
    currency: str = "USD"
    increment_minutes: int = Field(6, ge=1, le=60)
    address: list[str] = Field(default_factory=list)
    """Letterhead lines under the firm's name."""
    payment_terms: str = "Payment is due within 30 days of the invoice date."
    payment_link: str = "[payment link]"
    daily_hours_warning: Decimal = Decimal("12")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception:  # ZoneInfo raises several types (KeyError, ValueError) for unknown zones
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Timekeeper(Model):
    timekeeper_id: str
    name: str
    """'First Last'."""
    classification: str
    """LEDES short code (PT, AS, OC, PL, LA, OT) after normalisation."""
    rate: Decimal
    email: str
    phone: str = ""
    timezone: str | None = None
    aliases: list[str] = Field(default_factory=list)
    """Further email addresses of the same person."""

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name

    @property
    def last_name(self) -> str:
        parts = self.name.split()
        return parts[-1] if parts else self.name

    @property
    def ledes_name(self) -> str:
        """'Last, First' as LEDES TIMEKEEPER_NAME wants it."""
        parts = self.name.split()
        if len(parts) < 2:
            return self.name
        return f"{parts[-1]}, {' '.join(parts[:-1])}"

    @property
    def is_lawyer(self) -> bool:
        return self.classification in ("PT", "AS", "OC")


class Client(Model):
    client_id: str
    name: str
    ledes_client_id: str
    billing_email: str
    domains: list[str] = Field(default_factory=list)
    guidelines: str | None = None
    """File name in guidelines/."""


class Matter(Model):
    matter_id: str
    client_id: str
    name: str
    status: Literal["open", "closed"]
    billing_type: BillingType
    code_set: CodeSetName
    client_matter_id: str = ""
    lead_timekeeper_id: str = ""
    references: list[str] = Field(default_factory=list)
    rates: dict[str, Decimal] = Field(default_factory=dict)
    """Per-timekeeper rate overrides for this matter (timekeeper_id -> rate); key '*' for everyone."""
    flat_fee: Decimal | None = None

    def rate_for(self, tk: Timekeeper) -> Decimal:
        return self.rates.get(tk.timekeeper_id, self.rates.get("*", tk.rate))


class Contact(Model):
    client_id: str
    name: str
    email: str = ""
    phone: str = ""
    matter_id: str = ""


class FirmData(Model):
    """A loaded firm folder's own files (not its activity sources)."""

    root: str
    firm: Firm
    timekeepers: list[Timekeeper]
    clients: list[Client]
    matters: list[Matter]
    contacts: list[Contact]
    guidelines: dict[str, dict] = Field(default_factory=dict)
    """Parsed guidelines/*.toml by file name; interpreted by assistant.guidelines."""

    def timekeeper(self, timekeeper_id: str) -> Timekeeper | None:
        return next((t for t in self.timekeepers if t.timekeeper_id == timekeeper_id), None)

    def matter(self, matter_id: str) -> Matter | None:
        return next((m for m in self.matters if m.matter_id == matter_id), None)

    def client(self, client_id: str) -> Client | None:
        return next((c for c in self.clients if c.client_id == client_id), None)

    def tz_for(self, timekeeper_id: str) -> ZoneInfo:
        tk = self.timekeeper(timekeeper_id)
        return ZoneInfo(tk.timezone) if tk and tk.timezone else self.firm.tz

    @property
    def firm_domains(self) -> set[str]:
        """Email domains of the firm itself (internal mail and attendees)."""
        return {t.email.rsplit("@", 1)[-1].lower() for t in self.timekeepers if "@" in t.email}


class Period(Model):
    start: dt.date
    end: dt.date
    """Inclusive."""

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


# --------------------------------------------------------------------------- ingestion


class Activity(Model):
    """One timekeeper's piece of evidence of work: an event instance, an email, a call, a document session."""

    activity_id: str
    source: Source
    source_ref: str
    timekeeper_id: str
    kind: ActivityKind
    start: dt.datetime
    end: dt.datetime
    minutes: int
    """Worked minutes this evidence supports (email: a documented estimate)."""
    title: str = ""
    """Subject, event summary, document name or a call description."""
    matter_id: str | None = None
    match_confidence: float = 0.0
    match_reason: str = ""
    candidates: list[str] = Field(default_factory=list)
    """Matter ids that matching considered; several means ambiguous."""
    # Matching hints, filled by the parsers.
    counterparties: list[str] = Field(default_factory=list)
    """External email addresses or phone numbers (normalised) of the other side."""
    participant_names: list[str] = Field(default_factory=list)
    """Display names of the external people involved (for narratives)."""
    matter_hint: str = ""
    """An explicit matter id from the source (document CSV's matter_id)."""
    thread_id: str = ""
    excerpt: str = ""
    """The first lines of an email body or an event description (untrusted text)."""
    words: int = 0
    attachments: int = 0
    location: str = ""

    @property
    def date(self) -> dt.date:
        return self.start.date()


class Rejection(Model):
    """A record left out: `rejected` (unusable) or `ignored` (left out by rule)."""

    source: Source | Literal["time_entries", "expenses"]
    source_ref: str
    status: Literal["rejected", "ignored"]
    reason: str


class RecordCounts(Model):
    read: int = 0
    activities: int = 0
    ignored: int = 0
    rejected: int = 0


class SourceResult(Model):
    """What one parser made of one file (or of a whole source)."""

    activities: list[Activity] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)
    activity_records: int = 0
    """Records that became at least one activity (an email to two timekeepers is one)."""

    @property
    def counts(self) -> RecordCounts:
        ignored = sum(1 for r in self.rejections if r.status == "ignored")
        rejected = len(self.rejections) - ignored
        return RecordCounts(
            read=self.activity_records + ignored + rejected,
            activities=self.activity_records, ignored=ignored, rejected=rejected,
        )

    def extend(self, other: SourceResult) -> None:
        self.activities.extend(other.activities)
        self.rejections.extend(other.rejections)
        self.activity_records += other.activity_records


# --------------------------------------------------------------------------- entries


class TimeEntry(Model):
    """A recorded (or accepted) time entry."""

    entry_id: str
    date: dt.date
    timekeeper_id: str
    matter_id: str
    hours: Decimal
    narrative: str
    task_code: str = ""
    activity_code: str = ""
    rate: Decimal | None = None
    """The rate recorded with the entry; None = the matter's or timekeeper's rate."""
    source_ref: str = ""


class Expense(Model):
    expense_id: str
    date: dt.date
    timekeeper_id: str
    matter_id: str
    amount: Decimal
    description: str
    expense_code: str = ""
    units: Decimal | None = None
    unit_cost: Decimal | None = None
    source_ref: str = ""


class Draft(Model):
    """A proposed time entry reconstructed from evidence."""

    draft_id: str
    date: dt.date
    timekeeper_id: str
    matter_id: str
    hours: Decimal
    narrative: str
    task_code: str = ""
    activity_code: str = ""
    evidence: list[str] = Field(default_factory=list)
    """activity_ids the draft rests on."""
    confidence: float = 0.0
    engine: str = "offline"
    notes: str = ""
    """Why a suggestion was replaced, e.g. an LLM answer the gate refused."""


class Gap(Model):
    timekeeper_id: str
    date: dt.date
    matter_id: str
    activity_ids: list[str]
    minutes: int
    hours: Decimal
    amount: Decimal
    """Recoverable value: hourly matters only; 0 for flat, contingency and pro bono."""


class ConfirmItem(Model):
    activity_id: str
    source: Source
    source_ref: str
    timekeeper_id: str
    date: dt.date
    title: str
    reason: str
    candidates: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- validation


class Flag(Model):
    """One finding of the validator. Findings are data, never exceptions."""

    rule: str
    """A contract rule id (block_billing, vague_narrative, …) or guideline:<key>."""
    severity: Severity
    message: str
    suggestion: str = ""
    entry_id: str = ""


class CodeSuggestion(Model):
    task_code: str = ""
    activity_code: str = ""
    confidence: float = 0.0
    needs_review: bool = True


def make_activity_id(source_ref: str, timekeeper_id: str) -> str:
    """Stable across runs, so review decisions keyed on it survive a re-analysis."""
    import hashlib

    digest = hashlib.blake2b(f"{source_ref}|{timekeeper_id}".encode(), digest_size=6).hexdigest()
    return f"A{digest}"
