"""Offline draft narratives: specific, evidence-based, in the register of real billing entries.

"Telephone conference with M. Ostrander re: deposition scheduling", never "Work on matter".
Everything in a narrative comes from the evidence (titles, subjects, people, document names)
or the firm folder (contact and matter names); source text is cleaned, shortened and never obeyed.
"""

from __future__ import annotations

import re
from collections import Counter

from .ingest.normalize import email as normalize_email, phone as normalize_phone
from .models import Activity, Draft, FirmData

_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr)\s*:\s*|\[[^\]]*\]\s*)+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f|\[\]{}<>]+")
_SPACE = re.compile(r"\s+")
_DOC_EXT = re.compile(r"\.(docx?|pdf|xlsx?|pptx?|txt|rtf|msg|eml)$", re.IGNORECASE)
_DOC_VERSION = re.compile(r"[\s_-]*(v\d+|final|draft|redline|clean)$", re.IGNORECASE)
_CALL_LOG = re.compile(r"^(inbound|outbound|incoming|outgoing)?\s*(phone\s+)?call\s+(from|to)\b", re.IGNORECASE)
_WITH_PERSON = re.compile(
    r"^(meeting|call|conference|conference call|phone call|video call|zoom|teams call|lunch|discussion)\s+with\s+"
    r"((?-i:[A-Z])[\w.'-]*\s*){1,4}(\s*(re:?|regarding|about|on)\s+|\s*[-–—:]\s*)?", re.IGNORECASE)
_PAREN_TOPIC = re.compile(r"\(([^()]{3,})\)\s*$")
MAX_TOPIC = 80

_DOC_VERB = {"created": "Draft", "edited": "Revise", "finalized": "Finalize"}


def narrate_offline(draft: Draft, activities: list[Activity], firm: FirmData, *,
                    context: list[Activity] = ()) -> str:
    """One task's narrative from its evidence (the activities a draft lists)."""
    return narrate(draft, activities, firm, context=context)[0]


def narrate(draft: Draft, activities: list[Activity], firm: FirmData, *,
            context: list[Activity] = ()) -> tuple[str, list[str]]:
    """The narrative, and the ids of any `context` activities it borrowed its subject from.

    `context` is the rest of the day's evidence on the matter: a call log has no subject, but the
    same day's emails and meetings *with the same people* usually say what the call was about.
    Borrowed evidence is returned so the draft can cite it: a narrative claims only what its
    evidence shows.
    """
    acts = [a for a in activities if a.activity_id in set(draft.evidence)] or activities
    if not acts:
        return "Review file materials", []  # unreachable for a real draft: every draft has evidence
    matter = firm.matter(draft.matter_id)
    matter_name = matter.name if matter else draft.matter_id
    kinds = Counter(_family(a) for a in acts)
    lead_family = max(kinds, key=lambda f: (sum(a.minutes for a in acts if _family(a) == f), f))
    lead = [a for a in acts if _family(a) == lead_family]
    people = _people(acts, firm)
    borrowed: list[str] = []
    topic = _topic(lead, firm, matter) or _topic(acts, firm, matter)
    if not topic:
        own = {a.activity_id for a in acts}
        who = {c for a in acts for c in a.counterparties} | {n for a in acts for n in a.participant_names}
        related = [a for a in context if a.activity_id not in own and a.kind != "call"
                   and who & ({*a.counterparties} | {*a.participant_names})]
        topic = _topic(related, firm, matter)
        if topic:
            borrowed = [a.activity_id for a in related if _subject(a.title, matter) == topic]
    topic = topic or matter_name

    if lead_family == "meeting":
        text = _join(("Conference with " + people) if people else "Attend meeting", topic)
    elif lead_family == "call":
        verb = "Telephone conferences" if len(lead) > 1 else "Telephone conference"
        text = _join(f"{verb} with {people or 'client'}", topic)
    elif lead_family == "document":
        doc = _subject(_document_name(_strip_refs(clean(lead[0].title), matter)), matter, keep_case=True) or topic
        text = f"{_doc_action(lead)} {doc}"
        if len(text.split()) < 7:
            text = f"{text} for {matter_name}"  # "Revise Deposition Outline" alone is too thin for most clients
    else:
        sent = any(a.kind == "email_sent" for a in lead)
        received = any(a.kind == "email_received" for a in lead)
        who = people or "client"
        if sent and received:
            head = f"Exchange correspondence with {who}"
        elif sent:
            head = f"Draft correspondence to {who}"
        else:
            head = f"Review correspondence from {who}"
        text = _join(head, topic)
    return text, borrowed


