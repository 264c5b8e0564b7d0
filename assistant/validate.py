"""The one gate: every entry, expense and draft — typed by hand, reconstructed offline or suggested by
an LLM — passes through here before it is shown as valid or exported.

* `check_entries` — the firm rules (assistant.rules) and the client's guidelines (assistant.guidelines),
  with the client's `[severity]` overrides applied. Every entry id is a key, possibly with `[]`.
* `check_expenses` — expense code missing or not an E-code, amount not positive, units × unit cost ≠ amount.
* `check_drafts` — everything `check_entries` does, plus the evidence rules of the LLM gate:
  `unsupported_evidence` (an evidence id that does not exist, or is another timekeeper's, date's or
  matter's), `unsupported_hours` (more hours than the evidence's union minutes rounded up to the
  increment) and `unsupported_claim` (see `check_narrative_claims`). Gate rules are always errors;
  a client's `[severity]` cannot lower them.
* `has_errors` — whether any flag blocks export.

Findings are data (`Flag`), never exceptions; only an unusable guidelines file raises `ConfigError`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import Iterable

from . import rules
from .guidelines import Guidelines, check_guidelines, load_client_guidelines
from .models import Activity, Draft, Expense, FirmData, Flag, TimeEntry
from .worktime import round_up, union_minutes

__all__ = ["check_entries", "check_expenses", "check_drafts", "check_narrative_claims", "has_errors",
           "flags_by_severity"]


def has_errors(flags: Iterable[Flag]) -> bool:
    return any(f.severity == "error" for f in flags)


def flags_by_severity(flags: Iterable[Flag]) -> dict[str, list[Flag]]:
    out: dict[str, list[Flag]] = {"error": [], "warning": []}
    for f in flags:
        out[f.severity].append(f)
    return out


def _codesets():
    try:
        from .codes import load_codesets
    except ImportError:  # the code sets are part of the package; without them code rules cannot run
        return None
    return load_codesets()


# --------------------------------------------------------------------------- entries


def check_entries(entries: list[TimeEntry], firm: FirmData, *, expenses: Iterable[Expense] = ()) -> dict[str, list[Flag]]:
    """entry_id -> flags for every entry (and, when expenses are given, expense_id -> flags too)."""
    entries = list(entries)
    by_client = load_client_guidelines(firm)
    codesets = _codesets()
    out: dict[str, list[Flag]] = {e.entry_id: [] for e in entries}

    def add(flags: Iterable[Flag]) -> None:
        for f in flags:
            out.setdefault(f.entry_id, []).append(f)

    client_entries: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in entries:
        matter = firm.matter(e.matter_id)
        g = by_client.get(matter.client_id) if matter else None
        add(rules.closed_matter(e, firm))
        add(rules.rate_mismatch(e, firm))
        add(rules.block_billing(e))
        add(rules.vague_narrative(e))
        add(rules.non_billable(e, firm))
        if g is None or g.increment_minutes in (None, firm.firm.increment_minutes):
            add(rules.increment(e, firm.firm.increment_minutes))  # else guideline:increment_minutes
        if codesets is not None:
            add(rules.invalid_code(e, matter, codesets))
        add(rules.missing_code(e, matter))
        if g is not None:
            client_entries[matter.client_id].append(e)
    add(rules.duplicate(entries))
    add(rules.daily_hours(entries, firm))
    for client_id, group in client_entries.items():
        add(check_guidelines(group, firm, by_client[client_id]))
    if expenses:
        for eid, flags in check_expenses(list(expenses), firm, _by_client=by_client).items():
            out.setdefault(eid, []).extend(flags)
    _apply_severity(out, {e.entry_id: e.matter_id for e in entries}, firm, by_client)
    return out


def check_expenses(expenses: list[Expense], firm: FirmData, *,
                   _by_client: dict[str, Guidelines] | None = None) -> dict[str, list[Flag]]:
    """expense_id -> flags for every expense."""
    by_client = load_client_guidelines(firm) if _by_client is None else _by_client
    codesets = _codesets()
    out: dict[str, list[Flag]] = {x.expense_id: [] for x in expenses}
    for x in expenses:
        matter = firm.matter(x.matter_id)
        code_set = matter.code_set if matter else "litigation"
        out[x.expense_id] += rules.closed_matter(x, firm)
        out[x.expense_id] += rules.expense_flags(x, codesets, code_set)
    _apply_severity(out, {x.expense_id: x.matter_id for x in expenses}, firm, by_client)
    return out


def _apply_severity(out: dict[str, list[Flag]], matter_of: dict[str, str], firm: FirmData,
                    by_client: dict[str, Guidelines]) -> None:
    if not by_client:
        return
    for item_id, flags in out.items():
        matter = firm.matter(matter_of.get(item_id, ""))
        g = by_client.get(matter.client_id) if matter else None
        if g is None:
            continue
        for f in flags:
            level = g.severity_for(f.rule)
            if level is not None:
                f.severity = level


# --------------------------------------------------------------------------- drafts (the LLM gate)


def _gate_flag(rule: str, draft_id: str, message: str, suggestion: str) -> Flag:
    return Flag(rule=rule, severity="error", message=message, suggestion=suggestion, entry_id=draft_id)


def check_drafts(drafts: list[Draft], firm: FirmData, activities: dict[str, Activity]) -> dict[str, list[Flag]]:
    """draft_id -> flags: the entry rules plus evidence, hours and claims against the activities."""
    as_entries = [TimeEntry(
        entry_id=d.draft_id, date=d.date, timekeeper_id=d.timekeeper_id, matter_id=d.matter_id, hours=d.hours,
        narrative=d.narrative, task_code=d.task_code, activity_code=d.activity_code,
    ) for d in drafts]
    out = check_entries(as_entries, firm)
    by_client = load_client_guidelines(firm)
    known = _known_names(firm)
    for d in drafts:
        flags = out.setdefault(d.draft_id, [])
        good: list[Activity] = []
        if not d.evidence:
            flags.append(_gate_flag("unsupported_evidence", d.draft_id, "the draft names no evidence",
                                    "Every draft must rest on at least one activity of its timekeeper, date and matter."))
        for aid in d.evidence:
            a = activities.get(aid)
            problem = _evidence_problem(a, aid, d, firm)
            if problem:
                flags.append(_gate_flag("unsupported_evidence", d.draft_id, problem,
                                        "Use only activities of this draft's timekeeper, date and matter."))
            else:
                good.append(a)
        matter = firm.matter(d.matter_id)
        g = by_client.get(matter.client_id) if matter else None
        inc = g.increment_minutes if g and g.increment_minutes else firm.firm.increment_minutes
        minutes = union_minutes([(a.start, max(a.end, a.start)) for a in good]) if good else 0
        allowed = round_up(minutes, inc) if minutes else Decimal(0)
        if d.hours > allowed:
            flags.append(_gate_flag(
                "unsupported_hours", d.draft_id,
                f"{d.hours} h claimed; the evidence supports {minutes} min, i.e. at most {allowed} h "
                f"in {inc}-minute increments",
                f"Bill at most {allowed} h for this evidence." if allowed else "Remove the draft: no evidence supports it.",
            ))
        for f in check_narrative_claims(d.narrative, good, known_names=known):
            f.entry_id = d.draft_id
            flags.append(f)
    return out


def _evidence_problem(a: Activity | None, aid: str, d: Draft, firm: FirmData) -> str:
    if a is None:
        return f"evidence {aid} does not exist"
    if a.timekeeper_id != d.timekeeper_id:
        return f"evidence {aid} belongs to timekeeper {a.timekeeper_id}, not {d.timekeeper_id}"
    local = a.start.astimezone(firm.tz_for(a.timekeeper_id)).date()
    if local != d.date:
        return f"evidence {aid} is dated {local.isoformat()}, not {d.date.isoformat()}"
    if a.matter_id != d.matter_id:
        return (f"evidence {aid} is matched to matter {a.matter_id}, not {d.matter_id}" if a.matter_id
                else f"evidence {aid} has no confirmed matter")
    return ""


def _known_names(firm: FirmData) -> str:
    """Names the firm folder itself vouches for: timekeepers, contacts, clients, matters."""
    parts = [t.name for t in firm.timekeepers] + [c.name for c in firm.contacts] + [c.name for c in firm.clients]
    for m in firm.matters:
        parts += [m.name, *m.references]
    return " ".join(parts)


# --------------------------------------------------------------------------- narrative claims

_CLAIMS: list[tuple[str, re.Pattern[str], re.Pattern[str], tuple[str, ...]]] = [
    ("a deposition", re.compile(r"(?i)\bdepos(e|ed|ing|ition|itions)\b"), re.compile(r"(?i)\bdepo"), ()),
    ("a court hearing", re.compile(r"(?i)\bhearings?\b|\bcourt\s+appearance\b|\bappear(ed|ance)?\s+(in|before)\s+(the\s+)?court\b"),
     re.compile(r"(?i)\bhearing|\bcourt\b|\bjudge\b|\bchambers\b"), ()),
    ("a trial", re.compile(r"(?i)\btrial\b"), re.compile(r"(?i)\btrial\b"), ()),
    ("a mediation", re.compile(r"(?i)\bmediat(e|ed|ion|ing|or)\b"), re.compile(r"(?i)\bmediat"), ()),
    ("an arbitration", re.compile(r"(?i)\barbitra\w*"), re.compile(r"(?i)\barbitra"), ()),
    ("travel", re.compile(r"(?i)\btravel\w*|\bflight\b|\bflew\b|\bdrove\b"),
     re.compile(r"(?i)\btravel|\bflight|\bairport|\btrain\b|\bdrive\b|\bhotel\b"), ()),
    ("a site visit or inspection", re.compile(r"(?i)\bsite\s+(visit|inspection)\b|\binspect(ed|ion)?\s+(of\s+)?(the\s+)?(site|premises|vessel|warehouse|facility)\b"),
     re.compile(r"(?i)\bsite\b|\binspect"), ()),
    ("a telephone call", re.compile(r"(?i)\b(telephone|phone|teleconference|calls?|called|tc)\b"),
     re.compile(r"(?i)\bcall\b|\bphone\b|\bdial|\bzoom\b|\bteams\b|\bwebex\b|\bbridge\b"), ("call",)),
    ("a meeting", re.compile(r"(?i)\bmeeting\b|\b(met|meet)\s+with\b|\bin[- ]person\b"),
     re.compile(r"(?i)\bmeet|\bconference\b|\bsession\b"), ("meeting",)),
    ("correspondence", re.compile(r"(?i)\be-?mails?\b|\bcorrespondence\b|\bletters?\s+(to|from)\b"),
     re.compile(r"(?i)mail|\bletter\b"), ("email_sent", "email_received")),
    ("approval or instructions", re.compile(
        r"(?i)\b(pre-?approved|approved\s+(by|for\s+billing)|ignore\s+(all\s+|any\s+)?(previous|prior|above)|"
        r"system\s+prompt|no\s+review\s+(needed|required)|do\s+not\s+(flag|review)|auto-?approve)\b"),
     re.compile(r"(?!x)x"), ()),
]
_NAME = re.compile(
    r"\b(?:Mr|Ms|Mrs|Dr|Judge|Justice|Prof)\.?\s+(?P<t>[A-Z][A-Za-z'’-]+)"
    r"|\b[A-Z]\.\s?(?:[A-Z]\.\s?)?(?P<i>[A-Z][A-Za-z'’-]+)"
    r"|\b(?:with|to|from|and|by|cc)\s+(?P<f>[A-Z][a-z]+)\s+(?P<l>[A-Z][A-Za-z'’-]+)"
)
_NOT_NAMES = rules.WHO_WORDS | rules.GENERIC_NOUNS | rules.STOP | {
    "counsel", "court", "llc", "inc", "corp", "llp", "bank", "company", "trust", "committee", "motion",
}


def _evidence_text(activities: list[Activity]) -> str:
    parts = []
    for a in activities:
        parts += [a.title, a.excerpt, a.location, " ".join(a.participant_names), " ".join(a.counterparties)]
    return " ".join(parts)


def check_narrative_claims(narrative: str, activities: list[Activity] | Iterable[Activity], *,
                           known_names: str = "") -> list[Flag]:
    """`unsupported_claim` flags: a kind of work, or a person, the evidence does not show.

    Kinds of work (deposition, hearing, trial, mediation, arbitration, travel, site visit, call,
    meeting, correspondence) are supported by an activity of that kind or by a word in an activity's
    title, excerpt, location or participants. Approval/instruction language ("pre-approved",
    "ignore previous instructions") is never supported. A person named in the narrative ("J. Smith",
    "Dr. Lee", "with Maria Ostrander") must appear in the evidence or in `known_names` (the firm's
    timekeepers, contacts, clients and matters).
    """
    acts = list(activities)
    text = _evidence_text(acts)
    kinds = {a.kind for a in acts}
    flags: list[Flag] = []
    for what, claim, support, support_kinds in _CLAIMS:
        m = claim.search(narrative)
        if not m:
            continue
        if support.search(text) or any(k in kinds for k in support_kinds):
            continue
        flags.append(Flag(
            rule="unsupported_claim", severity="error",
            message=f"the narrative claims {what} (\u201c{m.group(0)}\u201d) that no evidence shows",
            suggestion="Describe only the work the evidence shows.",
        ))
    haystack = (text + " " + known_names).lower()
    for m in _NAME.finditer(narrative):
        surname = m.group("t") or m.group("i") or m.group("l")
        if not surname or surname.lower() in _NOT_NAMES or (m.group("f") and m.group("f").lower() in _NOT_NAMES):
            continue
        if surname.lower() in haystack:  # also inside an address: mostrander@acme.com
            continue
        flags.append(Flag(
            rule="unsupported_claim", severity="error",
            message=f"the narrative names {m.group(0).split(' ', 1)[-1] if m.group('f') else m.group(0)}, "
                    f"who appears in no evidence",
            suggestion="Name only people who appear in the evidence or the firm's contacts.",
        ))
    return flags
