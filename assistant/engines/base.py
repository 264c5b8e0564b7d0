"""The engine seam: what every engine (offline, OpenAI-compatible, local llama.cpp) offers.

Batch-first: each method takes a list of items and returns one result per item, in order.
An engine never raises for one bad item; an LLM engine falls back to the offline result for it
and says so in `Draft.notes` (narrate) and in `stats`.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from pathlib import Path

from pydantic import BaseModel, Field, PrivateAttr

from ..errors import ConfigError
from ..models import Activity, CodeSuggestion, Draft, FirmData, Flag, TimeEntry


class EngineStats(BaseModel):
    """Counters of one run, reported in summary.json."""

    calls: int = 0
    """Requests sent to a model server (retries included)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    """Items answered from the cache without a call."""
    fallbacks: int = 0
    """Items for which no usable model answer came back (offline result used)."""
    refused: int = 0
    """Model answers the gate refused (offline result used)."""
    budget_exhausted: bool = False

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


class NarrateItem(BaseModel):
    """One draft to narrate, with the evidence it rests on."""

    draft: Draft
    activities: list[Activity] = Field(default_factory=list)
    """The activities named in `draft.evidence` (others are ignored)."""
    firm: FirmData
    matter_name: str = ""
    client_name: str = ""
    timekeeper_name: str = ""

    def evidence(self) -> list[Activity]:
        ids = set(self.draft.evidence)
        return [a for a in self.activities if a.activity_id in ids] or list(self.activities)


class RewriteItem(BaseModel):
    """A recorded entry whose narrative the validator flagged, to be improved."""

    entry: TimeEntry
    flags: list[Flag] = Field(default_factory=list)
    firm: FirmData | None = None
    activities: list[Activity] = Field(default_factory=list)
    """Evidence of the same timekeeper, day and matter, if any (names and subjects to use)."""
    matter_name: str = ""
    client_name: str = ""


class CodeItem(BaseModel):
    """A narrative to code with the matter's code set."""

    narrative: str
    code_set: str
    id: str = ""
    kind_hint: str | None = None


class Engine(ABC):
    """Every engine: `name`, `stats`, and four batch methods."""

    name: str = "engine"

    def __init__(self) -> None:
        self.stats = EngineStats()

    @abstractmethod
    def narrate(self, items: list[NarrateItem]) -> list[Draft]:
        """One Draft per item, narrative (and codes where empty) filled."""

    @abstractmethod
    def rewrite(self, items: list[RewriteItem]) -> list[str]:
        """One improved narrative per item (the original when nothing better is supported)."""

    @abstractmethod
    def code(self, items: list[CodeItem]) -> list[CodeSuggestion]:
        """One code suggestion per item, codes always inside the item's code set."""

    @abstractmethod
    def write_letter(self, kind: str, brief: BaseModel, offline_text: str) -> str:
        """Markdown letter; the caller checks its grounding. Offline: `offline_text` unchanged."""

    def close(self) -> None:
        """Release servers or connections (no-op by default)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# --------------------------------------------------------------------------- prompts

PROMPTS_DIR = Path(__file__).resolve().parent.parent.parent / "prompts"


class Prompt(BaseModel):
    """A prompt file: `key: value` header lines (`prompt`, `version`), a `---` line, then the text."""

    name: str
    version: str
    text: str

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"


@functools.cache
def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    path = (directory or PROMPTS_DIR) / f"{name}.md"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"prompt file missing or unreadable: {e}", file=str(path)) from None
    head, sep, text = raw.partition("\n---\n")
    if not sep:
        raise ConfigError("prompt file has no '---' line after its header", file=str(path))
    meta = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    if not meta.get("version"):
        raise ConfigError("prompt file has no 'version:' header", file=str(path), line=1)
    return Prompt(name=meta.get("prompt", name), version=meta["version"], text=text.strip())
