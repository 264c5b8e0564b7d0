"""The firm-wide billing rules: one pure function per rule, each returning `list[Flag]`.

Rule ids and default severities are the contract's (CONTRACT.md, `tenths check`):

| rule | default | what it catches |
| --- | --- | --- |
| `block_billing` | error | several distinct tasks under one time ("Review documents; draft motion; call client") |
| `vague_narrative` | error | a known empty phrase, a generic verb without an object, a call with no one or no subject |
| `increment` | error | hours that are not a multiple of the firm's increment (6 min = 0.1 h) |
| `duplicate` | error | same timekeeper, date, matter, hours and a near-identical narrative (the later entry is flagged) |
| `daily_hours` | warning | a timekeeper's total on a day above the firm's `daily_hours_warning` |
| `invalid_code` | error | a task/activity code not in the matter's code set |
| `missing_code` | error | the matter's code set requires task and activity codes and one is empty |
| `rate_mismatch` | warning | the entry's recorded rate differs from the matter's/timekeeper's rate |
| `closed_matter` | error | the matter is closed — or is not in matters.csv at all |
| `non_billable` | warning | clerical or administrative work (conflicts checks, scheduling, copying, filing, billing) |

Two cases with no rule of their own use the nearest contract id so that every finding is visible
in `flags.json`: an entry whose matter is not in matters.csv gets `closed_matter` (it cannot be
billed), and an entry whose timekeeper is not in timekeepers.csv gets an *error* `rate_mismatch`
(no rate or classification can be established).

Every function is pure: models in, flags out; no clock, no files. Narrative analysis works on
clauses (see `segment_tasks`) so that "prepare for and attend deposition" stays one task.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import Iterable, Protocol

from .models import Expense, FirmData, Flag, Matter, Severity, TimeEntry

__all__ = [
    "DEFAULT_SEVERITY", "RULE_IDS", "block_billing", "vague_narrative", "increment", "duplicate",
    "daily_hours", "invalid_code", "missing_code", "rate_mismatch", "closed_matter", "non_billable",
    "segment_tasks", "vague_reason", "clerical_reason", "narrative_similarity", "expense_flags",
]

DEFAULT_SEVERITY: dict[str, Severity] = {
    "block_billing": "error",
    "vague_narrative": "error",
    "increment": "error",
    "duplicate": "error",
    "daily_hours": "warning",
    "invalid_code": "error",
    "missing_code": "error",
    "rate_mismatch": "warning",
    "closed_matter": "error",
    "non_billable": "warning",
}
RULE_IDS = tuple(DEFAULT_SEVERITY)

MAX_ANALYSED = 2000
"""Narrative rules read at most this many characters: real narratives are far shorter, and a
pathological one must not stall a check."""

DUPLICATE_SIMILARITY = 0.8
"""Token-set Jaccard similarity (stop words removed) at or above which two narratives are the same."""


class CodeChecker(Protocol):
    def is_valid(self, code_set: str, code: str, kind: str) -> bool: ...


def _flag(rule: str, entry_id: str, message: str, suggestion: str, severity: Severity | None = None) -> Flag:
    return Flag(rule=rule, severity=severity or DEFAULT_SEVERITY.get(rule, "error"), message=message,
                suggestion=suggestion, entry_id=entry_id)


# --------------------------------------------------------------------------- vocabulary

_IRREGULAR = {
    "write": ["wrote", "written"], "meet": ["met"], "speak": ["spoke", "spoken"], "send": ["sent"],
    "take": ["took", "taken"], "begin": ["began", "begun"], "lead": ["led"], "leave": ["left"],
    "get": ["got"], "give": ["gave", "given"], "make": ["made"], "hold": ["held"], "sit": ["sat"],
    "find": ["found"], "go": ["went"], "draw": ["drew", "drawn"],
}


def _forms(base: str) -> set[str]:
    """base, past and -ing forms (third person -s forms are left out: they are mostly plural nouns)."""
    out = {base}
    if base.endswith("e"):
        out |= {base + "d", base[:-1] + "ing"}
    elif base.endswith("y") and len(base) > 2 and base[-2] not in "aeiou":
        out |= {base[:-1] + "ied", base + "ing"}
    else:
        out |= {base + "ed", base + "ing"}
        if len(base) > 2 and base[-1] in "lmnprt" and base[-2] in "aeiou" and base[-3] not in "aeiou":
            out |= {base + base[-1] + "ed", base + base[-1] + "ing"}
    out |= set(_IRREGULAR.get(base, []))
    return out


_TASK_VERBS = """
review analyze analyse draft revise edit prepare finalize research attend confer meet discuss negotiate
correspond write summarize compile organize serve respond advise travel investigate interview depose
defend argue appear participate coordinate arrange schedule reschedule send forward circulate conduct
evaluate assess examine study proofread redline locate obtain retrieve identify determine consider
strategize monitor calculate inspect visit mediate telephone call email e-mail update outline gather
collect read follow continue complete finish work assist supervise instruct train present testify
speak talk consult exchange leave file e-file efile index copy photocopy scan print upload download
calendar docket mark annotate cite-check check verify plan brief memorialize transmit notify contact
sign execute report notarize
reply begin handle address receive deliver fax mail research tour correct amend incorporate
""".split()
VERB_FORMS: set[str] = set().union(*(_forms(v) for v in _TASK_VERBS))

# After " and " or ", " only these start a new task: a verb form that is rarely a noun there.
_NOUNISH = {
    "meeting", "filing", "hearing", "briefing", "scheduling", "billing", "ruling", "closing", "planning",
    "pleading", "writing", "reading", "mailing", "recording", "setting", "opening", "offering", "reply",
    "index", "copy", "print", "mark", "brief", "work", "calendar", "docket", "file", "fax", "mail",
    "exchange", "leave", "present", "address", "study", "tour", "training", "read", "lead", "plan",
}
_PAST = {f for v in _TASK_VERBS for f in _forms(v) if f.endswith("ed")} | {
    f for forms in _IRREGULAR.values() for f in forms}
SPLIT_VERBS = VERB_FORMS - _NOUNISH - _PAST
"""Verb forms that start a new task after 'and' or a comma; past forms only in past-tense narratives."""
# A few nounish verbs are unmistakably verbs when an article/possessive follows: "and call the client".
_VERB_IF_FOLLOWED = re.compile(r"^(the|a|an|his|her|their|our|my)\b")

TASK_NOUNS = {
    "call", "calls", "telephone", "phone", "teleconference", "telecon", "conference", "conf", "meeting",
    "email", "emails", "e-mail", "e-mails", "correspondence", "letter", "travel", "research", "review",
    "analysis", "attendance", "discussion", "discussions", "negotiation", "negotiations", "tc", "t/c",
    "tcw", "voicemail", "vm", "memo", "memorandum", "preparation", "prep", "revisions", "drafting",
    "follow-up", "followup", "appearance", "deposition", "hearing", "trial", "mediation", "zoom",
    "videoconference", "video", "ltr", "ltrs", "mtg", "tel", "corr", "rec'd", "recd", "rev", "drft", "telconf",
    "teleconf", "conf.", "emails", "research",
}
_LEAD_MODIFIERS = {
    "further", "additional", "initial", "final", "continued", "continue", "lengthy", "detailed",
    "extensive", "multiple", "several", "various", "brief", "short", "long", "follow-up", "followup",
    "begin", "began", "complete", "completed", "finish", "finished", "second", "third", "internal",
}
_PARTICLES = {
    "for", "to", "and", "from", "on", "up", "out", "of", "the", "a", "an", "re", "same", "with", "in",
    "at", "into", "through", "over", "back", "about", "all", "then", "also", "&",
}
STOP = {
    "a", "an", "the", "and", "or", "of", "to", "for", "with", "from", "re", "regarding", "about", "on",
    "in", "at", "by", "into", "per", "as", "same", "this", "that", "these", "those", "my", "our", "his",
    "her", "their", "its", "up", "out", "over", "etc", "vs", "v", "w", "is", "be", "was", "it", "and/or",
    "concerning", "relating", "related", "pertaining", "various", "misc", "miscellaneous", "general",
    "other", "further", "additional", "continued", "ongoing", "pending", "new", "recent", "several",
    "multiple", "numerous", "any", "some", "more", "follow", "followup", "follow-up", "time", "&",
}
GENERIC_NOUNS = {
    "matter", "matters", "case", "cases", "file", "files", "document", "documents", "doc", "docs",
    "issue", "issues", "item", "items", "material", "materials", "paper", "papers", "correspondence",
    "email", "emails", "e-mail", "e-mails", "message", "messages", "letter", "letters", "memo", "memos",
    "note", "notes", "work", "things", "stuff", "status", "update", "updates", "strategy", "attention",
    "tasks", "task", "projects", "project", "law", "legal", "caselaw", "information", "info", "meeting",
    "meetings", "call", "calls", "conference", "conferences", "discussion", "discussions", "questions",
    "question", "details", "detail", "research", "analysis", "review", "office", "internal", "team",
    "telephone", "phone", "teleconference", "tc", "t/c", "vm", "voicemail", "same", "points",
    "authority", "authorities", "caselaw", "precedent", "review", "draft", "drafts", "revisions",
    "edits", "comments", "changes", "preparation", "prep", "handling", "admin",
    "administration", "file-related", "case-related", "matter-related", "day", "week", "today",
    "pleading", "pleadings", "filings", "things", "everything", "anything", "ltr", "ltrs", "corr", "mtg",
    "tel", "conf", "rev",
}
_OBJECT_NOUNS = {
    "brief", "briefs", "outline", "report", "plan", "schedule", "index", "reply", "summary", "exhibit",
    "closing", "briefing", "ruling", "hearing", "filing",
}
"""Verb forms that name a thing when they follow the task verb ("Draft brief", "Review expert report")."""
_WORK_ON = {"work", "worked", "working", "attention", "handle", "handled", "handling", "attend", "attended"}
WHO_WORDS = {
    "client", "clients", "counsel", "opposing", "oc", "co-counsel", "cocounsel", "court", "judge",
    "clerk", "chambers", "expert", "experts", "witness", "witnesses", "partner", "partners", "associate",
    "associates", "paralegal", "team", "adjuster", "insurer", "carrier", "mediator", "plaintiff",
    "plaintiffs", "defendant", "defendants", "staff", "colleague", "colleagues", "attorney", "attorneys",
    "lawyer", "lawyers", "trustee", "debtor", "creditor", "creditors", "committee", "lender", "buyer",
    "seller", "regulator", "agency", "auditor", "auditors", "accountant", "consultant", "vendor",
    "ceo", "cfo", "gc", "board", "hr", "officer", "representative", "rep", "parties",
    "party", "everyone", "all", "opp", "oc's", "occ",
}
_COMM_HEADS = {
    "call", "calls", "telephone", "phone", "teleconference", "telecon", "conference", "conf", "meeting",
    "meet", "met", "email", "emails", "e-mail", "e-mails", "emailed", "correspondence", "correspond",
    "corresponded", "letter", "voicemail", "vm", "confer", "conferred", "discuss", "discussed",
    "discussion", "discussions", "tc", "t/c", "tcw", "speak", "spoke", "talk", "talked", "called", "ltr",
    "ltrs", "mtg", "tel", "corr", "telconf", "teleconf",
    "zoom", "videoconference", "video", "exchange", "exchanged",
}
_RESEARCH_HEADS = {"research", "researched", "researching", "legal"}
_SUBJECT_MARKERS = {"re", "regarding", "about", "concerning", "on", "discuss", "discussing", "for", "over",
                    "relating", "related", "involving", "in", "as"}
_WHO_MARKERS = {"with", "to", "from", "w", "and", "between", "among", "by", "cc"}

EMPTY_PHRASES = {
    "attention to matter", "attention to file", "attention to case", "attend to matter", "attend to file",
    "work on matter", "work on case", "work on file", "worked on matter", "worked on case", "work on project",
    "review file", "file review", "review of file", "review files", "review matter", "review case",
    "research", "legal research", "case management", "matter management", "file management",
    "trial preparation", "trial prep", "prepare for trial", "miscellaneous", "misc", "various", "general",
    "conference", "telephone call", "phone call", "telephone conference", "calls", "emails", "email",
    "correspondence", "review correspondence", "review emails", "follow up", "follow-up", "status",
    "update", "meeting", "office conference", "review and analysis", "analysis", "strategy",
    "case strategy", "prepare", "draft", "review", "work", "attention", "case work", "legal work",
    "general work", "case review", "document review", "review documents", "draft documents",
    "prepare documents", "various tasks", "misc tasks", "administrative", "work on documents",
    "attention to emails", "emails and calls", "calls and emails", "correspondence and calls",
    "review and revise", "review and respond", "review and respond to emails", "handle matter",
}

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.\-/]*")


def _norm(text: str) -> str:
    t = " " + (text or "").strip() + " "
    t = re.sub(r"(?i)\bw/o\b", " without ", t)
    t = re.sub(r"(?i)\bw/\s*", " with ", t)
    t = re.sub(r"(?i)\bt/c\b", " tc ", t)
    t = re.sub(r"(?i)\bre:\s*", " re ", t)
    t = t.replace("&", " and ")
    return re.sub(r"\s+", " ", t).strip()


def _tokens(text: str) -> list[str]:
    return [t.strip(".'’-/").lower() for t in _TOKEN.findall(text) if t.strip(".'’-/")]


# --------------------------------------------------------------------------- block billing

_ABBREV = r"(?<!\b[A-Za-z])(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bNo)(?<!\bMrs)(?<!\bvs)(?<!\bInc)(?<!\bCo)(?<!\bSt)(?<!\bJr)(?<!\bSr)(?<!\bret)(?<!\bconf)"
_HARD_SPLIT = re.compile(r"\s*(?:;|\n|" + _ABBREV + r"\.\s+(?=[A-Z])|\s+then\s+|\s+-{1,2}\s+|\s+\+\s+)\s*")
_SOFT_SPLIT = re.compile(
    r"(?i)(?:,?\s+and\s+then\s+|,?\s+and\s+also\s+|,?\s+as\s+well\s+as\s+|,\s+and\s+|,\s+|\s+and\s+|\s*/\s*)"
)
_COMPOUNDS = re.compile(
    r"(?i)(?:(reply|response|opposition)\s+(brief|memorandum|memo|papers|declaration)"
    r"|research\s+(memo|memorandum|notes|file)|call\s+(notes|log|summary|report)"
    r"|travel\s+(time|expenses|itinerary)|file\s+(memo|notes))\b"
)


def _head_pos(tokens: list[str]) -> int:
    """Index of the clause's task word (a verb or task noun) in its first two tokens, else -1."""
    for i, t in enumerate(tokens[:2]):
        if t in VERB_FORMS or t in TASK_NOUNS:
            if i == 1 and tokens[0] in _PARTICLES:
                return -1
            return i
    return -1


