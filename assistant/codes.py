"""UTBMS code sets (read once from codesets/*.csv) and the offline coder's public entry points.

A matter's `code_set` decides its task codes; activity and expense codes are shared by every set.
The classifier itself lives in `assistant.coder`; `suggest_codes` and `suggest_many` are re-exported here.
"""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .models import CodeSetName, CodeSuggestion

__all__ = [
    "Code", "CodeSet", "CodeSets", "CodeKind", "CODESETS_DIR", "TASK_SETS",
    "load_codesets", "suggest_codes", "suggest_many", "run_coding_eval",
]

CODESETS_DIR = Path(__file__).resolve().parent.parent / "codesets"
TASK_SETS: tuple[CodeSetName, ...] = ("litigation", "bankruptcy", "counseling", "project")
CodeKind = Literal["task", "activity", "expense"]


class Code(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    phase: str = ""
    """The phase code a task rolls up to (L110 -> L100); empty for activity and expense codes."""
    phase_name: str = ""

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


class CodeSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: CodeSetName
    task_codes: dict[str, Code]
    """Billable task codes of this set (phase headings such as L100 are not among them)."""
    phases: dict[str, Code]
    activity_codes: dict[str, Code]
    expense_codes: dict[str, Code]

    def codes(self, kind: CodeKind) -> dict[str, Code]:
        return {"task": self.task_codes, "activity": self.activity_codes, "expense": self.expense_codes}[kind]


class CodeSets(BaseModel):
    model_config = ConfigDict(frozen=True)

    sets: dict[str, CodeSet]

    def get(self, name: str) -> CodeSet:
        try:
            return self.sets[name]
        except KeyError:
            raise KeyError(f"unknown code set {name!r}; known: {', '.join(self.sets)}") from None

    def is_valid(self, code_set: str, code: str, kind: CodeKind) -> bool:
        """True when `code` is a billable code of that kind for a matter using `code_set`."""
        cs = self.sets.get(code_set)
        return cs is not None and code.strip().upper() in cs.codes(kind)

    def find(self, code: str) -> Code | None:
        """Any code of any set by its code (phases included), for display."""
        code = code.strip().upper()
        for cs in self.sets.values():
            for table in (cs.task_codes, cs.phases, cs.activity_codes, cs.expense_codes):
                if code in table:
                    return table[code]
        return None


def parse_codeset_csv(text: str) -> tuple[dict[str, Code], dict[str, Code]]:
    """(billable codes, phase headings) of one code-set file: `code,name,phase,level`."""
    rows = list(csv.DictReader(io.StringIO(text)))
    names = {r["code"]: r["name"] for r in rows}
    codes: dict[str, Code] = {}
    phases: dict[str, Code] = {}
    for r in rows:
        code = Code(code=r["code"], name=r["name"], phase=r["phase"], phase_name=names.get(r["phase"], ""))
        if r["level"] in ("phase", "phase_task"):
            phases[code.code] = code
        if r["level"] in ("task", "phase_task"):
            codes[code.code] = code
    return codes, phases


@functools.cache
def load_codesets(directory: Path | None = None) -> CodeSets:
    directory = directory or CODESETS_DIR

    def read(name: str) -> tuple[dict[str, Code], dict[str, Code]]:
        return parse_codeset_csv((directory / f"{name}.csv").read_text(encoding="utf-8-sig"))

    activity, _ = read("activity")
    expense, _ = read("expense")
    sets = {}
    for name in TASK_SETS:
        tasks, phases = read(name)
        sets[name] = CodeSet(name=name, task_codes=tasks, phases=phases,
                             activity_codes=activity, expense_codes=expense)
    sets["none"] = CodeSet(name="none", task_codes={}, phases={}, activity_codes=activity, expense_codes=expense)
    return CodeSets(sets=sets)


def suggest_codes(narrative: str, code_set: str, *, kind_hint: str | None = None) -> CodeSuggestion:
    """Task and activity codes for one narrative; low confidence -> needs_review with the codes left empty."""
    from .coder import suggest_codes as _suggest

    return _suggest(narrative, code_set, kind_hint=kind_hint)


def suggest_many(narratives: list[str], code_set: str, *,
                 kind_hints: list[str | None] | None = None) -> list[CodeSuggestion]:
    from .coder import suggest_many as _many

    return _many(narratives, code_set, kind_hints=kind_hints)


def run_coding_eval() -> dict:
    """Held-out coding metrics (task_top1, activity_top1, n_test, needs_review_rate, by_code_set)."""
    from .coder import run_coding_eval as _run

    return _run()
