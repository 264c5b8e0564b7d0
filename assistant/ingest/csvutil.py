"""CSV reading shared by every CSV source: UTF-8 (BOM accepted), header row, physical line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Iterator

from ..errors import IngestError
from ..models import Rejection, SourceResult

MAX_FIELD = 1_000_000


@dataclass(frozen=True)
class Row:
    line: int
    """Physical line number where the row starts (the header is line 1)."""
    values: dict[str, str]


def decode_utf8(data: bytes, path: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode Text" and other UTF-16 exports
        raise IngestError(f"{path} is UTF-16, not UTF-8; save it as UTF-8 (\"CSV UTF-8\")", source=path)
    if b"\x00" in data[:8192]:
        raise IngestError(f"{path} is a binary file, not text", source=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(
            f"{path} is not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); save it as UTF-8",
            source=path,
        ) from None


def read_rows(data: bytes, path: str, required: list[str]) -> tuple[list[str], Iterator[Row]]:
    """Return the header and an iterator of rows; raise IngestError when the file is unusable as a whole."""
    text = decode_utf8(data, path)
    if not text.strip():
        raise IngestError(f"{path} is empty (no header row)", source=path)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lstrip("\ufeff").lower() for h in next(reader)]
    except csv.Error as e:
        raise IngestError(f"{path}: header row unreadable ({e})", source=path) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise IngestError(
            f"{path}: header lacks required column(s) {', '.join(missing)}"
            f" (found {', '.join(h for h in header if h) or 'nothing'})",
            source=path,
        )
    return header, _rows(reader, header, path)


def _rows(reader, header: list[str], path: str) -> Iterator[Row]:
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            # Report it where it starts; the reader resumes on the next line (e.g. after an
            # oversized field), so later rows are still read, unless it cannot move on.
            yield Row(start, {"__error__": f"malformed CSV ({e})"})
            if reader.line_num < start:
                return
            continue
        if not any(c.strip() for c in cells):
            continue  # blank lines are not records
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        values = {h: c.strip() for h, c in zip(header, cells) if h}
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            values["__error__"] = f"{len(cells)} fields where the header has {len(header)}"
        yield Row(start, values)


def split_list(cell: str) -> list[str]:
    return [p.strip() for p in (cell or "").split(";") if p.strip()]


def parse_source_rows(data: bytes, path: str, columns, source: str,
                      handle: Callable[[Row, str, SourceResult], None]) -> SourceResult:
    """Every data row of a source CSV through `handle(row, source_ref, result)`; never raises.

    A file without the required header is one rejection named by its path; a row `handle` refuses
    with ValueError (or anything stranger) is one rejection named by its line, and the rest go on.
    """
    result = SourceResult()
    try:
        _, rows = read_rows(data, path, columns)
    except IngestError as e:
        result.rejections.append(Rejection(source=source, source_ref=path, status="rejected", reason=str(e)))
        return result
    for row in rows:
        ref = f"{path}:{row.line}"
        try:
            handle(row, ref, result)
        except ValueError as e:
            result.rejections.append(Rejection(source=source, source_ref=ref, status="rejected", reason=str(e)))
        except Exception as e:  # noqa: BLE001 - one strange row must not cost the rest of the file
            result.rejections.append(Rejection(source=source, source_ref=ref, status="rejected",
                                               reason=f"unreadable row ({type(e).__name__})"))
    return result
