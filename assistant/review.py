"""The review session the app's pages call: the analysis seen through the reviewers' decisions.

`apply_decisions` folds the store's decisions into an analysis (assigned matters, edited, rejected and
accepted entries) and recomputes gaps and drafts, so every page shows the state after review.
`build_prebill` is one matter's pre-bill with the validator's flags; the action functions write to
the store and never touch the analysis (the page reloads after each change, which re-runs the
validator). `export_invoice` is the LEDES gate: refused with reasons when the validator objects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError

from .errors import ConfigError, RefusedError
from .models import Activity, Client, Draft, Expense, FirmData, Flag, Gap, Matter, TimeEntry
from .store import ConflictError, Decision, ReviewStore

__all__ = [
    "EDITABLE", "EditOutcome", "LedesExport", "Letter", "write_letter", "MatterFigures", "Prebill", "ReviewRow", "accept", "apply_decisions", "as_seen",
    "approve", "approve_clean", "approve_many", "reject_many", "unsaved", "assign_matter", "build_prebill", "current_drafts", "current_entries",
    "daily_figures", "entry_flags", "export_invoice", "gap_detail", "matter_figures", "reject", "save_edits",
]

EDITABLE = ("hours", "narrative", "task_code", "activity_code")
"""The fields a reviewer edits in place."""


class ReviewRow(BaseModel):
    """One line of a pre-bill: a recorded or accepted entry, or a draft waiting to be accepted."""

    item_id: str
    kind: Literal["entry", "draft"]
    date: dt.date
    timekeeper_id: str
    timekeeper: str
    matter_id: str
    hours: Decimal
    narrative: str
    task_code: str = ""
    activity_code: str = ""
    rate: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    status: str = "pending"
    version: int = 0
    flags: list[Flag] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    confidence: float | None = None
    base: dict[str, Any] = Field(default_factory=dict)
    """The item's fields as the analysis has them (JSON form): the store's starting point."""

    @property
    def errors(self) -> list[Flag]:
        return [f for f in self.flags if f.severity == "error"]

    @property
    def clean(self) -> bool:
        return not self.flags

    @property
    def open(self) -> bool:
        """Still needs a decision."""
        return self.status in ("pending", "edited")


class Prebill(BaseModel):
    matter: Matter
    client: Client | None
    period_start: dt.date
    period_end: dt.date
    rows: list[ReviewRow]
    validator_ready: bool = True
    """False while assistant.validate is not installed: no flags can be shown."""

    @property
    def entries(self) -> list[ReviewRow]:
        return [r for r in self.rows if r.kind == "entry"]

    @property
    def drafts(self) -> list[ReviewRow]:
        return [r for r in self.rows if r.kind == "draft"]

    def row(self, item_id: str) -> ReviewRow:
        for r in self.rows:
            if r.item_id == item_id:
                return r
        raise ConfigError(f"{item_id} is not on the pre-bill of {self.matter.matter_id}; reload and try again")

    @property
    def live_entries(self) -> list[ReviewRow]:
        """Entries not rejected."""
        return [r for r in self.entries if r.status != "rejected"]

    @property
    def approved(self) -> list[ReviewRow]:
        return [r for r in self.entries if r.status == "approved"]

    @property
    def flagged(self) -> list[ReviewRow]:
        return [r for r in self.live_entries if r.flags]

    @property
    def clean_open(self) -> list[ReviewRow]:
        """Entries still to decide that carry no flag at all (what batch approval takes)."""
        return [r for r in self.entries if r.open and r.clean] if self.validator_ready else []

    @property
    def open_drafts(self) -> list[ReviewRow]:
        return [r for r in self.drafts if r.open]

    VIEWS: ClassVar[tuple[str, ...]] = ("all", "flagged", "drafts", "open")

    def view(self, name: str) -> Prebill:
        """The same pre-bill showing only some rows: all, flagged (entries with flags), drafts, or open (undecided)."""
        keep = {
            "all": lambda r: True,
            "flagged": lambda r: r.kind == "entry" and bool(r.flags) and r.status != "rejected",
            "drafts": lambda r: r.kind == "draft",
            "open": lambda r: r.open,
        }[name]
        return self.model_copy(update={"rows": [r for r in self.rows if keep(r)]})

    @property
    def billable_hours(self) -> Decimal:
        return sum((r.hours for r in self.entries if r.status != "rejected"), Decimal(0))

    @property
    def billable_amount(self) -> Decimal:
        return sum((r.amount for r in self.entries if r.status != "rejected"), Decimal(0))


class EditOutcome(BaseModel):
    saved: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    """One sentence per item someone else changed first."""
    problems: list[str] = Field(default_factory=list)
    """One sentence per value that could not be used."""


class LedesExport(BaseModel):
    text: str
    filename: str
    lines: int
    total: Decimal
    entries: int
    unapproved: int
    """Entries of the matter in the period that are not approved yet."""
    invoice: Any = None
    """The assistant.ledes.Invoice written (for the cover letter)."""
    billed: list[TimeEntry] = Field(default_factory=list)


class Letter(BaseModel):
    kind: Literal["cover", "status"]
    markdown: str
    docx: bytes
    filename: str


class MatterFigures(BaseModel):
    matter_id: str
    matter: str
    client: str
    billing_type: str
    worked_hours: Decimal = Decimal(0)
    entered_hours: Decimal = Decimal(0)
    covered_hours: Decimal = Decimal(0)
    gap_hours: Decimal = Decimal(0)
    recoverable_amount: Decimal = Decimal(0)

    @property
    def capture_rate(self) -> float:
        return float(self.covered_hours / self.worked_hours) if self.worked_hours else 1.0


# --------------------------------------------------------------------------- the analysis after review


def current_entries(analysis, decisions: dict[str, Decision], *, include_rejected: bool = False) -> list[TimeEntry]:
    """Recorded entries with their edits, plus entries made from accepted drafts."""
    out: list[TimeEntry] = []
    seen: set[str] = set()
    for e in analysis.entries:
        seen.add(e.entry_id)
        d = decisions.get(e.entry_id)
        if d is None or d.kind != "entry":
            out.append(e)
        elif include_rejected or d.status != "rejected":
            out.append(TimeEntry.model_validate({**e.model_dump(mode="json"), **d.values}))
    for d in decisions.values():
        if d.kind == "entry" and d.item_id not in seen and d.values and (include_rejected or d.status != "rejected"):
            try:
                entry = TimeEntry.model_validate(d.values)
            except ValidationError:  # a decision about an entry this analysis does not hold
                continue
            if analysis.period.contains(entry.date):
                out.append(entry)
    return out


def current_drafts(analysis, decisions: dict[str, Decision], *, include_rejected: bool = False) -> list[Draft]:
    """Drafts not yet accepted, with their edits."""
    out = []
    for draft in analysis.drafts:
        d = decisions.get(draft.draft_id)
        if d is None or d.kind != "draft":
            out.append(draft)
        elif d.status == "accepted" or (d.status == "rejected" and not include_rejected):
            continue
        else:
            out.append(Draft.model_validate({**draft.model_dump(mode="json"), **d.values}))
    return out


def apply_decisions(analysis, decisions: dict[str, Decision]):
    """A new analysis in which assigned matters, edits, rejections and accepted drafts are taken into account.

    Activities assigned by a reviewer leave the confirm queue and count as worked time on their matter;
    entries count with their edited values, rejected ones not at all, accepted drafts as entries. Gaps,
    drafts and the summary are recomputed from that (draft narratives already written are kept).
    """
    if not decisions:
        return analysis
    from .matching import confirm_queue
    from .pipeline import drafts_and_gaps, summarize
    from .worktime import analyse_keys

    firm = analysis.firm
    activities = []
    for a in analysis.activities:
        d = decisions.get(a.activity_id)
        if d is not None and d.kind == "activity" and d.matter_id and firm.matter(d.matter_id):
            a = a.model_copy(update={"matter_id": d.matter_id, "match_confidence": 1.0,
                                     "match_reason": f"assigned by {d.updated_by}"})
        activities.append(a)
    entries = current_entries(analysis, decisions)
    keys = analyse_keys(activities, entries, firm)
    drafts, gaps = drafts_and_gaps(keys, firm)
    written = {d.draft_id: d for d in analysis.drafts}
    drafts = [written[d.draft_id] if d.draft_id in written and written[d.draft_id].hours == d.hours else d
              for d in drafts]
    summary = summarize(firm, analysis.period, analysis.counts, keys, entries, activities, gaps, None)
    summary["engine"] = analysis.summary.get("engine", summary["engine"])
    return analysis.model_copy(update={
        "activities": activities, "entries": entries, "drafts": drafts, "gaps": gaps,
        "confirm": confirm_queue(activities, firm), "summary": summary,
    })


def entry_flags(entries: list[TimeEntry], firm: FirmData, expenses: list[Expense] = ()) -> dict[str, list[Flag]] | None:
    """The validator's flags per entry; None when the validator is not installed."""
    try:
        from .validate import check_entries
    except ImportError:
        return None
    return check_entries(entries, firm, expenses=list(expenses))