def clean(text: str) -> str:
    """Source text made safe for a narrative: one line, no LEDES-forbidden characters, short."""
    text = _CONTROL.sub(" ", text or "")
    return _SPACE.sub(" ", text).strip()


def short_name(full_name: str) -> str:
    """'Maria Ostrander' → 'M. Ostrander', the form narratives use for people."""
    parts = clean(full_name).replace('"', "").split()
    if len(parts) < 2:
        return parts[0] if parts else ""
    return f"{parts[0][0]}. {parts[-1]}"


def _join(head: str, topic: str) -> str:
    return f"{head} re: {topic}" if topic else head


def _family(a: Activity) -> str:
    return {"meeting": "meeting", "call": "call", "document": "document"}.get(a.kind, "correspondence")


_CONTACT_NAMES: dict[int, tuple[list, dict[str, str]]] = {}


def _contact_names(firm: FirmData) -> dict[str, str]:
    """Normalised email/phone → contact name, built once per firm (narrating is per draft)."""
    cached = _CONTACT_NAMES.get(id(firm.contacts))
    if cached is not None and cached[0] is firm.contacts:
        return cached[1]
    by_key: dict[str, str] = {}
    for c in firm.contacts:
        for k in (normalize_email(c.email), normalize_phone(c.phone)):
            if k:
                by_key.setdefault(k, c.name)
    if len(_CONTACT_NAMES) > 8:
        _CONTACT_NAMES.clear()
    _CONTACT_NAMES[id(firm.contacts)] = (firm.contacts, by_key)
    return by_key


def _people(acts: list[Activity], firm: FirmData) -> str:
    by_key = _contact_names(firm)
    names: list[str] = []
    for a in acts:
        found = [n for n in a.participant_names if n.strip()]
        if not found:
            found = [by_key[c] for c in a.counterparties if c in by_key]
        for n in found:
            s = short_name(n)
            if s and s not in names:
                names.append(s)
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]}, {names[1]} and others"


def _topic(acts: list[Activity], firm: FirmData, matter) -> str:
    titles = Counter()
    for a in acts:
        t = _subject(a.title, matter)
        if t:
            titles[t] += 1
    if not titles:
        return ""
    best = max(titles, key=lambda t: (titles[t], -len(t)))
    return best


def _subject(title: str, matter, *, keep_case: bool = False) -> str:
    t = _trim(_strip_refs(_PREFIX.sub("", clean(title)), matter))
    if _CALL_LOG.match(t):
        return ""  # "Inbound call from +1 516…" says who, not what
    inner = _PAREN_TOPIC.search(t)
    if inner and _WITH_PERSON.match(t):
        t = inner.group(1)  # "Meeting with Margaret Ostrander (privilege log)" → "privilege log"
    else:
        t = _WITH_PERSON.sub("", t)
    t = _trim(re.sub(r"\s+discussion$", "", _trim(t), flags=re.IGNORECASE))
    if len(t) < 3 or t.casefold() in {"call", "meeting", "email", "update", "follow up", "question", "hi"}:
        return ""
    if len(t) > MAX_TOPIC:
        t = t[:MAX_TOPIC].rsplit(" ", 1)[0]
    if keep_case:
        return t
    return t[0].lower() + t[1:] if t[:1].isupper() and not t[:2].isupper() else t


def _strip_refs(t: str, matter) -> str:
    """The matter's own name and references say nothing about the task: the draft is on that matter."""
    if matter is not None:
        for ref in sorted({matter.matter_id, matter.client_matter_id, matter.name, *matter.references}, key=len,
                          reverse=True):
            if ref and len(ref) >= 3:
                t = re.sub(re.escape(ref), " ", t, flags=re.IGNORECASE)
    return t


def _trim(t: str) -> str:
    t = re.sub(r"^[\s\-–—:/,.#()]+|[\s\-–—:/,#(]+$", "", _SPACE.sub(" ", t)).strip()
    return re.sub(r"\(\s*\)", "", t).strip()


def _document_name(title: str) -> str:
    name = clean(title).rsplit("/", 1)[-1]
    name = _DOC_EXT.sub("", name)
    name = _DOC_VERSION.sub("", name.replace("_", " ").replace("-", " ")).strip()
    return _SPACE.sub(" ", name)


def _doc_action(lead: list[Activity]) -> str:
    actions = {a.location for a in lead}  # the documents parser keeps the action in `location`
    for act in ("created", "finalized", "edited"):
        if act in actions:
            return _DOC_VERB[act]
    return "Draft and revise"
