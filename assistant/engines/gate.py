"""The gate: every model answer is checked before anything uses it; a refused one is replaced.

Two layers, both deterministic:
1. The engine's own invariants — a suggestion may not change the draft's timekeeper, date, matter
   or evidence, may not raise hours above the offline draft (the uncovered evidence, rounded up),
   may only use codes of the matter's code set, and may not claim work (a deposition, a hearing, …)
   or an approval that the evidence does not show.
2. The validator (`assistant.validate.check_drafts`, and `check_narrative_claims` where it exists):
   an error flag that the offline draft does not also have refuses the suggestion.

A refused suggestion is logged with its reason and the offline result stands, with a note.
"""

from __future__ import annotations

import logging
import re

from ..models import Activity, CodeSuggestion, Draft, FirmData, Flag, TimeEntry

log = logging.getLogger("tenths.engines.gate")

# Work a narrative may only claim when the evidence (titles, excerpts, the offline narrative) names it.
CLAIM_TERMS: dict[str, tuple[str, ...]] = {
    "deposition": ("deposition", "depose", "deposed", "depo"),
    "hearing": ("hearing",),
    "trial": ("trial",),
    "court appearance": ("court appearance", "appear in court", "appearance before", "appeared before",
                         "oral argument"),
    "mediation": ("mediation", "mediator", "mediate"),
    "arbitration": ("arbitration", "arbitrator", "arbitral"),
    "filing": ("file with the court", "filed with the court", "e-file", "efile", "filed the", "file the"),
    "travel": ("travel",),
    "site visit": ("site visit", "inspection"),
}
# Words no suggestion may carry, whatever the evidence says: they are claims about the bill, not work.
FORBIDDEN = re.compile(
    r"\b(pre-?approved|approved|approval|ignore (all|previous|the above)|no review needed|"
    r"do not review|bill in full|write[- ]?off|system prompt)\b",
    re.IGNORECASE,
)


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", (text or "").casefold()) + " "


def unsupported_claims(narrative: str, evidence_text: str) -> list[str]:
    """Claims of work in `narrative` that nothing in `evidence_text` names."""
    said, known = _words(narrative), _words(evidence_text)
    out = []
    for claim, terms in CLAIM_TERMS.items():
        for t in terms:
            w = _words(t)
            if w in said and not any(_words(x) in known for x in terms):
                out.append(f"the narrative claims a {claim} that the evidence does not show")
                break
    if FORBIDDEN.search(narrative or ""):
        out.append(f"the narrative contains {FORBIDDEN.search(narrative).group(0)!r}, a claim about the bill")
    return out


_CODE_TOKEN = re.compile(r"\b[ABCELP]\d{3}\b")
_GENERIC = {
    "attend", "attention", "review", "reviewed", "draft", "drafted", "revise", "revised", "prepare", "prepared",
    "analyze", "analysis", "conference", "telephone", "call", "calls", "email", "emails", "correspondence",
    "correspond", "communicate", "communication", "communications", "meeting", "meet", "discuss", "discussion",
    "regarding", "about", "with", "from", "into", "onto", "for", "and", "the", "that", "this", "those", "these",
    "work", "worked", "working", "matter", "matters", "file", "files", "issue", "issues", "various", "general",
    "client", "clients", "counsel", "research", "investigation", "development", "strategy", "follow", "update",
    "status", "other", "task", "tasks", "time", "entry", "related", "re",
}


def ungrounded(narrative: str, evidence: str) -> list[str]:
    """A narrative must name something the evidence names (a subject, a person, a document), and no codes."""
    reasons = []
    if _CODE_TOKEN.search(narrative or ""):
        reasons.append(f"the narrative contains a code ({_CODE_TOKEN.search(narrative).group(0)}), not a description")
    words = {w for w in re.findall(r"[a-z][a-z'-]{3,}", (narrative or "").casefold()) if w not in _GENERIC}
    known = set(re.findall(r"[a-z][a-z'-]{3,}", (evidence or "").casefold()))
    if not words & known:
        reasons.append("the narrative names nothing the evidence names (no subject, person or document)")
    return reasons


def evidence_text(activities: list[Activity], *extra: str) -> str:
    parts = list(extra)
    for a in activities:
        parts += [a.title, a.excerpt, a.location, " ".join(a.participant_names), a.kind]
    return "\n".join(p for p in parts if p)


def code_problems(task_code: str, activity_code: str, code_set: str) -> list[str]:
    problems = []
    try:
        from ..codes import load_codesets
        sets = load_codesets()
    except Exception:  # codes module unavailable: no code may pass unchecked
        sets = None
    for code, kind in ((task_code, "task"), (activity_code, "activity")):
        if not code:
            continue
        if sets is None or not sets.is_valid(code_set, code, kind):
            problems.append(f"{kind} code {code} is not in the {code_set} code set")
    return problems


# --------------------------------------------------------------------------- narrate


