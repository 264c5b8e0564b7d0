"""Write an Analysis as the contract's output folder (CONTRACT.md `tenths analyze`)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from .errors import OutputError
from .models import Activity, FirmData
from .pipeline import Analysis

ACTIVITY_COLUMNS = ["activity_id", "source", "source_ref", "timekeeper_id", "start", "end", "minutes", "matter_id",
                    "match_confidence", "match_reason", "title", "kind", "candidates"]
GAP_COLUMNS = ["timekeeper_id", "date", "matter_id", "activity_ids", "minutes", "hours", "amount"]
DRAFT_COLUMNS = ["draft_id", "date", "timekeeper_id", "matter_id", "hours", "narrative", "task_code",
                 "activity_code", "evidence", "confidence", "engine", "notes"]
CONFIRM_COLUMNS = ["activity_id", "source", "source_ref", "timekeeper_id", "date", "title", "reason", "candidates"]
REJECTED_COLUMNS = ["source", "source_ref", "status", "reason"]


def write_outputs(analysis: Analysis, out_dir: Path | str) -> list[Path]:
    out = Path(out_dir)
    make_dir(out)
    firm = analysis.firm
    written = [
        write_csv(out / "activities.csv", ACTIVITY_COLUMNS, (activity_row(a, firm) for a in analysis.activities)),
        write_csv(out / "gaps.csv", GAP_COLUMNS, (
            [g.timekeeper_id, g.date.isoformat(), g.matter_id, ";".join(g.activity_ids), g.minutes, hours(g.hours),
             money(g.amount)] for g in analysis.gaps)),
        write_csv(out / "drafts.csv", DRAFT_COLUMNS, (
            [d.draft_id, d.date.isoformat(), d.timekeeper_id, d.matter_id, hours(d.hours), d.narrative, d.task_code,
             d.activity_code, ";".join(d.evidence), f"{d.confidence:.2f}", d.engine, d.notes]
            for d in analysis.drafts)),
        write_csv(out / "confirm_matter.csv", CONFIRM_COLUMNS, (
            [c.activity_id, c.source, c.source_ref, c.timekeeper_id, c.date.isoformat(), c.title, c.reason,
             ";".join(c.candidates)] for c in analysis.confirm)),
        write_csv(out / "rejected.csv", REJECTED_COLUMNS, (
            [r.source, r.source_ref, r.status, r.reason] for r in analysis.rejections)),
        write_text(out / "summary.json", json.dumps(analysis.summary, indent=2, sort_keys=False, default=str) + "\n"),
    ]
    return written


def activity_row(a: Activity, firm: FirmData) -> list:
    tz = firm.tz_for(a.timekeeper_id)
    return [a.activity_id, a.source, a.source_ref, a.timekeeper_id, a.start.astimezone(tz).isoformat(),
            a.end.astimezone(tz).isoformat(), a.minutes, a.matter_id or "", f"{a.match_confidence:.2f}",
            a.match_reason, a.title, a.kind, ";".join(a.candidates)]


def hours(value: Decimal) -> str:
    return f"{value:.1f}" if value == value.quantize(Decimal("0.1")) else f"{value:.2f}"


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def write_csv(path: Path, columns: list[str], rows) -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return write_text(path, buf.getvalue())


def write_text(path: Path, text: str) -> Path:
    """Atomic: a reader sees the old file or the new one, never half of one."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write beside the target, flush to disk, then rename over it: never a half-written file."""
    path = Path(path)
    make_dir(path.parent)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise OutputError(f"cannot write {path} ({e.strerror})") from None
    try:
        # mkstemp makes the file private (0600); give it the mode any other new file gets (or the file it replaces
        # had), so colleagues and other tools can read an invoice or an output folder on a shared drive.
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path} ({e.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def make_dir(path: Path) -> Path:
    """The output folder, created if needed; a ConfigError (bad --out, exit 2) when it cannot be."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot use {path} as an output folder: a file of that name exists") from None
    except NotADirectoryError:
        raise OutputError(f"cannot create the output folder {path}: part of its path is a file") from None
    except OSError as e:
        raise OutputError(f"cannot create the output folder {path} ({e.strerror})") from None
    return path
