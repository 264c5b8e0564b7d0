"""Exceptions, turned into one clear sentence only at the edges (cli.py, the app).

TenthsError
 ├── ConfigError    the firm folder or a setting cannot be used at all (exit 2)
 │    └── OutputError   an output cannot be written (also an OSError)
 ├── IngestError    one source file cannot be read (it is rejected, the rest goes on)
 ├── EngineError    a model server failed after retries
 └── RefusedError   the validator refused the result (exit 1)
"""

from __future__ import annotations


class TenthsError(Exception):
    """Base of every error Tenths raises on purpose."""


class ConfigError(TenthsError):
    def __init__(self, message: str, *, file: str = "", line: int | None = None):
        self.file, self.line = file, line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        if file and not line and message.startswith((f"{file} ", f"{file}:")):
            where = ""  # the message already names the file ("x.csv is empty"): say it once
        super().__init__(where + message)


class OutputError(ConfigError, OSError):
    """An output file or folder that cannot be written (a bad --out, a full disk): exit 2 at the CLI, and
    still an OSError for callers that handle file-system failures."""


class IngestError(TenthsError):
    def __init__(self, message: str, *, source: str = "", line: int | None = None):
        self.source, self.line = source, line
        super().__init__(message)


class EngineError(TenthsError):
    pass


class RefusedError(TenthsError):
    """The validator refused; `reasons` lists each finding as a sentence."""

    def __init__(self, message: str, reasons: list[str] | None = None):
        self.reasons = reasons or []
        super().__init__(message)
