"""Uploaded files are hostile input: they land in a temporary workspace and nowhere else.

A firm folder arrives either as one .zip archive or as individual files (calendars, mailboxes, call and
document logs, time entries, firm CSVs), which are sorted into the firm-folder layout by name and header.
Refused with one clear sentence: files or archives over the size limits, zip bombs (by compression
ratio, by total size, or by a member that inflates past its declared size), too many members, paths
that leave the workspace (absolute, `..`, drive letters), links and other special files, encrypted
members, and the same path twice. Nothing uploaded is ever executed.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from .errors import ConfigError, IngestError
from .models import Period

__all__ = ["Limits", "UploadResult", "extract_zip", "folder_digest", "guess_period", "new_workspace",
           "place_files", "prepare_upload"]

MiB = 1024 * 1024
FIRM_FILES = ("firm.toml", "timekeepers.csv", "clients.csv", "matters.csv", "contacts.csv")
ENTRY_FILES = ("time_entries.csv", "expenses.csv")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SKIP_PARTS = ("__MACOSX",)
_CHUNK = 1 * MiB


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 200 * MiB
    """One uploaded file (Streamlit's own default upload limit)."""
    max_total_bytes: int = 1024 * MiB
    """Everything uploaded, after extraction."""
    max_members: int = 20_000
    max_ratio: int = 200
    """Compression ratio above which a member counts as a bomb (only checked past `ratio_floor` bytes)."""
    ratio_floor: int = 1 * MiB
    max_depth: int = 12
    max_name: int = 255


class UploadResult(BaseModel):
    root: str
    """The firm folder inside the workspace."""
    files: list[str] = Field(default_factory=list)
    """Relative paths written."""
    notes: list[str] = Field(default_factory=list)
    """What was skipped or borrowed, one sentence each."""


def new_workspace() -> Path:
    """A fresh private temporary folder; the caller removes it with shutil.rmtree when done."""
    return Path(tempfile.mkdtemp(prefix="tenths-upload-"))


def prepare_upload(files: list[tuple[str, bytes]], workspace: Path, *, base_firm: Path | None = None,
                   limits: Limits = Limits()) -> UploadResult:
    """One .zip is a whole firm folder; anything else is a set of individual files."""
    if not files:
        raise ConfigError("choose a .zip of the firm folder or the individual files to upload")
    zips = [(n, d) for n, d in files if n.lower().endswith(".zip")]
    if zips and len(files) > 1:
        raise IngestError("upload either one .zip of the whole firm folder or individual files, not both",
                          source=zips[0][0])
    if zips:
        name, data = zips[0]
        return extract_zip(data, workspace / "firm", name=name, limits=limits)
    return place_files(files, workspace / "firm", base_firm=base_firm, limits=limits)


# --------------------------------------------------------------------------- archives


def extract_zip(data: bytes, dest: Path, *, name: str = "upload.zip", limits: Limits = Limits()) -> UploadResult:
    """Check every member before writing anything, then extract with byte caps; return the firm folder."""
    name = _display(name)
    if len(data) > limits.max_file_bytes:
        raise IngestError(f"{name} is {_mb(len(data))}; the limit is {_mb(limits.max_file_bytes)}", source=name)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise IngestError(f"{name} is not a readable .zip archive", source=name) from None
    if len(members) > limits.max_members:
        raise IngestError(f"{name} holds {len(members)} files; the limit is {limits.max_members}", source=name)

    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    seen: set[str] = set()
    declared = 0
    for info in members:
        path = _member_path(info.filename, name, limits)
        if path is None or info.is_dir():
            continue
        what = f"{name}: {path}"
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise IngestError(f"{what} is a symbolic link; links are not accepted", source=name)
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            raise IngestError(f"{what} is not a regular file", source=name)
        if info.flag_bits & 0x1:
            raise IngestError(f"{what} is encrypted; upload an archive without a password", source=name)
        key = path.as_posix().lower()
        if key in seen:
            raise IngestError(f"{what} appears twice in the archive", source=name)
        seen.add(key)
        if info.file_size > limits.max_file_bytes:
            raise IngestError(f"{what} unpacks to {_mb(info.file_size)}; the limit per file is "
                              f"{_mb(limits.max_file_bytes)}", source=name)
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise IngestError(f"{name} looks like a zip bomb: {path} unpacks {info.file_size // max(info.compress_size, 1)}"
                              f" times its packed size", source=name)
        declared += info.file_size
        if declared > limits.max_total_bytes:
            raise IngestError(f"{name} unpacks to more than {_mb(limits.max_total_bytes)}, the limit", source=name)
        plan.append((info, path))

    dest.mkdir(parents=True, exist_ok=False)
    written, total = [], 0
    try:
        for info, path in plan:
            target = _inside(dest, path, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with archive.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if size > info.file_size or total > limits.max_total_bytes:
                        raise IngestError(f"{name} looks like a zip bomb: {path} unpacks past its declared size",
                                          source=name)
                    out.write(chunk)
            written.append(path.as_posix())
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        shutil.rmtree(dest, ignore_errors=True)
        raise IngestError(f"{name} could not be unpacked ({_why(e)})", source=name) from None
    except IngestError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    root = _firm_root(dest, name)
    rel_root = root.relative_to(dest).as_posix()
    files = [p if rel_root == "." else p.removeprefix(rel_root + "/") for p in written
             if rel_root == "." or p.startswith(rel_root + "/")]
    return UploadResult(root=str(root), files=sorted(files))


def _member_path(raw: str, name: str, limits: Limits) -> PurePosixPath | None:
    """The member's safe relative path, None for folders and macOS/hidden clutter; refuses escapes."""
    if "\x00" in raw:
        raise IngestError(f"{name} has a member whose name contains a NUL character", source=name)
    text = raw.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise IngestError(f"{name}: {raw} is an absolute path; archive paths must be relative", source=name)
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise IngestError(f"{name}: {raw} points outside the archive (..)", source=name)
    if not parts or text.endswith("/"):
        return None
    if any(p in _SKIP_PARTS or p.startswith(".") for p in parts):
        return None
    if len(parts) > limits.max_depth or any(len(p) > limits.max_name for p in parts):
        raise IngestError(f"{name}: {raw[:80]} is nested too deep or named too long", source=name)
    return PurePosixPath(*parts)


def _inside(dest: Path, path: PurePosixPath, name: str) -> Path:
    target = dest.joinpath(*path.parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        raise IngestError(f"{name}: {path} points outside the workspace", source=name)
    return target


def _firm_root(dest: Path, name: str) -> Path:
    if (dest / "firm.toml").is_file():
        return dest
    found = sorted(p.parent for p in dest.glob("*/firm.toml"))
    if len(found) == 1:
        return found[0]
    shutil.rmtree(dest, ignore_errors=True)
    if found:
        raise ConfigError(f"{name} holds {len(found)} firm folders; upload one firm at a time", file=name)
    raise ConfigError(f"{name} has no firm.toml at its top level or in one top-level folder", file=name)


# --------------------------------------------------------------------------- individual files


def place_files(files: list[tuple[str, bytes]], dest: Path, *, base_firm: Path | None = None,
                limits: Limits = Limits()) -> UploadResult:
    """Sort individual files into a firm folder; firm files not uploaded are taken from `base_firm`."""
    dest.mkdir(parents=True, exist_ok=False)
    result = UploadResult(root=str(dest))
    total = 0
    for raw_name, data in files:
        name = _display(raw_name)
        if not name or name.startswith(".") or "\x00" in raw_name:
            raise IngestError(f"{raw_name!r} is not an acceptable file name", source=raw_name)
        if len(data) > limits.max_file_bytes:
            raise IngestError(f"{name} is {_mb(len(data))}; the limit is {_mb(limits.max_file_bytes)}", source=name)
        total += len(data)
        if total > limits.max_total_bytes:
            raise IngestError(f"the upload is over {_mb(limits.max_total_bytes)}, the limit", source=name)
        rel = _destination(name, data)
        if rel is None:
            result.notes.append(f"{name} was skipped: not a calendar, mailbox, call log, document log, "
                                f"time entries or firm file")
            continue
        target = dest / rel
        if target.exists():
            raise IngestError(f"{name} would be stored as {rel}, which another uploaded file already is", source=name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        result.files.append(rel)
    borrowed = _borrow_firm_files(dest, base_firm) if base_firm else []
    result.files.extend(borrowed)
    if borrowed:
        result.notes.append(f"firm settings not uploaded were taken from the current firm: {', '.join(borrowed)}")
    if not (dest / "firm.toml").is_file():
        raise ConfigError("the upload has no firm.toml; add it, or upload the whole firm folder as a .zip",
                          file="firm.toml")
    result.files.sort()
    return result


def _destination(name: str, data: bytes) -> str | None:
    lower = name.lower()
    if lower in FIRM_FILES or lower in ENTRY_FILES:
        return lower
    suffix = PurePosixPath(lower).suffix
    if suffix == ".toml":
        return f"guidelines/{name}"
    if suffix == ".ics":
        return f"calendar/{name}"
    if suffix in (".mbox", ".mbx", ".eml"):
        return f"mail/{name}"
    if suffix == ".csv":
        header = _csv_header(data)
        if "call_id" in header:
            return f"calls/{name}"
        if {"document", "action"} <= header:
            return f"documents/{name}"
        if "entry_id" in header:
            return "time_entries.csv"
        if "expense_id" in header:
            return "expenses.csv"
    return None


def _csv_header(data: bytes) -> set[str]:
    first = data[:4096].decode("utf-8-sig", errors="replace").splitlines()[:1]
    return {c.strip().strip('"').lower() for c in first[0].split(",")} if first else set()


def _borrow_firm_files(dest: Path, base: Path) -> list[str]:
    borrowed = []
    for name in FIRM_FILES:
        src = base / name
        if not (dest / name).exists() and src.is_file() and not src.is_symlink():
            shutil.copyfile(src, dest / name)
            borrowed.append(name)
    gdir = base / "guidelines"
    if gdir.is_dir():
        for src in sorted(gdir.glob("*.toml")):
            target = dest / "guidelines" / src.name
            if not target.exists() and src.is_file() and not src.is_symlink():
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(src, target)
                borrowed.append(f"guidelines/{src.name}")
    return borrowed


# --------------------------------------------------------------------------- folder facts


def folder_digest(root: Path | str) -> str:
    """A hash of every file's relative path and bytes: the cache key of an analysis."""
    root = Path(root)
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(path.relative_to(root).as_posix().encode() + b"\x00")
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        h.update(b"\x00")
    return h.hexdigest()


def guess_period(root: Path | str, today: dt.date) -> Period:
    """The calendar month of the latest recorded time entry; else the month before `today`."""
    dates = _entry_dates(Path(root) / "time_entries.csv")
    anchor = max(dates) if dates else (today.replace(day=1) - dt.timedelta(days=1))
    last = calendar.monthrange(anchor.year, anchor.month)[1]
    return Period(start=anchor.replace(day=1), end=anchor.replace(day=last))


def _entry_dates(path: Path) -> list[dt.date]:
    if not path.is_file():
        return []
    text = path.read_bytes()[: 50 * MiB].decode("utf-8-sig", errors="replace")
    dates = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            dates.append(dt.date.fromisoformat((row.get("date") or "").strip()))
        except (ValueError, TypeError):
            continue
    return dates


def _display(name: str) -> str:
    """Only the last path component of an uploaded name is ever used."""
    return PurePosixPath(name.replace("\\", "/")).name.strip()


def _mb(n: int) -> str:
    return f"{n / MiB:.0f} MB" if n >= MiB else f"{n} bytes"


def _why(e: Exception) -> str:
    return (getattr(e, "strerror", None) or str(e) or type(e).__name__)[:120]
