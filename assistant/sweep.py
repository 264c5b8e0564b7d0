"""The end-of-day sweep: each timekeeper's unentered evidence as ready-to-approve prompts, and a digest.

Pure functions over an Analysis of one day; the command writes the files (sending comes later).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from .models import Draft, Model
from .pipeline import Analysis


class SweepPrompt(Model):
    timekeeper_id: str
    date: dt.date
    matter_id: str
    hours: Decimal
    narrative: str
    evidence: list[str]
    message: str
    draft_id: str = ""


def build_prompts(analysis: Analysis) -> list[SweepPrompt]:
    firm = analysis.firm
    prompts = []
    for d in sorted(analysis.drafts, key=lambda d: (d.timekeeper_id, d.date, d.matter_id, d.draft_id)):
        prompts.append(SweepPrompt(timekeeper_id=d.timekeeper_id, date=d.date, matter_id=d.matter_id, hours=d.hours,
                                   narrative=d.narrative, evidence=list(d.evidence), message=message(d, analysis),
                                   draft_id=d.draft_id))
    return prompts


def message(d: Draft, analysis: Analysis) -> str:
    firm = analysis.firm
    tk = firm.timekeeper(d.timekeeper_id)
    matter = firm.matter(d.matter_id)
    first = tk.first_name if tk else d.timekeeper_id
    matter_name = f"{matter.name} ({matter.matter_id})" if matter else d.matter_id
    sources, plural = _evidence_words(d, analysis)
    return (f"{first}, {sources} on {d.date:%a %-d %b} {'have' if plural else 'has'} no time entry. Proposed: {d.hours:.1f} h on "
            f"{matter_name} — \"{d.narrative}\". Reply APPROVE to enter it as drafted, or reply with your changes.")


def render_digest(analysis: Analysis, prompts: list[SweepPrompt]) -> str:
    firm = analysis.firm
    day = analysis.period.start
    by_tk: dict[str, list[SweepPrompt]] = defaultdict(list)
    for p in prompts:
        by_tk[p.timekeeper_id].append(p)
    queue: dict[str, int] = defaultdict(int)
    for c in analysis.confirm:
        queue[c.timekeeper_id] += 1
    lines = [f"# Still missing from {day:%A %-d %B %Y}", ""]
    if not prompts and not queue:
        lines += ["Every piece of evidence from this day is covered by a time entry. Nothing to do.", ""]
        return "\n".join(lines)
    total = sum((p.hours for p in prompts), Decimal(0))
    lines += [f"{_count(len(prompts), 'draft entry', 'draft entries')}, {total:.1f} h, "
              f"across {_count(len(by_tk), 'timekeeper', 'timekeepers')}.", ""]
    for tk in firm.timekeepers:
        items = by_tk.get(tk.timekeeper_id, [])
        if not items and not queue.get(tk.timekeeper_id):
            continue
        hours = sum((p.hours for p in items), Decimal(0))
        lines.append(f"## {tk.name} — {hours:.1f} h not entered")
        lines.append("")
        for p in items:
            matter = firm.matter(p.matter_id)
            lines.append(f"- {p.hours:.1f} h · {matter.name if matter else p.matter_id} · {p.narrative}")
        if queue.get(tk.timekeeper_id):
            n = queue[tk.timekeeper_id]
            lines.append(f"- {_count(n, 'activity needs', 'activities need')} a matter confirmed before "
                         f"{'it' if n == 1 else 'they'} can be billed")
        lines.append("")
    return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _evidence_words(d: Draft, analysis: Analysis) -> tuple[str, bool]:
    """The evidence in words ("a call", "3 emails you sent and a meeting"), and whether it is plural."""
    kinds = defaultdict(int)
    for aid in d.evidence:
        a = analysis.activity(aid)
        if a is not None:
            kinds[a.kind] += 1
    names = {"meeting": ("a meeting", "meetings"), "call": ("a call", "calls"),
             "email_sent": ("an email you sent", "emails you sent"),
             "email_received": ("an email you received", "emails you received"),
             "document": ("document work", "document sessions")}
    parts = [names[k][0] if n == 1 else f"{n} {names[k][1]}" for k, n in sorted(kinds.items())]
    if not parts:
        return "some work", False
    plural = len(parts) > 1 or sum(kinds.values()) > 1
    return (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]), plural
