"""A client's billing guidelines: `guidelines/<file>.toml` turned into rules (`guideline:<key>` flags).

A client names its file in `clients.csv` (`guidelines` column); the rules apply to the entries of
that client's matters only. Every key is optional; an unknown key, a wrong type or an unknown rule id
in `[severity]` is a `ConfigError` naming the file and the key, so a typo never silently disables a
rule. Each violation is flagged with rule id `guideline:<key>`, severity `error` unless `[severity]`
says otherwise.

| key | type | rule |
| --- | --- | --- |
| `name` | string | A label for people (e.g. "Harbor Freight Lines outside counsel guidelines, 2026"); no rule. |
| `max_hours_per_entry` | number | An entry may not exceed this many hours. |
| `max_hours_per_day` | number | A timekeeper's hours on one day, over this client's matters, may not exceed this; every entry of such a day is flagged. |
| `min_narrative_words` | integer | A narrative needs at least this many words. |
| `banned_phrases` | list of strings | Phrases a narrative may not contain (case-insensitive, whole words), e.g. "attention to file". |
| `require_task_codes` | boolean | Every entry needs a task code, even on a matter whose code set is `none` (on a matter with a code set the firm's `missing_code` rule already flags an empty code, so this key adds no second flag there). |
| `require_activity_codes` | boolean | Every entry needs an activity code (same remark). |
| `travel_fraction` | number 0–1 | Travel is billed at this fraction of the rate (0.5 = half, 0 = not billable). A travel entry (a clause that starts with travel/drive/fly, or "travel time") passes when its recorded `rate` is at most this fraction of the matter's rate for the timekeeper, or its narrative states the reduction ("billed at 50%", "half rate") — the firm then halved the hours instead. Otherwise it is flagged, with the reduced rate to use. With 0 every travel entry is flagged. |
| `no_intra_firm_conferences` | boolean | No conferences between firm timekeepers: a conference, meeting, call or discussion naming another timekeeper of the firm ("conference with J. Smith", "met with Osei"), or "internal meeting", "office conference", "team meeting", "conference with associate". |
| `allowed_classifications` | list of strings | Timekeeper classifications the client pays for (LEDES short codes PT, AS, OC, PL, LA, OT; LOC 2014 codes such as PARALG are accepted and mapped). |
| `increment_minutes` | integer 1–60 | The client's billing increment; it replaces the firm's `increment_minutes` for this client's matters. When it differs from the firm's, a violation is `guideline:increment_minutes` and the firm-wide `increment` rule is not applied to them; when it is the same, the violation is the firm's `increment`. |
| `[severity]` | table | Rule id → `"error"` or `"warning"` for this client's matters: a contract rule (`block_billing`, `daily_hours`, …), a `"guideline:<key>"` (quoted in TOML), or `"guideline:*"` for all of this file's rules. |
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError
from .models import (
    CLASSIFICATION_LOC_TO_SHORT, CLASSIFICATIONS_SHORT, FirmData, Flag, Severity, TimeEntry,
)
from .rules import DEFAULT_SEVERITY, daily_hours, increment

__all__ = ["GUIDELINE_KEYS", "GATE_RULES", "Guidelines", "parse_guidelines", "load_client_guidelines",
           "guidelines_for_matter", "check_guidelines", "known_rule"]

GUIDELINE_KEYS = (
    "max_hours_per_entry", "max_hours_per_day", "min_narrative_words", "banned_phrases",
    "require_task_codes", "require_activity_codes", "travel_fraction", "no_intra_firm_conferences",
    "allowed_classifications", "increment_minutes",
)
GATE_RULES = ("unsupported_hours", "unsupported_evidence", "unsupported_claim")
"""Rules of the LLM gate (validate.check_drafts); a client's [severity] may not lower them."""