def _draft_flags(drafts: list[Draft], firm: FirmData, activities: dict[str, Activity]) -> dict[str, list[Flag]]:
    try:
        from .validate import check_drafts
    except ImportError:
        return {}
    return check_drafts(drafts, firm, activities)


# --------------------------------------------------------------------------- the pre-bill


def build_prebill(analysis, decisions: dict[str, Decision], matter_id: str) -> Prebill:
    """One matter's entries and drafts in the period, flagged. `analysis` is the one after apply_decisions."""
    firm = analysis.firm
    matter = firm.matter(matter_id)
    if matter is None:
        raise ConfigError(f"there is no matter {matter_id} in this firm")
    entries = current_entries(analysis, decisions, include_rejected=True)
    live = [e for e in entries if not _rejected(decisions, e.entry_id)]
    flags = entry_flags(live, firm, analysis.expenses)
    rows: list[ReviewRow] = []
    originals = {e.entry_id: e.model_dump(mode="json") for e in analysis.entries}
    for e in sorted(entries, key=lambda e: (e.date, e.timekeeper_id, e.entry_id)):
        if e.matter_id != matter_id:
            continue
        d = decisions.get(e.entry_id)
        rows.append(_row("entry", e.entry_id, e, firm, matter, d, (flags or {}).get(e.entry_id, []),
                         base=originals.get(e.entry_id, e.model_dump(mode="json"))))
    drafts = [x for x in current_drafts(analysis, decisions, include_rejected=True) if x.matter_id == matter_id]
    dflags = _draft_flags(drafts, firm, {a.activity_id: a for a in analysis.activities}) if drafts else {}
    originals = {x.draft_id: x.model_dump(mode="json") for x in analysis.drafts}
    for x in sorted(drafts, key=lambda x: (x.date, x.timekeeper_id, x.draft_id)):
        row = _row("draft", x.draft_id, x, firm, matter, decisions.get(x.draft_id), dflags.get(x.draft_id, []),
                   base=originals.get(x.draft_id, x.model_dump(mode="json")))
        row.evidence, row.confidence = list(x.evidence), x.confidence
        rows.append(row)
    return Prebill(matter=matter, client=firm.client(matter.client_id), period_start=analysis.period.start,
                   period_end=analysis.period.end, rows=rows, validator_ready=flags is not None)


