"""The firm folder on disk: the only place that reads it. Parsers receive bytes."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError
from .ingest import firm as firm_files
from .models import FirmData

REQUIRED = ("timekeepers.csv", "clients.csv", "matters.csv")
MAX_SOURCE_BYTES = 512 * 1024 * 1024
"""A single source file larger than this is rejected whole rather than read into memory."""


def load_firm(root: Path | str) -> FirmData:
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder")
    toml = root / "firm.toml"
    if not toml.is_file():
        raise ConfigError("no firm.toml in the firm folder", file=str(toml))
    firm = firm_files.parse_firm_toml(_read(toml), "firm.toml")
    for name in REQUIRED:
        if not (root / name).is_file():
            raise ConfigError("required firm file is missing", file=name)
    tks = firm_files.parse_timekeepers(_read(root / "timekeepers.csv"))
    clients = firm_files.parse_clients(_read(root / "clients.csv"))
    matters = firm_files.parse_matters(_read(root / "matters.csv"))
    contacts = firm_files.parse_contacts(_read(root / "contacts.csv")) if (root / "contacts.csv").is_file() else []
    firm_files.check_references(tks, clients, matters, contacts)
    guidelines = {}
    gdir = root / "guidelines"
    if gdir.is_dir():
        for p in sorted(gdir.glob("*.toml")):
            guidelines[p.name] = firm_files.parse_guidelines_toml(_read(p), f"guidelines/{p.name}")
    for c in clients:
        if c.guidelines and c.guidelines not in guidelines:
            raise ConfigError(f"client {c.client_id} names guidelines/{c.guidelines}, which does not exist",
                              file="clients.csv")
    return FirmData(root=str(root), firm=firm, timekeepers=tks, clients=clients, matters=matters,
                    contacts=contacts, guidelines=guidelines)


def source_files(root: Path | str) -> dict[str, list[Path]]:
    """Source files by source name, sorted, so every run reads them in the same order."""
    root = Path(root)

    def files(sub: str, patterns: tuple[str, ...]) -> list[Path]:
        d = root / sub
        if not d.is_dir():
            return []
        found = {p for pat in patterns for p in d.rglob(pat) if p.is_file()}
        return sorted(found)

    return {
        "calendar": files("calendar", ("*.ics",)),
        "mail": files("mail", ("*.mbox", "*.eml", "*.mbx")),
        "calls": files("calls", ("*.csv",)),
        "documents": files("documents", ("*.csv",)),
    }


def relative(root: Path | str, path: Path) -> str:
    return path.relative_to(Path(root)).as_posix()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"unreadable ({e.strerror})", file=path.name) from None