class Guidelines(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    name: str = ""
    max_hours_per_entry: Decimal | None = None
    max_hours_per_day: Decimal | None = None
    min_narrative_words: int | None = None
    banned_phrases: list[str] = Field(default_factory=list)
    require_task_codes: bool = False
    require_activity_codes: bool = False
    travel_fraction: Decimal | None = None
    no_intra_firm_conferences: bool = False
    allowed_classifications: list[str] | None = None
    increment_minutes: int | None = None
    severity: dict[str, Severity] = Field(default_factory=dict)

    def severity_for(self, rule: str) -> Severity | None:
        """This client's severity for a rule, or None to keep the default."""
        if rule in GATE_RULES:
            return None
        if rule in self.severity:
            return self.severity[rule]
        if rule.startswith("guideline:"):
            return self.severity.get("guideline:*")
        return None


def known_rule(rule: str) -> bool:
    return rule in DEFAULT_SEVERITY or rule == "guideline:*" or (
        rule.startswith("guideline:") and rule.removeprefix("guideline:") in GUIDELINE_KEYS)


# --------------------------------------------------------------------------- parsing


def parse_guidelines(raw: dict[str, Any], file: str) -> Guidelines:
    """Validate one parsed TOML file; `file` is its name in guidelines/ (for messages)."""
    where = f"guidelines/{file}" if "/" not in file else file

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"key {key!r}: {why}", file=where)

    out: dict[str, Any] = {"file": file}
    for key, value in raw.items():
        if key == "name":
            if not isinstance(value, str):
                raise bad(key, "must be a string")
            out[key] = value
        elif key in ("max_hours_per_entry", "max_hours_per_day", "travel_fraction"):
            number = _number(value)
            if number is None or number < 0:
                raise bad(key, f"must be a non-negative number, not {value!r}")
            if key == "travel_fraction" and number > 1:
                raise bad(key, f"must be a fraction from 0 to 1 (0.5 = half rate), not {value!r}")
            out[key] = number
        elif key in ("min_narrative_words", "increment_minutes"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad(key, f"must be a whole number of at least 1, not {value!r}")
            if key == "increment_minutes" and value > 60:
                raise bad(key, f"must be at most 60 minutes, not {value!r}")
            out[key] = value
        elif key in ("require_task_codes", "require_activity_codes", "no_intra_firm_conferences"):
            if not isinstance(value, bool):
                raise bad(key, f"must be true or false, not {value!r}")
            out[key] = value
        elif key == "banned_phrases":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise bad(key, "must be a list of non-empty strings")
            out[key] = [v.strip() for v in value]
        elif key == "allowed_classifications":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(key, "must be a list of classification codes such as [\"PT\", \"AS\"]")
            codes = []
            for v in value:
                code = v.strip().upper()
                code = CLASSIFICATION_LOC_TO_SHORT.get(code, code)
                if code not in CLASSIFICATIONS_SHORT:
                    raise bad(key, f"{v!r} is not a LEDES timekeeper classification "
                                   f"({', '.join(CLASSIFICATIONS_SHORT)} or a LOC 2014 code)")
                codes.append(code)
            out[key] = codes
        elif key == "severity":
            if not isinstance(value, dict):
                raise bad(key, "must be a table: [severity] then rule = \"error\" or \"warning\"")
            sev: dict[str, Severity] = {}
            for rule, level in value.items():
                if not known_rule(rule):
                    raise ConfigError(
                        f"[severity] names unknown rule {rule!r} (known: {', '.join(DEFAULT_SEVERITY)}, "
                        f"guideline:<key>, guideline:*)", file=where)
                if level not in ("error", "warning"):
                    raise ConfigError(f"[severity] {rule} = {level!r}: must be \"error\" or \"warning\"", file=where)
                sev[rule] = level
            out[key] = sev
        else:
            hint = _closest(key)
            raise ConfigError(
                f"unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; known keys: name, {', '.join(GUIDELINE_KEYS)}, [severity]", file=where)
    return Guidelines(**out)


def load_client_guidelines(firm: FirmData) -> dict[str, Guidelines]:
    """client_id -> its guidelines. Every file in guidelines/ is validated, used or not."""
    parsed = {name: parse_guidelines(raw, name) for name, raw in firm.guidelines.items()}
    out: dict[str, Guidelines] = {}
    for client in firm.clients:
        if client.guidelines:
            if client.guidelines not in parsed:
                raise ConfigError(f"client {client.client_id} names guidelines/{client.guidelines}, "
                                  f"which does not exist", file="clients.csv")
            out[client.client_id] = parsed[client.guidelines]
    return out


def guidelines_for_matter(firm: FirmData, matter_id: str,
                          by_client: dict[str, Guidelines] | None = None) -> Guidelines | None:
    matter = firm.matter(matter_id)
    if matter is None:
        return None
    by_client = load_client_guidelines(firm) if by_client is None else by_client
    return by_client.get(matter.client_id)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _closest(key: str) -> str:
    import difflib

    match = difflib.get_close_matches(key, [*GUIDELINE_KEYS, "name", "severity"], n=1, cutoff=0.6)
    return match[0] if match else ""


# --------------------------------------------------------------------------- rules, one per key


def _flag(key: str, entry: TimeEntry, message: str, suggestion: str, g: Guidelines) -> Flag:
    where = f" ({g.name or g.file})"
    return Flag(rule=f"guideline:{key}", severity="error", message=message + where, suggestion=suggestion,
                entry_id=entry.entry_id)


def max_hours_per_entry(entry: TimeEntry, g: Guidelines) -> list[Flag]:
    if g.max_hours_per_entry is None or entry.hours <= g.max_hours_per_entry:
        return []
    return [_flag("max_hours_per_entry", entry,
                  f"{entry.hours} h in one entry; the client allows at most {g.max_hours_per_entry} h per entry",
                  "Split the time into entries per task, each within the limit, or write down the excess.", g)]


def max_hours_per_day(entries: list[TimeEntry], firm: FirmData, g: Guidelines) -> list[Flag]:
    if g.max_hours_per_day is None:
        return []
    flags = daily_hours(entries, firm, limit=g.max_hours_per_day, rule="guideline:max_hours_per_day",
                        severity="error", scope=" on this client's matters")
    for f in flags:
        f.message += f" ({g.name or g.file})"
        f.suggestion = "Reduce the day's hours to the client's daily limit, or get the client's prior approval."
    return flags


def min_narrative_words(entry: TimeEntry, g: Guidelines) -> list[Flag]:
    if g.min_narrative_words is None:
        return []
    words = len(re.findall(r"[A-Za-z0-9][\w'’.\-/]*", entry.narrative))
    if words >= g.min_narrative_words:
        return []
    return [_flag("min_narrative_words", entry,
                  f"narrative has {words} word{'s' if words != 1 else ''}; the client requires at least "
                  f"{g.min_narrative_words}",
                  "Describe the task, its subject and purpose in more detail.", g)]


def banned_phrases(entry: TimeEntry, g: Guidelines) -> list[Flag]:
    flags = []
    for phrase in g.banned_phrases:
        words = [re.escape(w) for w in phrase.split()]
        pattern = re.compile(r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])", re.IGNORECASE)
        if pattern.search(entry.narrative):
            flags.append(_flag("banned_phrases", entry, f"narrative uses the banned phrase \u201c{phrase}\u201d",
                               f"Replace \u201c{phrase}\u201d with what was actually done.", g))
    return flags


