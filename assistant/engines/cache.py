"""A SQLite cache of model answers, one row per item.

Key = sha256 of (task, prompt version, model, canonical JSON of the item as sent). An unchanged
item on a rerun is answered from here without a call; a changed prompt, model or input misses.
Only answers that parsed and validated are stored; refusals by the gate are deterministic and
are re-derived from the cached answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

CACHE_FILE = "llm_cache.sqlite"


def canonical_json(value: Any) -> str:
    """Stable text of a JSON-like value: sorted keys, no spaces, dates/decimals as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(v: Any) -> str:
    if isinstance(v, (dt.date, dt.datetime, Decimal, Path)):
        return str(v)
    raise TypeError(f"not JSON-serialisable: {type(v).__name__}")


def cache_key(task: str, prompt_version: str, model: str, item: Any) -> str:
    text = canonical_json({"task": task, "prompt_version": prompt_version, "model": model, "input": item})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_path(location: Path | str) -> Path:
    """TENTHS_CACHE may name the SQLite file itself or a folder to hold it."""
    p = Path(location)
    if p.suffix in (".sqlite", ".sqlite3", ".db"):
        return p
    return p / CACHE_FILE


class AnswerCache:
    def __init__(self, location: Path | str | None) -> None:
        """`None` = an in-memory cache (nothing persists)."""
        self.path = cache_path(location) if location is not None else None
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
        else:
            self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        with self._lock, self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS answers ("
                " key TEXT PRIMARY KEY, task TEXT NOT NULL, model TEXT NOT NULL,"
                " prompt_version TEXT NOT NULL, answer TEXT NOT NULL)"
            )

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, answer in self._conn.execute(
                        f"SELECT key, answer FROM answers WHERE key IN ({marks})", chunk):
                    found[key] = json.loads(answer)
        return found

    def get(self, key: str) -> Any | None:
        return self.get_many([key]).get(key)

    def put(self, key: str, answer: Any, *, task: str, model: str, prompt_version: str) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO answers(key, task, model, prompt_version, answer) VALUES (?,?,?,?,?)",
                (key, task, model, prompt_version, canonical_json(answer)),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