def _is_head(tokens: list[str]) -> bool:
    return _head_pos(tokens) >= 0


def _has_object(tokens: list[str]) -> bool:
    rest = [t for t in tokens[_head_pos(tokens) + 1:] if t not in _PARTICLES and t not in _LEAD_MODIFIERS]
    return bool(rest)


def _soft_pieces(clause: str, past: bool = False) -> list[tuple[str, str]]:
    """Split a clause at 'and'/','/'/' where a task verb follows, unless a purpose infinitive is open.

    Returns (separator, text) pairs; the first separator is empty.
    """
    pieces: list[tuple[str, str]] = []
    sep_before = ""
    pos = 0
    for m in _SOFT_SPLIT.finditer(clause):
        following = clause[m.end():m.end() + 80]
        nxt = _tokens(following[:40])
        if not nxt:
            continue
        word = nxt[0]
        sep = m.group(0)
        starts_task = word in SPLIT_VERBS or (past and word in _PAST) or (
            word in VERB_FORMS and _VERB_IF_FOLLOWED.match(" ".join(nxt[1:2])) is not None
        )
        if "/" in sep and word in VERB_FORMS:
            starts_task = True  # review/revise: the slash joins verbs; objectless verbs merge below
        if not starts_task or _COMPOUNDS.match(following):
            continue
        before_tokens = _tokens(clause[max(pos, m.start() - 300):m.start()])
        # "meet with client to review documents and prepare for deposition": one purpose, one task.
        if any(t == "to" and n in VERB_FORMS for t, n in zip(before_tokens, before_tokens[1:])) \
                and "," not in sep and "/" not in sep:
            continue
        pieces.append((sep_before, clause[pos:m.start()]))
        sep_before, pos = sep, m.end()
    pieces.append((sep_before, clause[pos:]))
    return [(sep, text) for sep, text in pieces if text.strip()]