def require_codes(entry: TimeEntry, g: Guidelines) -> list[Flag]:
    flags = []
    if g.require_task_codes and not entry.task_code:
        flags.append(_flag("require_task_codes", entry, "no task code; the client requires one on every entry",
                           "Add a UTBMS task code (`tenths code` suggests one).", g))
    if g.require_activity_codes and not entry.activity_code:
        flags.append(_flag("require_activity_codes", entry,
                           "no activity code; the client requires one on every entry",
                           "Add a UTBMS activity code A101\u2013A111.", g))
    return flags


_TRAVEL = re.compile(
    r"(?i)(?:^|[;.]\s*|\band\s+)(?:(?:non-?working|local|round[- ]?trip|out[- ]of[- ]town)\s+)?"
    r"(travel|traveled|travelled|traveling|travelling|drive|drove|driving|fly|flew|flying|flight)\b"
    r"|\btravel\s+time\b"
)
_REDUCTION = re.compile(
    r"(?i)\b(?:billed|charged|invoiced|at)\s+(?:at\s+)?(?P<pct>\d{1,3}(?:\.\d+)?)\s?(?:%|percent)"
    r"|\b(?P<pct2>\d{1,3}(?:\.\d+)?)\s?(?:%|percent)\s+(?:of\s+(?:standard\s+|the\s+)?)?(?:rate|time)"
    r"|\b(?P<half>half|one-half|1/2)[- ](?:rate|time)\b|\bbilled\s+at\s+(?P<half2>half|one-half)\b"
)


def is_travel(narrative: str) -> bool:
    return bool(_TRAVEL.search(narrative.strip()))


def travel_fraction(entry: TimeEntry, firm: FirmData, g: Guidelines) -> list[Flag]:
    if g.travel_fraction is None or not is_travel(entry.narrative):
        return []
    fraction = g.travel_fraction
    pct = (fraction * 100).normalize()
    if fraction == 0:
        return [_flag("travel_fraction", entry, "travel time is not billable to this client",
                      "Write the travel time off, or move the working time during travel to its own entry.", g)]
    tk = firm.timekeeper(entry.timekeeper_id)
    matter = firm.matter(entry.matter_id)
    standard = matter.rate_for(tk) if (tk and matter) else None
    reduced = (standard * fraction).quantize(Decimal("0.01")) if standard is not None else None
    if entry.rate is not None and reduced is not None and entry.rate <= reduced:
        return []
    m = _REDUCTION.search(entry.narrative)
    if m and Decimal(m.group("pct") or m.group("pct2") or "50") == pct:
        return []
    rate_hint = f" ({reduced}/h)" if reduced is not None else ""
    return [_flag("travel_fraction", entry,
                  f"travel is billed at {pct:f}% of the rate for this client, and this entry "
                  + ("records the full rate" if entry.rate is not None else "does not say it is reduced"),
                  f"Record the rate at {pct:f}%{rate_hint}, or reduce the hours to {pct:f}% and add "
                  f"\u201c(billed at {pct:f}%)\u201d to the narrative.", g)]


