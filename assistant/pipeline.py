"""analyze(): a firm folder and a period in, every figure of the gap analysis out.

This is the only place that strings the steps together (ingest → match → worked time → gaps →
drafts → codes), so the CLI, the sweep and the app all see the same numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr

from . import folder
from .ingest import entries as entry_files
from .matching import confirm_queue, match_activities
from .models import (
    SOURCES, Activity, ConfirmItem, Draft, Expense, FirmData, Gap, Model, Period, RecordCounts, Rejection,
    SourceResult, TimeEntry,
)
from .narratives import narrate
from .worktime import KeyResult, analyse_keys, entries_without_evidence, local_date

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total) — stages: calendar, mail, calls, documents, matching, drafts."""


class Analysis(Model):
    firm: FirmData
    period: Period
    activities: list[Activity]
    rejections: list[Rejection]
    counts: dict[str, RecordCounts]
    entries: list[TimeEntry]
    """Recorded entries dated in the period."""
    expenses: list[Expense] = Field(default_factory=list)
    drafts: list[Draft]
    gaps: list[Gap]
    confirm: list[ConfirmItem]
    summary: dict[str, Any]

    _activity_index: dict[str, Activity] | None = PrivateAttr(default=None)

    def activity(self, activity_id: str) -> Activity | None:
        index = self._activity_index
        if index is None or len(index) != len(self.activities):
            index = self._activity_index = {a.activity_id: a for a in self.activities}
        return index.get(activity_id)


def analyze(firm_dir: Path | str, period: Period, *, engine=None, progress: Progress | None = None,
            workers: int = 2) -> Analysis:
    firm = folder.load_firm(firm_dir)
    result, counts = ingest_sources(firm_dir, firm, period, progress=progress, workers=workers)
    # The coder (sklearn import and training, a few seconds) gets ready while entries are read and
    # activities matched. Not earlier: parsing forks worker processes, and forking while another
    # thread is importing modules can leave a child waiting on a lock nobody will release.
    warm = threading.Thread(target=_warm_coder, name="tenths-coder-warmup", daemon=True)
    warm.start()
    entries, expenses, entry_rejections, entry_counts = read_entries(firm_dir, firm, period)
    counts.update(entry_counts)
    _tick(progress, "matching", 0, 1)
    activities = match_activities(result.activities, firm)
    _tick(progress, "matching", 1, 1)
    keys = analyse_keys(activities, entries, firm)
    warm.join()
    drafts, gaps = drafts_and_gaps(keys, firm, engine=engine, progress=progress)
    confirm = confirm_queue(activities, firm)
    summary = summarize(firm, period, counts, keys, entries, activities, gaps, engine)
    return Analysis(firm=firm, period=period, activities=activities,
                    rejections=result.rejections + entry_rejections, counts=counts, entries=entries,
                    expenses=expenses, drafts=drafts, gaps=gaps, confirm=confirm, summary=summary)


# --------------------------------------------------------------------------- ingestion


def ingest_sources(firm_dir: Path | str, firm: FirmData, period: Period, *, progress: Progress | None = None,
                   workers: int = 2) -> tuple[SourceResult, dict[str, RecordCounts]]:
    from .ingest import calendar, calls, documents, mail

    files = folder.source_files(firm_dir)
    parsers = {"calendar": calendar.parse_ics, "calls": calls.parse_calls, "documents": documents.parse_documents}
    total = SourceResult()
    counts: dict[str, RecordCounts] = {}
    for source in SOURCES:
        paths = files[source]
        merged = SourceResult()
        if source == "mail":
            usable = [(p, folder.relative(firm_dir, p)) for p in paths if not _too_big(p, source, firm_dir, merged)]
            if usable:
                merged.extend(mail.parse_mail_files(
                    usable, firm, period, workers=workers,
                    progress=(lambda d, t: progress("mail", d, t)) if progress else None))
        else:
            usable = [p for p in paths if not _too_big(p, source, firm_dir, merged)]
            jobs = [(parsers[source], source, p, folder.relative(firm_dir, p), firm, period) for p in usable]
            for i, part in enumerate(_run_parsers(jobs, workers if source == "calendar" else 1)):
                _tick(progress, source, i, len(jobs))
                merged.extend(part)
        _tick(progress, source, len(paths), len(paths))
        counts[source] = merged.counts
        total.extend(merged)
    return total, counts