def segment_tasks(narrative: str) -> list[str]:
    """The narrative's distinct tasks, each a verb (or task noun) with its object.

    A clause that is only a verb ("prepare for", "review", "draft") shares the object of the next one,
    so "prepare for and attend deposition", "review and analyze report" and "draft/revise motion" are
    one task each. A clause with no task head ("Smith; Jones") belongs to the task before it.
    """
    text = _norm(narrative[:MAX_ANALYSED])
    first = _tokens(text[:40])
    past = bool(first) and first[0] in _PAST
    clauses: list[tuple[str, str]] = []
    for i, hard in enumerate(_HARD_SPLIT.split(text)):
        for j, (sep, piece) in enumerate(_soft_pieces(hard, past)):
            clauses.append(("; " if i and not j else sep, piece))
    tasks: list[list[tuple[str, str]]] = []
    pending: list[tuple[str, str]] = []
    for clause in clauses:
        toks = _tokens(clause[1])
        if not toks:
            continue
        if not _is_head(toks):
            if pending:
                pending.append(clause)
            elif tasks:
                tasks[-1].append(clause)
            else:
                tasks.append([clause])
            continue
        if not _has_object(toks):
            pending.append(clause)
            continue
        tasks.append(pending + [clause])
        pending = []
    if pending:
        if tasks:
            tasks[-1].extend(pending)
        else:
            tasks.append(pending)
    return [(t[0][1] + "".join(sep + body for sep, body in t[1:])).strip(" ,;") for t in tasks]