def as_seen(prebill: Prebill, seen: dict[str, int]) -> Prebill:
    """The pre-bill with each row's version as the reviewer last saw it on screen.

    A page re-reads the store on every interaction, so a save must carry the versions of the render the
    reviewer looked at; otherwise a change someone made in between would be overwritten unseen.
    """
    rows = [r.model_copy(update={"version": seen.get(r.item_id, r.version)}) for r in prebill.rows]
    return prebill.model_copy(update={"rows": rows})


def _row(kind, item_id, item, firm: FirmData, matter: Matter, d: Decision | None, flags, *, base) -> ReviewRow:
    tk = firm.timekeeper(item.timekeeper_id)
    rate = getattr(item, "rate", None) or (matter.rate_for(tk) if tk else Decimal(0))
    hourly = matter.billing_type == "hourly"
    return ReviewRow(
        item_id=item_id, kind=kind, date=item.date, timekeeper_id=item.timekeeper_id,
        timekeeper=tk.name if tk else item.timekeeper_id, matter_id=item.matter_id, hours=item.hours,
        narrative=item.narrative, task_code=item.task_code, activity_code=item.activity_code,
        rate=rate if hourly else Decimal(0), amount=(item.hours * rate).quantize(Decimal("0.01")) if hourly else Decimal(0),
        status=d.status if d else "pending", version=d.version if d else 0, flags=list(flags), base=base,
    )