_INTERNAL = re.compile(
    r"(?i)\b(internal|intra-?office|inter-?office|in-?house\s+team|office|team|firm)\s+"
    r"(meeting|conference|call|discussion|strategy\s+session)s?\b"
    r"|\b(conference|conferences|confer|conferred|meet|met|meeting|call|discuss|discussed|discussion)\s+"
    r"(with|w/)\s+(the\s+)?(associate|associates|partner|partners|paralegal|paralegals|team|colleague|"
    r"colleagues|supervising\s+attorney|trial\s+team|litigation\s+team|deal\s+team)\b"
)
_COMM = re.compile(
    r"(?i)\b(conference|conferences|conf|confer|conferred|conferring|meet|met|meeting|call|called|"
    r"discuss|discussed|discussion|strategy\s+session|tc|t/c|speak|spoke|talk|talked)\b"
)


def no_intra_firm_conferences(entry: TimeEntry, firm: FirmData, g: Guidelines) -> list[Flag]:
    if not g.no_intra_firm_conferences:
        return []
    text = entry.narrative
    found = ""
    m = _INTERNAL.search(text)
    if m:
        found = m.group(0)
    elif _COMM.search(text):
        for tk in firm.timekeepers:
            if tk.timekeeper_id == entry.timekeeper_id:
                continue
            parts = tk.name.split()
            if len(parts) < 2:
                continue
            first, last = parts[0], parts[-1]
            pats = [
                re.escape(tk.name), rf"{re.escape(first[0])}\.\s?{re.escape(last)}",
                rf"(?:Mr|Ms|Mrs|Dr)\.?\s+{re.escape(last)}",
                rf"(?:with|w/|and)\s+{re.escape(last)}\b", rf"(?:with|w/|and)\s+{re.escape(first)}\b",
                rf"\b{re.escape(tk.timekeeper_id)}\b",
            ]
            hit = re.search(r"\b(?:" + "|".join(pats) + r")\b", text)
            if hit:
                found = f"{hit.group(0).strip()} ({tk.name}, {tk.classification})"
                break
    if not found:
        return []
    return [_flag("no_intra_firm_conferences", entry,
                  f"conference between firm timekeepers: \u201c{found}\u201d; the client does not pay for "
                  "internal conferences",
                  "Write the time off, or describe it as the substantive work it was (not a conference).", g)]


def allowed_classifications(entry: TimeEntry, firm: FirmData, g: Guidelines) -> list[Flag]:
    if g.allowed_classifications is None:
        return []
    tk = firm.timekeeper(entry.timekeeper_id)
    if tk is None or tk.classification in g.allowed_classifications:
        return []
    return [_flag("allowed_classifications", entry,
                  f"{tk.name} is classified {tk.classification}; the client pays only for "
                  f"{', '.join(g.allowed_classifications)}",
                  "Write the time off or have it done by an allowed timekeeper class.", g)]


def increment_minutes(entry: TimeEntry, g: Guidelines, firm_increment: int | None = None) -> list[Flag]:
    """Only when the client's increment differs from the firm's (else the firm's `increment` rule flags it)."""
    if g.increment_minutes is None or g.increment_minutes == firm_increment:
        return []
    flags = increment(entry, g.increment_minutes, rule="guideline:increment_minutes", severity="error",
                      whose="the client's")
    for f in flags:
        f.message += f" ({g.name or g.file})"
    return flags


def check_guidelines(entries: list[TimeEntry], firm: FirmData, g: Guidelines) -> list[Flag]:
    """Every guideline flag for entries of this client's matters (the caller selects them)."""
    flags: list[Flag] = []
    for e in entries:
        flags += max_hours_per_entry(e, g)
        flags += min_narrative_words(e, g)
        flags += banned_phrases(e, g)
        matter = firm.matter(e.matter_id)
        if matter is None or matter.code_set == "none":
            flags += require_codes(e, g)  # a matter with a code set: the firm's missing_code flags it
        flags += travel_fraction(e, firm, g)
        flags += no_intra_firm_conferences(e, firm, g)
        flags += allowed_classifications(e, firm, g)
        flags += increment_minutes(e, g, firm.firm.increment_minutes)
    flags += max_hours_per_day(entries, firm, g)
    return flags