def block_billing(entry: TimeEntry) -> list[Flag]:
    tasks = [t for t in segment_tasks(entry.narrative) if _is_head(_tokens(t))]
    if len(tasks) < 2:
        return []
    listed = "; ".join(f"\u201c{t}\u201d" for t in tasks[:4]) + ("; \u2026" if len(tasks) > 4 else "")
    return [_flag(
        "block_billing", entry.entry_id,
        f"{len(tasks)} distinct tasks under one time of {entry.hours} h: {listed}",
        f"Split into {len(tasks)} entries, one per task, each with its own hours "
        f"(together {entry.hours} h).",
    )]


# --------------------------------------------------------------------------- vague narratives


def _head_index(tokens: list[str]) -> int:
    return _head_pos(tokens)


def _names(text: str) -> list[str]:
    """Capitalised personal names: 'J. Smith', 'Mr. Lee', 'Maria Ostrander' (not at the very start)."""
    pat = re.compile(
        r"\b(?:(?:Mr|Ms|Mrs|Dr|Judge|Justice|Prof)\.?\s+[A-Z][A-Za-z'’-]+"
        r"|[A-Z]\.\s?(?:[A-Z]\.\s?)?[A-Z][A-Za-z'’-]+"
        r"|(?<=\s)[A-Z][a-z]+\s+[A-Z][a-z'’-]+)"
    )
    return [m.group(0) for m in pat.finditer(" " + text)]


def vague_reason(narrative: str) -> tuple[str, str] | None:
    """(what is wrong, what to add) when the narrative does not say what was done, else None."""
    text = _norm(narrative[:MAX_ANALYSED]).rstrip(" .;,")
    toks = _tokens(text)
    low = " ".join(toks)
    if not toks:
        return "the narrative is empty", "Describe the task: what was done, on which document or with whom, and why."
    if low in EMPTY_PHRASES:
        return (f"\u201c{narrative.strip()}\u201d is a phrase clients reject as saying nothing",
                _missing_hint(toks))
    if len(toks) == 1:
        return "a single word is not a description", _missing_hint(toks)
    if clerical_reason(narrative):
        return None  # it says what was done; non_billable judges it
    head = _head_index(toks)
    kind = _kind(toks, head)
    body = toks[head + 1:] if head >= 0 else toks
    names = {t.lower().strip(".") for n in _names(text) for t in n.split()}
    if toks[0] in _WORK_ON and len(toks) > 1 and toks[1] in ("on", "to"):
        specific = [t for t in toks[2:] if _specific(t) or t in names]
        if len(specific) < 2:
            return ("\u201c" + " ".join(toks[:2]) + "\u201d without saying what was done",
                    "Say what was done (drafted, reviewed, argued), on which document or with whom, and why.")
    if kind == "communication":
        who, subject = _who_and_subject(body, names)
        if not who and not subject:
            return ("a communication without its participants or its subject",
                    "Say with whom (name or role) and about what, e.g. "
                    "\u201cTelephone conference with J. Smith (client) re: deposition schedule\u201d.")
        if not subject:
            return ("the communication's subject is missing",
                    "Add what it was about: \u201c\u2026 re: <the subject>\u201d.")
        if not who:
            return ("the communication does not say with whom",
                    "Name the other participants (or their role: client, opposing counsel, expert).")
        return None
    specific = [t for t in body if _specific(t) or t in names]
    if not specific:
        if kind == "research":
            return ("research without the question researched",
                    "State the legal question or issue researched and what it was for.")
        return ("a generic verb without an object",
                "Name the document or subject worked on (which motion, whose deposition, which agreement) "
                "and its purpose.")
    return None