def _rejected(decisions: dict[str, Decision], item_id: str) -> bool:
    d = decisions.get(item_id)
    return d is not None and d.status == "rejected"


# --------------------------------------------------------------------------- actions


def approve(store: ReviewStore, row: ReviewRow, who: str) -> Decision:
    """Approve an entry; a draft is accepted instead (it becomes a pending entry to approve once clean)."""
    if row.kind == "draft":
        return accept(store, row, who)
    if row.errors:
        raise RefusedError(f"entry {row.item_id} has errors; fix them before approving it",
                           [f"{f.rule}: {f.message}" for f in row.errors])
    return store.approve(row.item_id, who=who, version=row.version, values=row.base, matter_id=row.matter_id)


def accept(store: ReviewStore, row: ReviewRow, who: str) -> Decision:
    if row.kind != "draft":
        raise ConfigError(f"{row.item_id} is already an entry")
    if row.status == "rejected":
        raise ConfigError(f"draft {row.item_id} was rejected; it cannot be accepted")
    current = {**row.base, **{k: _json(getattr(row, k)) for k in EDITABLE}}
    return store.accept_draft(Draft.model_validate(current), who=who, version=row.version)


def reject(store: ReviewStore, row: ReviewRow, reason: str, who: str) -> Decision:
    return store.reject(row.item_id, reason, who=who, version=row.version, values=row.base,
                        matter_id=row.matter_id, kind=row.kind)


def approve_clean(store: ReviewStore, prebill: Prebill, who: str) -> EditOutcome:
    """Approve every open entry without a single flag; drafts and flagged entries stay for a closer look."""
    out = EditOutcome()
    if not prebill.validator_ready:
        out.problems.append("the validator is not installed, so no entry can be called clean")
        return out
    for row in prebill.clean_open:
        try:
            approve(store, row, who)
            out.saved.append(row.item_id)
        except ConflictError as e:
            out.conflicts.append(str(e))
    return out


def approve_many(store: ReviewStore, rows: list[ReviewRow], who: str) -> EditOutcome:
    """Approve entries and accept drafts; each refusal or conflict is reported and the rest go on."""
    out = EditOutcome()
    for row in rows:
        try:
            approve(store, row, who)
            out.saved.append(row.item_id)
        except ConflictError as e:
            out.conflicts.append(str(e))
        except RefusedError as e:
            out.problems.append(f"{e} ({'; '.join(e.reasons)})" if e.reasons else str(e))
    return out


def reject_many(store: ReviewStore, rows: list[ReviewRow], reason: str, who: str) -> EditOutcome:
    out = EditOutcome()
    for row in rows:
        try:
            reject(store, row, reason, who)
            out.saved.append(row.item_id)
        except ConflictError as e:
            out.conflicts.append(str(e))
    return out


def unsaved(prebill: Prebill, edited: list[dict[str, Any]]) -> list[str]:
    """Ids of table rows whose editable fields differ from the pre-bill (invalid values count as changed)."""
    out = []
    for new in edited:
        row = prebill.row(str(new.get("item_id", "")))
        try:
            if _changes(row, new):
                out.append(row.item_id)
        except ValueError:
            out.append(row.item_id)
    return out


