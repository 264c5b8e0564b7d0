"""Activity → matter, with a confidence and a reason; never a silent guess.

Order of evidence (strongest first), documented in docs/formats.md:

1. an explicit matter id from the source (the document log's `matter_id` column);
2. a matter reference (matter id, client matter id or a `references` entry) in the title, subject
   or file name — the longest match wins, so "Acme v. Beta Appeal" beats "Acme";
3. a contact tied to exactly one matter (by email or phone);
4. a client (by a contact or an email domain) with exactly one open matter.

Several candidates at the deciding step, nothing known about the other side, or only a closed
matter → the activity goes to the confirm queue with its candidates. A wrong automatic assignment
is worse than a question, so agreement between steps is not assumed: a reference that points at a
different client than the people involved is ambiguous, not a win.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from .ingest.normalize import domain as domain_of, email as normalize_email, phone as normalize_phone
from .models import Activity, ConfirmItem, FirmData, Matter

CONFIDENCE = {"source": 1.0, "reference": 0.95, "contact": 0.9, "client": 0.8}


@dataclass(frozen=True)
class Decision:
    matter_id: str | None
    confidence: float
    reason: str
    candidates: tuple[str, ...] = ()


@dataclass
class MatterIndex:
    """Lookups built once per firm, so matching 50k activities is a dictionary walk."""

    matters: dict[str, Matter]
    reference_re: re.Pattern[str] | None
    reference_to_matters: dict[str, set[str]]
    contact_matters: dict[str, set[str]] = field(default_factory=dict)
    """Normalised email or phone → matter ids of the contact's tied matters."""
    contact_clients: dict[str, set[str]] = field(default_factory=dict)
    domain_clients: dict[str, set[str]] = field(default_factory=dict)
    client_open_matters: dict[str, list[str]] = field(default_factory=dict)
    client_closed_matters: dict[str, list[str]] = field(default_factory=dict)


def build_index(firm: FirmData) -> MatterIndex:
    matters = {m.matter_id: m for m in firm.matters}
    ref_map: dict[str, set[str]] = defaultdict(set)
    for m in firm.matters:
        for ref in (m.matter_id, m.client_matter_id, *m.references):
            ref = ref.strip()
            if len(ref) >= 3:  # "A1" would match half the alphabet soup of a subject line
                ref_map[ref.casefold()].add(m.matter_id)
    reference_re = None
    if ref_map:
        alternatives = sorted(ref_map, key=len, reverse=True)
        reference_re = re.compile(
            r"(?<![\w])(" + "|".join(re.escape(r) for r in alternatives) + r")(?![\w])", re.IGNORECASE
        )
    index = MatterIndex(matters=matters, reference_re=reference_re, reference_to_matters=dict(ref_map))
    for c in firm.contacts:
        keys = [k for k in (normalize_email(c.email), normalize_phone(c.phone)) if k]
        for k in keys:
            index.contact_clients.setdefault(k, set()).add(c.client_id)
            if c.matter_id:
                index.contact_matters.setdefault(k, set()).add(c.matter_id)
    firm_domains = firm.firm_domains
    for cl in firm.clients:
        for d in cl.domains:
            d = d.strip().lower()
            if d and d not in firm_domains:
                index.domain_clients.setdefault(d, set()).add(cl.client_id)
    for m in firm.matters:
        bucket = index.client_open_matters if m.status == "open" else index.client_closed_matters
        bucket.setdefault(m.client_id, []).append(m.matter_id)
    return index


def references_in(text: str, index: MatterIndex) -> set[str]:
    """Matter ids whose reference appears in `text`; a reference inside a longer one does not count."""
    if not text or index.reference_re is None:
        return set()
    spans: list[tuple[int, int, str]] = []
    for m in index.reference_re.finditer(text):
        spans.append((m.start(), m.end(), m.group(1).casefold()))
    kept = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    found: set[str] = set()
    for _, _, ref in kept:
        found |= index.reference_to_matters.get(ref, set())
    return found


def decide(activity: Activity, index: MatterIndex) -> Decision:
    if activity.matter_hint:
        m = index.matters.get(activity.matter_hint)
        if m is None:
            return Decision(None, 0.0, f"the source names matter {activity.matter_hint}, which is not in matters.csv")
        return _open_or_queue({m.matter_id}, "source", "the source names the matter", index)

    people_matters: set[str] = set()
    people_clients: set[str] = set()
    for cp in activity.counterparties:
        people_matters |= index.contact_matters.get(cp, set())
        people_clients |= index.contact_clients.get(cp, set())
        if "@" in cp:
            people_clients |= index.domain_clients.get(domain_of(cp), set())

    referenced = references_in(activity.title, index)
    if referenced:
        if people_clients and not {index.matters[m].client_id for m in referenced} & people_clients:
            candidates = referenced | _open_matters_of(people_clients, index)
            return Decision(None, 0.0, "the reference and the people involved point at different clients",
                            tuple(sorted(candidates)))
        return _open_or_queue(referenced, "reference", "matter reference in the title", index)
    if people_matters:
        return _open_or_queue(people_matters, "contact", "contact tied to the matter", index)
    if people_clients:
        open_ = _open_matters_of(people_clients, index)
        if open_:
            return _open_or_queue(open_, "client", "client with one open matter", index)
        closed = {m for c in people_clients for m in index.client_closed_matters.get(c, [])}
        if closed:
            return Decision(None, 0.0, "the client's only matters are closed", tuple(sorted(closed)))
        return Decision(None, 0.0, "the client has no matters", ())
    if activity.counterparties:
        return Decision(None, 0.0, f"unknown {'caller' if activity.source == 'calls' else 'correspondent'}: "
                        f"{', '.join(activity.counterparties[:3])}", ())
    return Decision(None, 0.0, "nothing in the record names a client or matter", ())


def match_activities(activities: list[Activity], firm: FirmData) -> list[Activity]:
    """Fill matter_id, match_confidence, match_reason and candidates; returns the same objects."""
    index = build_index(firm)
    for a in activities:
        d = decide(a, index)
        a.matter_id = d.matter_id
        a.match_confidence = d.confidence
        a.match_reason = d.reason
        a.candidates = list(d.candidates) if d.candidates else ([d.matter_id] if d.matter_id else [])
    return activities


def confirm_queue(activities: list[Activity], firm: FirmData) -> list[ConfirmItem]:
    return [
        ConfirmItem(
            activity_id=a.activity_id, source=a.source, source_ref=a.source_ref, timekeeper_id=a.timekeeper_id,
            date=a.start.astimezone(firm.tz_for(a.timekeeper_id)).date(), title=a.title, reason=a.match_reason,
            candidates=[c for c in a.candidates if c],
        )
        for a in activities
        if a.matter_id is None
    ]


def _open_or_queue(matter_ids: set[str], step: str, reason: str, index: MatterIndex) -> Decision:
    open_ = sorted(m for m in matter_ids if index.matters[m].status == "open")
    if len(open_) == 1:
        only = open_[0]
        return Decision(only, CONFIDENCE[step], f"{reason} ({only})", (only,))
    if len(open_) > 1:
        return Decision(None, 0.0, f"ambiguous: {reason} matches {len(open_)} open matters", tuple(open_))
    closed = sorted(matter_ids)
    return Decision(None, 0.0, f"{reason}, but the matter is closed", tuple(closed))


def _open_matters_of(clients: set[str], index: MatterIndex) -> set[str]:
    return {m for c in clients for m in index.client_open_matters.get(c, [])}

