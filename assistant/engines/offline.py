"""The offline engine: deterministic narratives (assistant.narratives) and codes (assistant.codes).

It is what a firm gets with no model at all, and the result every LLM engine falls back to.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pydantic import BaseModel

from ..models import Activity, CodeSuggestion, Draft, FirmData
from .base import CodeItem, Engine, NarrateItem, RewriteItem

_SPACE = re.compile(r"\s+")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f|\[\]{}<>]+")


class OfflineEngine(Engine):
    name = "offline"

    def narrate(self, items: list[NarrateItem]) -> list[Draft]:
        """A draft that already has a narrative (the pipeline writes them) keeps it; codes fill where empty."""
        drafts = [
            item.draft.model_copy(update={
                "narrative": item.draft.narrative or offline_narrative(item.draft, item.evidence(), item.firm),
                "engine": "offline",
            })
            for item in items
        ]
        return fill_codes(drafts, [item.firm for item in items])

    def rewrite(self, items: list[RewriteItem]) -> list[str]:
        return [improve_narrative(item) for item in items]

    def code(self, items: list[CodeItem]) -> list[CodeSuggestion]:
        out: list[CodeSuggestion | None] = [None] * len(items)
        by_set: dict[str, list[int]] = defaultdict(list)
        for i, item in enumerate(items):
            by_set[item.code_set].append(i)
        for code_set, idx in by_set.items():
            suggestions = suggest_many([items[i].narrative for i in idx], code_set,
                                       [items[i].kind_hint for i in idx])
            for i, s in zip(idx, suggestions):
                out[i] = s
        return [s or CodeSuggestion() for s in out]

    def write_letter(self, kind: str, brief: BaseModel, offline_text: str) -> str:
        return offline_text


# --------------------------------------------------------------------------- helpers


def clean(text: str) -> str:
    return _SPACE.sub(" ", _UNSAFE.sub(" ", text or "")).strip()


def offline_narrative(draft: Draft, activities: list[Activity], firm: FirmData) -> str:
    try:
        from ..narratives import narrate_offline
    except ImportError:  # the lead's module not there yet: a plain template
        return _template(draft, activities)
    return narrate_offline(draft, activities, firm)


def _template(draft: Draft, activities: list[Activity]) -> str:
    titles = [clean(a.title) for a in activities if clean(a.title)]
    verbs = {"meeting": "Conference", "call": "Telephone conference", "document": "Draft and revise",
             "email_sent": "Draft correspondence", "email_received": "Review correspondence"}
    lead = max(activities, key=lambda a: a.minutes, default=None)
    head = verbs.get(lead.kind, "Attend to matter") if lead else "Attend to matter"
    return f"{head} re: {titles[0][:80]}" if titles else head


def suggest_many(narratives: list[str], code_set: str, kind_hints: list[str | None] | None = None
                 ) -> list[CodeSuggestion]:
    if code_set == "none" or not narratives:
        return [CodeSuggestion(needs_review=False) for _ in narratives]
    try:
        from .. import codes
        return codes.suggest_many(narratives, code_set, kind_hints=kind_hints)
    except (ImportError, AttributeError, KeyError):
        return [CodeSuggestion() for _ in narratives]


def fill_codes(drafts: list[Draft], firms: list[FirmData]) -> list[Draft]:
    """Task/activity codes from the offline coder where a draft has none."""
    need: dict[str, list[int]] = defaultdict(list)
    for i, (d, firm) in enumerate(zip(drafts, firms)):
        matter = firm.matter(d.matter_id)
        if matter and matter.code_set != "none" and not (d.task_code and d.activity_code):
            need[matter.code_set].append(i)
    out = list(drafts)
    for code_set, idx in need.items():
        for i, s in zip(idx, suggest_many([drafts[i].narrative for i in idx], code_set)):
            out[i] = out[i].model_copy(update={
                "task_code": out[i].task_code or s.task_code,
                "activity_code": out[i].activity_code or s.activity_code,
            })
    return out


VAGUE_RULES = {"vague_narrative", "guideline:min_narrative_words"}


def improve_narrative(item: RewriteItem) -> str:
    """Rule-based rewrite: a vague narrative gets the evidence's task, people and subject.

    Without evidence it names the matter; it never adds work the evidence does not show.
    """
    original = clean(item.entry.narrative)
    rules = {f.rule for f in item.flags}
    if not rules & VAGUE_RULES and not (len(original.split()) < 3):
        return item.entry.narrative
    acts = [a for a in item.activities if a.timekeeper_id == item.entry.timekeeper_id] or item.activities
    if acts and item.firm is not None:
        probe = Draft(draft_id=item.entry.entry_id, date=item.entry.date,
                      timekeeper_id=item.entry.timekeeper_id, matter_id=item.entry.matter_id,
                      hours=item.entry.hours, narrative="", evidence=[a.activity_id for a in acts])
        better = clean(offline_narrative(probe, acts, item.firm))
        if better and better.casefold() != original.casefold():
            return better
    subject = clean(item.matter_name)
    if subject and subject.casefold() not in original.casefold():
        return f"{original.rstrip('.;,')} re: {subject}" if original else f"Attend to {subject}"
    return item.entry.narrative