def _kind(toks: list[str], head: int) -> str:
    if head < 0:
        return "other"
    h = toks[head]
    if h in _RESEARCH_HEADS:
        return "research"
    if h in _COMM_HEADS:
        return "communication"
    if h in ("leave", "left") and len(toks) > head + 1 and toks[head + 1] in ("voicemail", "vm", "message"):
        return "communication"
    if h in ("respond", "responded", "responding", "reply", "replied") :
        return "communication"
    if h in ("draft", "drafted", "drafting", "prepare", "prepared", "preparing", "send", "sent", "review",
             "reviewed", "reviewing") and len(toks) > head + 1 and toks[head + 1] in (
                 "email", "emails", "e-mail", "letter", "correspondence", "message"):
        return "communication"
    return "other"


def _specific(t: str) -> bool:
    return t not in STOP and t not in GENERIC_NOUNS and (t not in VERB_FORMS or t in _OBJECT_NOUNS) \
        and t not in WHO_WORDS and t not in _PARTICLES and len(t) > 1 or t.isdigit()


def _who_and_subject(body: list[str], names: set[str]) -> tuple[bool, bool]:
    """Does a communication say with whom, and about what?

    After with/to/from, up to three unknown words are the other side ("to Harbor Freight"); a role
    or a name closes that phrase, and what follows is the subject ("letter to client enclosing ...").
    """
    who = False
    subject = False
    mode = "none"
    who_words = 0
    for i, t in enumerate(body):
        if t == "to" and i + 1 < len(body) and body[i + 1] in VERB_FORMS:
            mode = "subject"  # "meet with witness to prepare testimony": a purpose, not a recipient
            continue
        if t in _WHO_MARKERS and mode != "subject":
            mode, who_words = "who", 0
            continue
        if t in _SUBJECT_MARKERS:
            mode = "subject"
            continue
        if mode == "subject" and t in names and t not in WHO_WORDS:
            subject = True  # "with E. Ruiz re: Ruiz v. MTA": a name after re: is part of the subject
            continue
        if t in WHO_WORDS or t in names:
            who = True
            if mode == "who":
                mode = "after_who"
            continue
        if mode == "who" and _specific(t) and who_words < 3:
            who = True  # "with Acme's CFO", "to Harbor Freight"
            who_words += 1
            continue
        if _specific(t):
            subject = True
    return who, subject


def _missing_hint(toks: list[str]) -> str:
    head = _head_index(toks)
    kind = _kind(toks, head)
    if kind == "communication":
        return ("Say with whom (name or role) and about what, e.g. "
                "\u201cTelephone conference with J. Smith (client) re: deposition schedule\u201d.")
    if kind == "research":
        return "State the legal question researched and what it was for."
    return ("Say what was done, on which document or with whom, and why, e.g. "
            "\u201cReview defendant's document production (DEF000120\u2013450) for privilege\u201d.")


def vague_narrative(entry: TimeEntry) -> list[Flag]:
    found = vague_reason(entry.narrative)
    if not found:
        return []
    why, suggestion = found
    return [_flag("vague_narrative", entry.entry_id, f"Vague narrative: {why}.", suggestion)]


# --------------------------------------------------------------------------- hours


def _minutes(hours: Decimal) -> Decimal:
    return hours * 60