def save_edits(store: ReviewStore, prebill: Prebill, edited: list[dict[str, Any]], who: str) -> EditOutcome:
    """Store the changed fields of each edited table row (rows keyed by item_id); conflicts are reported per row."""
    out = EditOutcome()
    for new in edited:
        row = prebill.row(str(new.get("item_id", "")))
        try:
            changes = _changes(row, new)
        except ValueError as e:
            out.problems.append(f"{row.item_id}: {e}")
            continue
        if not changes:
            continue
        if row.status in ("rejected", "accepted"):
            out.problems.append(f"{row.item_id} is {row.status}; it cannot be edited")
            continue
        try:
            store.edit(row.item_id, changes, who=who, version=row.version, values=row.base,
                       matter_id=row.matter_id, kind=row.kind)
            out.saved.append(row.item_id)
        except ConflictError as e:
            out.conflicts.append(str(e))
    return out


def _changes(row: ReviewRow, new: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "hours" in new:
        hours = _hours(new["hours"])
        if hours != row.hours:
            changes["hours"] = str(hours)
    if "narrative" in new:
        text = " ".join(str(new["narrative"] or "").split())
        if not text:
            raise ValueError("the narrative cannot be empty")
        if text != row.narrative:
            changes["narrative"] = text
    for code in ("task_code", "activity_code"):
        if code in new:
            value = str(new[code] or "").strip().upper()
            if value and not re.fullmatch(r"[A-Z]\d{3}", value):
                raise ValueError(f"{code.replace('_', ' ')} {value!r} is not a code like L110 or A101")
            if value != getattr(row, code):
                changes[code] = value
    return changes


def _hours(value: Any) -> Decimal:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"hours {value!r} is not a number like 1.5") from None
    if not hours.is_finite() or hours <= 0 or hours > 24:
        raise ValueError(f"hours {value} must be more than 0 and at most 24")
    return hours


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def assign_matter(store: ReviewStore, analysis, activity_id: str, matter_id: str, who: str) -> Decision:
    """Confirm the matter of a queued activity (one click in the app)."""
    activity = analysis.activity(activity_id)
    if activity is None:
        raise ConfigError(f"activity {activity_id} is not in this analysis; reload and try again")
    matter = analysis.firm.matter(matter_id)
    if matter is None:
        raise ConfigError(f"there is no matter {matter_id} in this firm")
    current = store.get(activity_id, kind="activity")
    values = {"title": activity.title, "source_ref": activity.source_ref, "matter_id": activity.matter_id}
    return store.assign_matter(activity_id, matter_id, who=who, version=current.version, values=values)


# --------------------------------------------------------------------------- export


def export_invoice(analysis, decisions: dict[str, Decision], matter_id: str, invoice_number: str,
                   invoice_date: dt.date, *, approved_only: bool = True) -> LedesExport:
    """The matter's LEDES 1998B file, or RefusedError listing why not (validator errors, LEDES rules)."""
    from .ledes import build_invoice, ledes_problems, to_ledes_1998b

    firm, period = analysis.firm, analysis.period
    if not invoice_number.strip():
        raise ConfigError("enter an invoice number")
    entries = current_entries(analysis, decisions)
    mine = [e for e in entries if e.matter_id == matter_id and period.contains(e.date)]
    approved = [e for e in mine if _status(decisions, e.entry_id) == "approved"]
    billed = approved if approved_only else mine
    flags = entry_flags(entries, firm, analysis.expenses)
    if flags is None:
        raise RefusedError("the validator is not installed, so no invoice can be exported",
                           ["install assistant.validate"])
    reasons = [f"entry {e.entry_id}: {f.message}" for e in billed for f in flags.get(e.entry_id, [])
               if f.severity == "error"]
    if reasons:
        raise RefusedError(f"the invoice for {matter_id} is refused: {len(reasons)} error flag(s) on its entries",
                           reasons)
    invoice = build_invoice(billed, analysis.expenses, firm, matter_id, invoice_number.strip(), invoice_date, period)
    problems = ledes_problems(invoice, firm)
    if problems:
        raise RefusedError(f"the invoice for {matter_id} would break the LEDES 1998B rules", problems)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{matter_id}_{invoice_number.strip()}")
    return LedesExport(text=to_ledes_1998b(invoice), filename=f"{safe}.ledes.txt", lines=len(invoice.lines),
                       total=invoice.total, entries=len(billed),
                       unapproved=sum(1 for e in mine if _status(decisions, e.entry_id) != "approved"),
                       invoice=invoice, billed=billed)