def _run_parsers(jobs: list[tuple], workers: int):
    """Parse files in order, on several processes when it pays (calendars: icalendar is CPU-bound)."""
    if workers <= 1 or len(jobs) < 2:
        yield from (_parse_safely(*job) for job in jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        yield from pool.map(_parse_job, jobs, chunksize=max(1, len(jobs) // (workers * 4)))


def _parse_job(job: tuple) -> SourceResult:
    return _parse_safely(*job)


def _parse_safely(parser, source: str, path: Path, rel: str, firm: FirmData, period: Period) -> SourceResult:
    """Parsers never raise by contract; if one does, the file is rejected whole rather than lost."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return SourceResult(rejections=[Rejection(source=source, source_ref=rel, status="rejected",
                                                  reason=f"unreadable file ({e.strerror})")])
    try:
        return parser(data, rel, firm, period)
    except Exception as e:  # noqa: BLE001 - the last line of defence of the accounting invariant
        log.exception("parser %s failed on %s", source, rel)
        return SourceResult(rejections=[Rejection(source=source, source_ref=rel, status="rejected",
                                                  reason=f"could not be read ({type(e).__name__})")])


def _too_big(path: Path, source: str, firm_dir, result: SourceResult) -> bool:
    size = path.stat().st_size
    if size <= folder.MAX_SOURCE_BYTES:
        return False
    result.rejections.append(Rejection(
        source=source, source_ref=folder.relative(firm_dir, path), status="rejected",
        reason=f"file is {size // 2**20} MiB, over the {folder.MAX_SOURCE_BYTES // 2**20} MiB limit per file"))
    return True


def read_entries(firm_dir: Path | str, firm: FirmData, period: Period):
    """Recorded entries and expenses dated in the period (rows outside it are not counted)."""
    root = Path(firm_dir)
    entries: list[TimeEntry] = []
    expenses: list[Expense] = []
    rejections: list[Rejection] = []
    counts: dict[str, RecordCounts] = {}
    for name, parse, sink in (("time_entries", entry_files.parse_time_entries, entries),
                              ("expenses", entry_files.parse_expenses, expenses)):
        path = root / f"{name}.csv"
        if not path.is_file():
            continue
        items, rejected = parse(path.read_bytes(), path.name, firm)
        in_period = [x for x in items if period.contains(x.date)]
        if name == "time_entries":
            # Hours of a timekeeper the firm does not know belong to nobody's figures: say so, do not drop them.
            unknown = [x for x in in_period if firm.timekeeper(x.timekeeper_id) is None]
            rejected = [*rejected, *(Rejection(source=name, source_ref=x.source_ref or path.name, status="rejected",
                                               reason=f"unknown timekeeper {x.timekeeper_id} (not in timekeepers.csv)")
                                     for x in unknown)]
            in_period = [x for x in in_period if firm.timekeeper(x.timekeeper_id) is not None]
        sink.extend(in_period)
        rejections.extend(rejected)
        counts[name] = RecordCounts(read=len(in_period) + len(rejected), activities=len(in_period),
                                    rejected=len(rejected))
    return entries, expenses, rejections, counts


# --------------------------------------------------------------------------- gaps and drafts


def drafts_and_gaps(keys: list[KeyResult], firm: FirmData, *, engine=None,
                    progress: Progress | None = None) -> tuple[list[Draft], list[Gap]]:
    gaps: list[Gap] = []
    drafts: list[Draft] = []
    evidence: dict[str, list[Activity]] = {}
    context: dict[str, list[Activity]] = {}
    for k in keys:
        if k.gap_hours <= 0:
            continue
        tk_id, day, matter_id = k.key
        matter = firm.matter(matter_id)
        tk = firm.timekeeper(tk_id)
        hourly = matter is not None and matter.billing_type == "hourly"
        rate = matter.rate_for(tk) if (hourly and tk) else Decimal(0)
        uncovered = k.uncovered_activities
        gaps.append(Gap(timekeeper_id=tk_id, date=day, matter_id=matter_id,
                        activity_ids=[a.activity_id for a in uncovered],
                        minutes=sum(s.minutes for s in k.slots), hours=k.gap_hours,
                        amount=(k.gap_hours * rate).quantize(Decimal("0.01"))))
        by_narrative: dict[str, Draft] = {}
        for slot in k.slots:
            ids = [a.activity_id for a in slot.activities]
            draft = Draft(draft_id=draft_id(tk_id, day, matter_id, ids), date=day, timekeeper_id=tk_id,
                          matter_id=matter_id, hours=slot.hours, narrative="", evidence=ids,
                          confidence=round(min(a.match_confidence for a in slot.activities), 2))
            draft.narrative, borrowed = narrate(draft, slot.activities, firm, context=k.activities)
            draft.evidence += borrowed
            same = by_narrative.get(draft.narrative.casefold())
            if same is not None:
                # Two tasks that read the same (two sessions on one memo, two meetings on one subject) are one
                # entry: two identical entries on one key are what the validator refuses as a duplicate.
                acts = evidence.pop(same.draft_id) + slot.activities
                context.pop(same.draft_id)
                same.evidence += [i for i in draft.evidence if i not in same.evidence]
                same.hours += draft.hours
                same.confidence = min(same.confidence, draft.confidence)
                same.draft_id = draft_id(tk_id, day, matter_id, [a.activity_id for a in acts])
                evidence[same.draft_id], context[same.draft_id] = acts, k.activities
                continue
            by_narrative[draft.narrative.casefold()] = draft
            evidence[draft.draft_id] = slot.activities
            context[draft.draft_id] = k.activities
            drafts.append(draft)
    _code_drafts(drafts, evidence, firm)
    if engine is not None and getattr(engine, "name", "offline") != "offline":
        drafts = _narrate_with(engine, drafts, context, firm, progress)
    return drafts, gaps


def draft_id(timekeeper_id: str, day: dt.date, matter_id: str, evidence_ids: list[str]) -> str:
    """Stable for the same evidence, so a reviewer's decision on a draft survives a re-analysis."""
    raw = "|".join([timekeeper_id, day.isoformat(), matter_id, *sorted(evidence_ids)])
    return "D" + hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


def _code_drafts(drafts: list[Draft], evidence: dict[str, list[Activity]], firm: FirmData) -> None:
    """Batch-code drafts per code set; a code the coder is not confident of stays empty for a reviewer."""
    from .coder import annotate_roles
    from .codes import suggest_many

    by_set: dict[str, list[Draft]] = defaultdict(list)
    for d in drafts:
        matter = firm.matter(d.matter_id)
        if matter is not None and matter.code_set != "none":
            by_set[matter.code_set].append(d)
    for code_set, group in sorted(by_set.items()):
        hints = [_lead_kind(evidence[d.draft_id]) for d in group]
        # Who a named person is (client, colleague, outsider) decides the activity code.
        texts = [annotate_roles(d.narrative, firm, firm.matter(d.matter_id).client_id) for d in group]
        for d, s in zip(group, suggest_many(texts, code_set, kind_hints=hints)):
            d.task_code, d.activity_code = s.task_code, s.activity_code


def _warm_coder() -> None:
    try:
        from .coder import default_coder
        default_coder()
    except Exception:  # noqa: BLE001 - a failure here resurfaces, with its message, when drafts are coded
        log.debug("coder warm-up failed", exc_info=True)


def _lead_kind(activities: list[Activity]) -> str:
    return max(activities, key=lambda a: (a.minutes, a.activity_id)).kind


def _narrate_with(engine, drafts: list[Draft], context: dict[str, list[Activity]], firm: FirmData,
                  progress: Progress | None) -> list[Draft]:
    """A model rewrites the offline narratives; its engine gates every answer and keeps the offline one on refusal."""
    from .engines.base import NarrateItem

    items = []
    for d in drafts:
        matter = firm.matter(d.matter_id)
        client = firm.client(matter.client_id) if matter else None
        tk = firm.timekeeper(d.timekeeper_id)
        items.append(NarrateItem(draft=d, activities=context[d.draft_id], firm=firm,
                                 matter_name=matter.name if matter else "", client_name=client.name if client else "",
                                 timekeeper_name=tk.name if tk else ""))
    _tick(progress, "drafts", 0, len(items))
    out = engine.narrate(items)
    _tick(progress, "drafts", len(items), len(items))
    return out


# --------------------------------------------------------------------------- summary


def summarize(firm: FirmData, period: Period, counts: dict[str, RecordCounts], keys: list[KeyResult],
              entries: list[TimeEntry], activities: list[Activity], gaps: list[Gap], engine) -> dict[str, Any]:
    per_tk: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    by_type: dict[str, Decimal] = defaultdict(Decimal)
    for k in keys:
        t = per_tk[k.key[0]]
        t["worked_hours"] += k.worked_hours
        t["covered_hours"] += k.covered_hours
        t["gap_hours"] += k.gap_hours
        matter = firm.matter(k.key[2])
        by_type[matter.billing_type if matter else "unknown"] += k.gap_hours
    for e in entries:
        per_tk[e.timekeeper_id]["entered_hours"] += e.hours
    for g in gaps:
        per_tk[g.timekeeper_id]["recoverable_amount"] += g.amount
    unassigned = defaultdict(int)
    for a in activities:
        if a.matter_id is None:
            unassigned[a.timekeeper_id] += a.minutes
    no_evidence = entries_without_evidence(entries, activities, firm)

    def figures(d) -> dict[str, Any]:
        worked, covered = d["worked_hours"], d["covered_hours"]
        return {
            "worked_hours": float(worked), "entered_hours": float(d["entered_hours"]),
            "covered_hours": float(covered), "gap_hours": float(d["gap_hours"]),
            "capture_rate": round(float(covered / worked), 4) if worked else 1.0,
            "recoverable_amount": float(d["recoverable_amount"]),
        }

    total: dict[str, Decimal] = defaultdict(Decimal)
    timekeepers = {}
    for tk in firm.timekeepers:
        d = per_tk.get(tk.timekeeper_id, defaultdict(Decimal))
        for name, value in d.items():
            total[name] += value
        timekeepers[tk.timekeeper_id] = {"name": tk.name, **figures(d),
                                         "unassigned_minutes": unassigned.get(tk.timekeeper_id, 0)}
    summary: dict[str, Any] = {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "records": {name: c.model_dump() for name, c in counts.items()},
        **figures(total),
        "currency": firm.firm.currency,
        "gap_hours_by_billing_type": {k: float(v) for k, v in sorted(by_type.items())},
        "unassigned_activities": sum(1 for a in activities if a.matter_id is None),
        "entries_without_evidence": {"count": len(no_evidence),
                                     "hours": float(sum((e.hours for e in no_evidence), Decimal(0))),
                                     "entry_ids": [e.entry_id for e in no_evidence]},
        "timekeepers": timekeepers,
        "engine": _engine_stats(engine),
    }
    return summary


def _engine_stats(engine) -> dict[str, Any]:
    if engine is None:
        return {"name": "offline", "calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cache_hits": 0}
    stats = getattr(engine, "stats", None)
    data = stats.model_dump() if hasattr(stats, "model_dump") else {}
    return {"name": getattr(engine, "name", "offline"), **data}


def _tick(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


__all__ = ["Analysis", "analyze", "ingest_sources", "read_entries", "drafts_and_gaps", "summarize", "draft_id",
           "local_date"]