def check_draft(candidate: Draft, offline: Draft, activities: list[Activity], firm: FirmData) -> list[str]:
    """Reasons to refuse `candidate` (the model's version of `offline`); [] = accepted."""
    reasons: list[str] = []
    for field in ("draft_id", "date", "timekeeper_id", "matter_id"):
        if getattr(candidate, field) != getattr(offline, field):
            reasons.append(f"{field} changed from {getattr(offline, field)} to {getattr(candidate, field)}")
    if set(candidate.evidence) != set(offline.evidence):
        reasons.append("evidence changed")
    if candidate.hours <= 0:
        reasons.append(f"hours {candidate.hours} is not positive")
    if candidate.hours > offline.hours:
        reasons.append(f"hours {candidate.hours} exceed the {offline.hours} the evidence supports")
    if not candidate.narrative.strip():
        reasons.append("empty narrative")
    matter = firm.matter(candidate.matter_id)
    code_set = matter.code_set if matter else "none"
    reasons += code_problems(candidate.task_code, candidate.activity_code, code_set)
    grounds = evidence_text(activities, offline.narrative, *_names(candidate, firm))
    reasons += unsupported_claims(candidate.narrative, grounds)
    reasons += ungrounded(candidate.narrative, grounds)
    reasons += _validator_reasons(candidate, offline, activities, firm)
    return reasons


def _names(d: Draft, firm: FirmData) -> list[str]:
    """The matter's and client's names and references: a narrative may name them."""
    matter = firm.matter(d.matter_id)
    if matter is None:
        return []
    client = firm.client(matter.client_id)
    return [matter.name, *matter.references, client.name if client else ""]


def _error_rules(flags: list[Flag]) -> dict[str, str]:
    return {f.rule: f.message for f in flags if f.severity == "error"}


def _new_errors(ours: list[Flag], theirs: list[Flag]) -> list[str]:
    """Errors of the suggestion that the offline result does not also have.

    By rule; for the evidence rules (unsupported_*) by message too, so a second invented claim
    is not excused by the offline draft having some other one.
    """
    known = {(f.rule, f.message if f.rule.startswith("unsupported_") else "") for f in theirs if f.severity == "error"}
    out = []
    for f in ours:
        key = (f.rule, f.message if f.rule.startswith("unsupported_") else "")
        if f.severity == "error" and key not in known:
            known.add(key)
            out.append(f"{f.rule}: {f.message}")
    return out


def _validator_reasons(candidate: Draft, offline: Draft, activities: list[Activity], firm: FirmData) -> list[str]:
    try:
        from .. import validate
    except ImportError:
        return []
    by_id = {a.activity_id: a for a in activities}
    check = getattr(validate, "check_drafts", None)
    if check is not None:  # entry rules, evidence, hours and narrative claims
        ours = check([candidate], firm, by_id).get(candidate.draft_id, [])
        theirs = check([offline], firm, by_id).get(offline.draft_id, [])
        return _new_errors(ours, theirs)
    claims = getattr(validate, "check_narrative_claims", None)
    if claims is not None:
        return _new_errors(claims(candidate.narrative, activities), claims(offline.narrative, activities))
    return []


def gate_draft(candidate: Draft, offline: Draft, activities: list[Activity], firm: FirmData,
               *, engine: str) -> tuple[Draft, list[str]]:
    """The candidate if it passes, else the offline draft with a note; and the refusal reasons."""
    reasons = check_draft(candidate, offline, activities, firm)
    if not reasons:
        return candidate, []
    log.warning("refused %s narrative for draft %s: %s", engine, offline.draft_id, "; ".join(reasons))
    note = f"{engine} suggestion refused by the gate ({'; '.join(reasons)}); offline narrative used"
    return offline.model_copy(update={"notes": _join(offline.notes, note)}), reasons


def _join(*notes: str) -> str:
    return " | ".join(n for n in notes if n)


# --------------------------------------------------------------------------- rewrite / code


def check_rewrite(new: str, entry: TimeEntry, activities: list[Activity], firm: FirmData | None,
                  *, offline: str | None = None) -> list[str]:
    """Reasons to refuse a model's rewrite of `entry`'s narrative: new errors or claims, or an error
    that the offline rewrite (`offline`) clears and the model's keeps."""
    reasons: list[str] = []
    if not new.strip():
        reasons.append("empty narrative")
    if len(new) > 1000:
        reasons.append("narrative longer than 1000 characters")
    grounds = evidence_text(activities, entry.narrative, offline or "")
    reasons += unsupported_claims(new, grounds)
    if _CODE_TOKEN.search(new):
        reasons.append(f"the narrative contains a code ({_CODE_TOKEN.search(new).group(0)}), not a description")
    if firm is not None:
        try:
            from .. import validate
        except ImportError:
            validate = None
        check = getattr(validate, "check_entries", None)
        if check is not None:
            before = check([entry], firm).get(entry.entry_id, [])
            after = check([entry.model_copy(update={"narrative": new})], firm).get(entry.entry_id, [])
            reasons += _new_errors(after, before)
            if offline is not None and offline != new and not reasons:
                theirs = check([entry.model_copy(update={"narrative": offline})], firm).get(entry.entry_id, [])
                kept = _error_rules(after).keys() - _error_rules(theirs).keys()
                reasons += [f"{rule}: {_error_rules(after)[rule]} (the offline rewrite clears it)" for rule in sorted(kept)]
        claims = getattr(validate, "check_narrative_claims", None)
        if claims is not None and activities:
            reasons += _new_errors(claims(new, activities), claims(entry.narrative, activities))
    return reasons


def check_code(s: CodeSuggestion, code_set: str) -> list[str]:
    reasons = code_problems(s.task_code, s.activity_code, code_set)
    if code_set == "none" and s.task_code:
        reasons.append("a matter without a code set takes no task code")
    return reasons