def write_letter(kind: Literal["cover", "status"], analysis, decisions: dict[str, Decision], matter_id: str, *,
                 today: dt.date, export: LedesExport | None = None, engine=None) -> Letter:
    """A cover letter for an exported invoice, or a status report on the matter's reviewed entries."""
    import io

    from . import letters

    firm = analysis.firm
    if kind == "cover":
        if export is None or export.invoice is None:
            raise ConfigError("prepare the LEDES invoice first; the cover letter describes it")
        brief = letters.cover_brief(firm, matter_id, export.invoice, export.billed)
    else:
        entries = [e for e in current_entries(analysis, decisions) if e.matter_id == matter_id]
        brief = letters.status_brief(firm, matter_id, entries, analysis.period, today)
    template = letters.load_template(kind, firm.root)
    text = letters.write_letter(brief, engine=engine, template=template)
    buf = io.BytesIO()
    letters.letter_docx(text, brief).save(buf)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{matter_id}_{kind}")
    return Letter(kind=kind, markdown=text, docx=buf.getvalue(), filename=safe)


def _status(decisions: dict[str, Decision], item_id: str) -> str:
    d = decisions.get(item_id)
    return d.status if d else "pending"


# --------------------------------------------------------------------------- gap figures


def matter_figures(analysis) -> list[MatterFigures]:
    """Worked, entered, covered and missing hours and the recoverable amount per matter."""
    from .worktime import analyse_keys

    firm = analysis.firm
    out: dict[str, MatterFigures] = {}

    def fig(matter_id: str) -> MatterFigures:
        if matter_id not in out:
            m = firm.matter(matter_id)
            c = firm.client(m.client_id) if m else None
            out[matter_id] = MatterFigures(matter_id=matter_id, matter=m.name if m else matter_id,
                                           client=c.name if c else "", billing_type=m.billing_type if m else "")
        return out[matter_id]

    for k in analyse_keys(analysis.activities, analysis.entries, firm):
        f = fig(k.key[2])
        f.worked_hours += k.worked_hours
        f.covered_hours += k.covered_hours
        f.gap_hours += k.gap_hours
    for e in analysis.entries:
        fig(e.matter_id).entered_hours += e.hours
    for g in analysis.gaps:
        fig(g.matter_id).recoverable_amount += g.amount
    return sorted(out.values(), key=lambda f: (-f.recoverable_amount, -f.gap_hours, f.matter_id))


def daily_figures(analysis) -> list[dict[str, Any]]:
    """Worked and entered hours per timekeeper and day (for the chart)."""
    from .worktime import analyse_keys

    firm = analysis.firm
    worked: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    entered: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    for k in analyse_keys(analysis.activities, analysis.entries, firm):
        worked[(k.key[0], k.key[1])] += k.worked_hours
    for e in analysis.entries:
        entered[(e.timekeeper_id, e.date)] += e.hours
    names = {t.timekeeper_id: t.name for t in firm.timekeepers}
    return [{"date": day, "timekeeper_id": tk, "timekeeper": names.get(tk, tk),
             "worked_hours": float(worked.get((tk, day), 0)), "entered_hours": float(entered.get((tk, day), 0))}
            for tk, day in sorted(set(worked) | set(entered), key=lambda k: (k[1], k[0]))]


def gap_detail(analysis, gap: Gap) -> tuple[list[Activity], list[Draft]]:
    """The evidence behind a gap and the drafts proposed for it."""
    acts = [a for a in (analysis.activity(i) for i in gap.activity_ids) if a is not None]
    drafts = [d for d in analysis.drafts if (d.timekeeper_id, d.date, d.matter_id) ==
              (gap.timekeeper_id, gap.date, gap.matter_id)]
    return acts, drafts
