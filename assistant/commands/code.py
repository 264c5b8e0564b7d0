"""`tenths code FIRM --entries FILE --out FILE`: the same CSV with UTBMS codes filled where empty.

Every original column and row is written back in order. `task_code`/`activity_code` are filled only
where empty and only when the coder is confident; the coder's top codes and confidence are always
written to `suggested_task_code,suggested_activity_code,code_confidence` for a reviewer.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import defaultdict
from pathlib import Path

from ..errors import ConfigError, IngestError
from ..folder import load_firm
from ..ingest.csvutil import MAX_FIELD, decode_utf8
from ..ingest.entries import parse_time_entries
from ..models import FirmData, Rejection, TimeEntry
from ..outputs import write_text

SUGGESTION_COLUMNS = ["suggested_task_code", "suggested_activity_code", "code_confidence"]


def run(ns) -> int:
    firm = load_firm(ns.firm)
    path = Path(ns.entries)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"unreadable ({e.strerror})", file=str(path)) from None
    text, rejected = code_entries_csv(data, path.name, firm)
    for r in rejected:
        print(f"tenths code: {r.source_ref}: {r.reason} (row kept, not coded)", file=sys.stderr)
    write_text(Path(ns.out), text)
    return 0


def code_entries_csv(data: bytes, name: str, firm: FirmData) -> tuple[str, list[Rejection]]:
    """The entries CSV text with codes filled and suggestion columns added, and the rows left uncoded.

    Raises ConfigError when the file cannot be used as a time-entries CSV at all.
    """
    entries, rejected = parse_time_entries(data, name)
    if rejected and not entries and rejected[0].source_ref == name:
        raise ConfigError(rejected[0].reason)
    by_line = {_line(e.source_ref): e for e in entries}
    fills = _code(entries, firm)

    try:
        raw = decode_utf8(data, name)
    except IngestError as e:
        raise ConfigError(str(e)) from None
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(raw, newline=""))
    header = next(reader)
    keys = [h.strip().lstrip("\ufeff").lower() for h in header]
    out_header = list(header)
    for col in ("task_code", "activity_code", *SUGGESTION_COLUMNS):
        if col not in keys:
            out_header.append(col)
            keys.append(col)
    index = {k: i for i, k in enumerate(keys)}

    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(out_header)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        if not any(c.strip() for c in cells):
            continue
        row = cells + [""] * (len(out_header) - len(cells))
        entry = by_line.get(line)
        if entry is not None and entry.source_ref in fills:
            task, activity, guess_task, guess_activity, confidence = fills[entry.source_ref]
            if not row[index["task_code"]].strip() and task:
                row[index["task_code"]] = task
            if not row[index["activity_code"]].strip() and activity:
                row[index["activity_code"]] = activity
            row[index["suggested_task_code"]] = guess_task
            row[index["suggested_activity_code"]] = guess_activity
            row[index["code_confidence"]] = f"{confidence:.2f}"
        writer.writerow(row)
    return buf.getvalue(), rejected


def _code(entries: list[TimeEntry], firm: FirmData) -> dict[str, tuple[str, str, str, str, float]]:
    """source_ref -> (task to fill, activity to fill, suggested task, suggested activity, confidence)."""
    from ..coder import annotate_roles, guess_many

    by_set: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in entries:
        matter = firm.matter(e.matter_id)
        by_set[matter.code_set if matter else "none"].append(e)
    out = {}
    for code_set, mine in by_set.items():
        texts = [annotate_roles(e.narrative, firm, _client_of(e, firm)) for e in mine]
        for e, guess in zip(mine, guess_many(texts, code_set)):
            s = guess.suggestion()
            out[e.source_ref] = (s.task_code, s.activity_code,
                               guess.task_code if guess.has_task else "", guess.activity_code, s.confidence)
    return out


def _client_of(entry: TimeEntry, firm: FirmData) -> str:
    matter = firm.matter(entry.matter_id)
    return matter.client_id if matter else ""


def _line(source_ref: str) -> int:
    return int(source_ref.rsplit(":", 1)[1])