def increment(entry: TimeEntry, increment_minutes: int, *, rule: str = "increment",
              severity: Severity | None = None, whose: str = "the firm's") -> list[Flag]:
    """Hours must be a whole number of increments (6 minutes -> tenths of an hour)."""
    if increment_minutes <= 0:
        return []
    minutes = _minutes(entry.hours)
    if minutes % increment_minutes == 0:
        return []
    lower = (minutes // increment_minutes) * increment_minutes
    upper = lower + increment_minutes
    lo_h, up_h = _hours(lower), _hours(upper)
    alternatives = f"{lo_h} h or {up_h} h" if lower > 0 else f"{up_h} h"
    return [_flag(
        rule, entry.entry_id,
        f"{entry.hours} h ({_fmt_minutes(minutes)} min) is not a multiple of {whose} "
        f"{increment_minutes}-minute increment",
        f"Record {alternatives} (whole {increment_minutes}-minute increments).",
        severity,
    )]


def _hours(minutes: Decimal | int) -> str:
    h = (Decimal(minutes) / 60).quantize(Decimal("0.01")).normalize()
    return f"{h:f}"


def _fmt_minutes(minutes: Decimal) -> str:
    return f"{minutes.normalize():f}"


def narrative_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the narratives' token sets, stop words and punctuation removed."""
    return _jaccard(_token_set(a), _token_set(b), a, b)


def _token_set(text: str) -> frozenset[str]:
    return frozenset(t for t in _tokens(_norm(text[:5 * MAX_ANALYSED])) if t not in STOP)


def _jaccard(ta: frozenset[str], tb: frozenset[str], a: str, b: str) -> float:
    if not ta and not tb:
        return 1.0 if _tokens(a[:MAX_ANALYSED]) == _tokens(b[:MAX_ANALYSED]) else 0.0
    return len(ta & tb) / len(ta | tb)


def duplicate(entries: Iterable[TimeEntry], *, threshold: float = DUPLICATE_SIMILARITY) -> list[Flag]:
    """Flags every entry of a group with the same timekeeper, date, matter, hours and narrative.

    Both copies are flagged (each naming the other), so the finding does not depend on the file's
    order; once one copy is deleted the other checks clean. A repeated entry_id is a duplicate too.
    """
    entries = list(entries)
    flags: list[Flag] = []
    seen_ids: set[str] = set()
    for e in entries:
        if e.entry_id in seen_ids:
            flags.append(_flag("duplicate", e.entry_id, f"entry id {e.entry_id} appears more than once",
                               "Give every entry its own entry_id, or delete the repeated row."))
        seen_ids.add(e.entry_id)
    groups: dict[tuple, list[TimeEntry]] = defaultdict(list)
    for e in entries:
        groups[(e.timekeeper_id, e.date, e.matter_id, e.hours.normalize())].append(e)
    for group in groups.values():
        if len(group) < 2:
            continue
        sets = {id(e): _token_set(e.narrative) for e in group}
        for e in group:
            twins = [o for o in group if o is not e and o.entry_id != e.entry_id
                     and _jaccard(sets[id(o)], sets[id(e)], o.narrative, e.narrative) >= threshold]
            if not twins:
                continue
            other = twins[0]
            same = _jaccard(sets[id(other)], sets[id(e)], other.narrative, e.narrative) == 1
            flags.append(_flag(
                "duplicate", e.entry_id,
                f"same timekeeper, date, matter and hours ({e.hours} h) as entry {other.entry_id}, "
                f"with {'the same' if same else 'a near-identical'} narrative",
                f"Delete one of {e.entry_id} and {other.entry_id} if they record the same work; if not, "
                f"say in each what distinguishes it.",
            ))
    return flags


def daily_hours(entries: Iterable[TimeEntry], firm: FirmData, *, limit: Decimal | None = None,
                rule: str = "daily_hours", severity: Severity | None = None,
                scope: str = "") -> list[Flag]:
    """Every entry of a timekeeper's day whose total exceeds the limit (firm.daily_hours_warning)."""
    limit = firm.firm.daily_hours_warning if limit is None else Decimal(limit)
    days: dict[tuple, list[TimeEntry]] = defaultdict(list)
    for e in entries:
        days[(e.timekeeper_id, e.date)].append(e)
    flags: list[Flag] = []
    for (tk_id, day), day_entries in days.items():
        total = sum((e.hours for e in day_entries), Decimal(0))
        if total <= limit:
            continue
        tk = firm.timekeeper(tk_id)
        who = tk.name if tk else tk_id
        for e in day_entries:
            flags.append(_flag(
                rule, e.entry_id,
                f"{who} recorded {total.normalize():f} h{scope} on {day.isoformat()} in {len(day_entries)} "
                f"entr{'y' if len(day_entries) == 1 else 'ies'}, above the {limit.normalize():f} h limit",
                "Check the day's entries for duplicates or hours on the wrong date; confirm the day if real.",
                severity,
            ))
    return flags


# --------------------------------------------------------------------------- codes, rates, matters


def invalid_code(entry: TimeEntry, matter: Matter | None, codesets: CodeChecker) -> list[Flag]:
    if matter is None:
        return []
    flags = []
    if entry.task_code and not codesets.is_valid(matter.code_set, entry.task_code, "task"):
        if matter.code_set == "none":
            why = f"matter {matter.matter_id} uses no task codes (code set none)"
            fix = "Remove the task code, or set the matter's code_set in matters.csv."
        else:
            why = f"{entry.task_code} is not a task code of the {matter.code_set} code set"
            fix = f"Use a {matter.code_set} task code ({_set_hint(matter.code_set)}); `tenths code` suggests one."
        flags.append(_flag("invalid_code", entry.entry_id, f"Invalid task code: {why}", fix))
    if entry.activity_code and not codesets.is_valid(matter.code_set, entry.activity_code, "activity"):
        flags.append(_flag(
            "invalid_code", entry.entry_id,
            f"Invalid activity code: {entry.activity_code} is not a UTBMS activity code",
            "Use an activity code A101\u2013A111 (e.g. A103 Draft/revise, A104 Review/analyze).",
        ))
    return flags


def _set_hint(code_set: str) -> str:
    return {"litigation": "L110\u2013L530", "bankruptcy": "B110\u2013B420", "counseling": "C100\u2013C400",
            "project": "P100\u2013P800"}.get(code_set, "")


def missing_code(entry: TimeEntry, matter: Matter | None, *, require_task: bool | None = None,
                 require_activity: bool | None = None) -> list[Flag]:
    """A matter with a UTBMS code set needs both codes; code set `none` needs neither."""
    if matter is None:
        return []
    coded = matter.code_set != "none"
    need_task = coded if require_task is None else require_task
    need_activity = coded if require_activity is None else require_activity
    missing = []
    if need_task and not entry.task_code:
        missing.append("task code")
    if need_activity and not entry.activity_code:
        missing.append("activity code")
    if not missing:
        return []
    return [_flag(
        "missing_code", entry.entry_id,
        f"No {' or '.join(missing)}: matter {matter.matter_id} uses the {matter.code_set} code set",
        f"Add the {' and '.join(missing)} ({_set_hint(matter.code_set) or 'UTBMS'} / A101\u2013A111); "
        "`tenths code` fills them with a confidence.",
    )]


def rate_mismatch(entry: TimeEntry, firm: FirmData) -> list[Flag]:
    tk = firm.timekeeper(entry.timekeeper_id)
    if tk is None:
        return [_flag(
            "rate_mismatch", entry.entry_id,
            f"timekeeper {entry.timekeeper_id} is not in timekeepers.csv: no rate or classification is known",
            "Add the timekeeper to timekeepers.csv or correct the entry's timekeeper_id.", "error",
        )]
    matter = firm.matter(entry.matter_id)
    if entry.rate is None or matter is None:
        return []
    expected = matter.rate_for(tk)
    if entry.rate == expected:
        return []
    source = "this matter's rate" if tk.timekeeper_id in matter.rates or "*" in matter.rates else "the standard rate"
    return [_flag(
        "rate_mismatch", entry.entry_id,
        f"recorded rate {entry.rate} differs from {source} of {tk.name}, {expected}",
        f"Bill at {expected}, or record why this entry has a different rate (e.g. an agreed discount).",
    )]


def closed_matter(entry: TimeEntry | Expense, firm: FirmData) -> list[Flag]:
    item_id = entry.entry_id if isinstance(entry, TimeEntry) else entry.expense_id
    matter = firm.matter(entry.matter_id)
    if matter is None:
        return [_flag("closed_matter", item_id, f"matter {entry.matter_id} is not in matters.csv",
                      "Correct the matter id, or add the matter to matters.csv.")]
    if matter.status == "closed":
        return [_flag("closed_matter", item_id, f"matter {matter.matter_id} ({matter.name}) is closed",
                      "Move the time to the open matter it belongs to, or reopen the matter before billing.")]
    return []


# --------------------------------------------------------------------------- non-billable work

_CLERICAL_ANYWHERE = [
    (re.compile(r"(?i)\bconflicts?\s+(check|checks|search|searches|clearance|report|review|inquiry)\b"
                r"|\b(run|ran|running|perform|performed|clear|cleared)\s+conflicts?\b"), "a conflicts check"),
    (re.compile(r"(?i)\bbates[- ]?(stamp|label|number)(s|ed|ing)?\b(?!\s+(DEF|PL|[A-Z]{2,}\d))"
                r"|\bbates[- ]?(stamping|labeling|labelling|numbering)\b"), "Bates stamping"),
    (re.compile(r"(?i)\b(photocopy|photocopying|photocopied)\b|\b(make|made|making)\s+copies\b"), "copying"),
    (re.compile(r"(?i)\b(billing|invoice|invoices|bill)\s+(inquir(y|ies)|questions?|issues?|dispute)\b"
                r"|\b(prepare|prepared|preparing|review|reviewed|reviewing|revise|revised|finalize|finalized)"
                r"\s+(the\s+|monthly\s+|draft\s+|our\s+|firm's\s+)?(invoice|invoices|bill(?!\s+of\b)|pre-?bill|billing\s+entries)\b"
                r"|\bpre-?bills?\b|\btime entries\b"), "billing administration"),
    (re.compile(r"(?i)\b(organi[sz]e|organi[sz]ed|organi[sz]ing|reorgani[sz]e\w*)\s+(the\s+)?"
                r"(case\s+|client\s+)?(file|files|binders?|folders?)\b|\bfile organi[sz]ation\b"),
                "file organisation"),
    (re.compile(r"(?i)\b(open|opened|opening|close|closed|closing)\s+(a\s+|the\s+)?(new\s+)?(file|matter)\b"
                r"(?!\s+(of|in|re)\b)|\bnew matter intake\b"), "opening or closing a file"),
    (re.compile(r"(?i)\b(calendar|calendared|calendaring|docket|docketed|docketing)\s+(?!order\b|sheet\b|entr)"
                r"(\w+\s+){0,3}(deadlines?|dates?|hearing|response|court\s+dates?|due\s+dates?)\b"
                r"|\bupdate[ds]?\s+(the\s+)?(calendar|docket|case\s+calendar)\b"), "calendaring"),
    (re.compile(r"(?i)\b(schedule|scheduled|scheduling|reschedule|rescheduled|rescheduling)\s+"
                r"(?!order\b|conference\b|orders\b)"
                r"(the\s+|a\s+|an\s+)?(call|meeting|deposition|depositions|conference\s+call|hearing|court\s+reporter|"
                r"mediation|appointment|interview|site\s+visit|time|date)"), "scheduling"),
    (re.compile(r"(?i)\b(arrange|arranged|arranging|book|booked|booking|coordinate|coordinated|coordinating|"
                r"retain|retained|engage|engaged|confirm|confirmed|reserve|reserved)\s+(for\s+)?(the\s+|a\s+)?"
                r"(travel|flights?|hotel|court\s+report(er|ing\s+service)|videographer|interpreter|translator|"
                r"conference\s+room|courier|messenger|lunch|catering)\b"
                r"|\btravel\s+arrangements\b|\b(hotel|flight)\s+reservations?\b"), "making arrangements"),
    (re.compile(r"(?i)\b(send|sent|sending|transmit|transmitted)\s+(a\s+|the\s+)?(fax|facsimile)\b"
                r"|\b(fax|faxed|faxing)\s+(\w+\s+){0,3}(to|for)\b"
                r"|\b(send|sent|deliver|delivered)\s+(\w+\s+){0,3}(via|by)\s+(courier|messenger|fedex|ups|overnight)\b"),
                "sending faxes or couriers"),
    (re.compile(r"(?i)\b(outstanding|unpaid|past[- ]due)\s+(balance|invoices?|fees|bills?)\b"
                r"|\b(replenish\w*|top\s+up)\s+(the\s+)?retainer\b|\bfee\s+collection\b|\bcollection\s+of\s+fees\b"),
                "collecting fees"),
    (re.compile(r"(?i)\b(scan|scanned|scanning|print|printed|printing|fax|faxed|faxing|collate|collated|"
                r"collating|upload|uploaded|uploading|download|downloaded|downloading|save|saved|saving)\s+"
                r"(and\s+\w+\s+)?(the\s+|all\s+)?(\w+\s+)?(documents?|files?|pleadings?|exhibits?|papers|records|"
                r"correspondence|production|materials|emails?|to\s+(the\s+)?(file|system|dms|database|folder))\b"),
                "scanning, printing or saving documents"),
    (re.compile(r"(?i)\b(assemble|assembled|assembling|compile|compiled|compiling|prepare|prepared|preparing|"
                r"update|updated|updating|index|indexed|indexing|organi[sz]e|organi[sz]ed|organi[sz]ing|tab|tabbed|"
                r"put\s+together)\s+(\w+\s+){0,4}binders?\b"), "preparing binders"),
    (re.compile(r"(?i)\b(tab|tabbed|tabbing)\s+(\w+\s+)?(exhibits?|documents?|binders?)\b"), "tabbing exhibits"),
    (re.compile(r"(?i)^(?:e-?file|e-?filed|e-?filing|file|filed|filing)\s+(?!review\b)(?!memo\b)(?!notes?\b)"
                r"[^;]*?\b(with|in)\s+(the\s+)?(court|clerk|ecf|pacer|uspto|registry)\b"
                r"|\b(e-?file|e-?filed|e-?filing|efile|efiled|efiling)\b"), "filing"),
    (re.compile(r"(?i)\b(administrative|clerical)\s+(tasks?|work|matters?)\b"), "administrative work"),
]


def clerical_reason(narrative: str) -> str | None:
    """What clerical/administrative work the narrative describes, or None."""
    text = _norm(narrative[:MAX_ANALYSED])
    for clause in re.split(r"\s*[;\n]\s*|\.\s+(?=[A-Z])", text):
        for pattern, what in _CLERICAL_ANYWHERE:
            if pattern.search(clause.strip()):
                return what
    return None


def non_billable(entry: TimeEntry, firm: FirmData) -> list[Flag]:
    what = clerical_reason(entry.narrative)
    if not what:
        return []
    tk = firm.timekeeper(entry.timekeeper_id)
    by = ""
    if tk is not None and tk.is_lawyer:
        by = f" by {'a partner' if tk.classification == 'PT' else 'an attorney'}"
    return [_flag(
        "non_billable", entry.entry_id,
        f"Clerical or administrative work ({what}){by}: clients do not pay for it as legal work",
        "Write the time off, or, if it was substantive, describe the legal work it involved.",
    )]


# --------------------------------------------------------------------------- expenses


def expense_flags(expense: Expense, codesets: CodeChecker | None, code_set: str = "litigation") -> list[Flag]:
    """Expense code missing or not an E-code, amount not positive, units x unit cost != amount.

    Mapped to contract ids: missing_code, invalid_code (errors) and rate_mismatch (warning).
    """
    flags: list[Flag] = []
    eid = expense.expense_id
    if not expense.expense_code:
        flags.append(_flag("missing_code", eid, "No expense code",
                           "Add a UTBMS expense code E101\u2013E124 (e.g. E101 Copying, E110 Out-of-town travel)."))
    elif codesets is not None and not codesets.is_valid(code_set, expense.expense_code, "expense"):
        flags.append(_flag("invalid_code", eid, f"{expense.expense_code} is not a UTBMS expense code",
                           "Use an expense code E101\u2013E124."))
    if expense.amount <= 0:
        flags.append(_flag("rate_mismatch", eid, f"amount {expense.amount} is not positive",
                           "Record the expense's cost as a positive amount; write-offs belong on the invoice."))
    if expense.units is not None and expense.unit_cost is not None:
        product = (expense.units * expense.unit_cost).quantize(Decimal("0.01"))
        if product != expense.amount.quantize(Decimal("0.01")):
            flags.append(_flag(
                "rate_mismatch", eid,
                f"units {expense.units} \u00d7 unit cost {expense.unit_cost} = {product}, not the amount {expense.amount}",
                "Correct the units, the unit cost or the amount so that units \u00d7 unit cost = amount.",
            ))
    return flags
