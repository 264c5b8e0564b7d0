"""Email: mbox files and single .eml messages → one activity per owning timekeeper.

A message belongs to each timekeeper in From (`email_sent`) or To/Cc (`email_received`), matched by
the timekeeper's email or aliases, case-insensitively. Each message is one record and ends in
exactly one of: activity (one or more), ignored (bulk/automated, names no timekeeper, internal only,
a duplicate of a message already read), rejected (no headers, no or unreadable Date). A message
dated outside the period (local date in the firm's zone) is not a record of the analysis at all.

The fast path reads headers with a small scanner and decides everything it can from them; only
messages that become activities have their bodies read, by a small MIME walker (boundaries,
base64/quoted-printable, charsets) instead of `email.parser`, which is the slow part of a naive
`policy.default` parse. `parse_mail_files` spreads the messages of all files, including a single
huge mbox, over worker processes. The reference path (`fast=False`) makes the same decisions from a
full `email.policy.default` parse; the tests check that both give the same activities.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.policy
import quopri
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from ..models import Activity, FirmData, Period, Rejection, SourceResult, make_activity_id
from . import mailtext, normalize

__all__ = ["email_minutes", "parse_mail", "parse_mail_files", "split_mbox"]

SENT_BASE_MINUTES = 6
SENT_STEP_MINUTES = 3
SENT_STEP_WORDS = 250
SENT_MAX_MINUTES = 18
RECEIVED_MINUTES = 2
RECEIVED_LONG_MINUTES = 3
RECEIVED_LONG_WORDS = 150

AUTOMATED_SENDERS = {"noreply", "donotreply", "mailerdaemon", "postmaster"}
"""Local parts (without "-", "_", "." and any +tag) of senders that are machines, not people."""

_SMALL_JOB_BYTES = 2 * 2**20
"""Less mail than this (about 1,500 messages) is parsed in-process: starting workers would cost more."""
_MIN_TASK_BYTES = 256 * 2**10

Outcome = tuple[str, str, object]
"""(Message-ID or "", "activity" | "ignored" | "rejected", list[Activity] | Rejection)."""


def email_minutes(kind: str, words: int, attachments: int) -> int:
    """The documented estimate of the work one email shows.

    Sent: 6 minutes, plus 3 for every full 250 words of new text, at most 18.
    Received: 3 minutes with an attachment or more than 150 words of new text, else 2.
    """
    if kind == "email_sent":
        steps = max(0, words) // SENT_STEP_WORDS
        return min(SENT_MAX_MINUTES, SENT_BASE_MINUTES + SENT_STEP_MINUTES * steps)
    if attachments > 0 or words > RECEIVED_LONG_WORDS:
        return RECEIVED_LONG_MINUTES
    return RECEIVED_MINUTES


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Context:
    """What the parser needs of the firm; small and picklable, sent once per worker task."""

    owners: dict[str, str]
    firm_domains: frozenset[str]
    zones: dict[str, ZoneInfo]
    firm_zone: ZoneInfo
    start: dt.date
    end: dt.date


def _context(firm: FirmData, period: Period) -> _Context:
    owners: dict[str, str] = {}
    for tk in firm.timekeepers:
        for address in [tk.email, *tk.aliases]:
            address = normalize.email(address)
            if address:
                owners.setdefault(address, tk.timekeeper_id)
    zones = {tk.timekeeper_id: firm.tz_for(tk.timekeeper_id) for tk in firm.timekeepers}
    return _Context(owners, frozenset(firm.firm_domains), zones, firm.firm.tz, period.start, period.end)


# --------------------------------------------------------------------------- mbox layout


def split_mbox(data: bytes) -> list[tuple[int, int]]:
    """Byte spans (start, end) of the messages of an mbox, each starting at its `From ` line.

    A line starting with `From ` separates messages when it is the first line or the next line is a
    header (or the end of the file), so an unquoted "From here on…" in a body does not split it.
    """
    starts = [0] if data.startswith(b"From ") else []
    pos = data.find(b"\nFrom ")
    while pos != -1:
        line_start = pos + 1
        eol = data.find(b"\n", line_start)
        if eol == -1 or _looks_like_header(data, eol + 1):
            starts.append(line_start)
        pos = data.find(b"\nFrom ", line_start)
    ends = starts[1:] + [len(data)]
    return list(zip(starts, ends))


_HEADER_NAME = re.compile(rb"[!-9;-~]+:")


def _looks_like_header(data: bytes, at: int) -> bool:
    return at >= len(data) or bool(_HEADER_NAME.match(data, at, at + 80))


@dataclass
class _Layout:
    spans: list[tuple[int, int]]
    mbox: bool
    notes: list[Rejection] = field(default_factory=list)
    """Whole-file findings (empty file, bytes before the first message)."""


def _layout(data: bytes, path: str) -> _Layout:
    if data.startswith(b"\xef\xbb\xbf"):
        data = b" " * 3 + data[3:]  # keep offsets; a BOM is not a message
    head = data.lstrip(b" \r\n\t")
    if not head:
        if path.lower().endswith(".eml"):
            return _Layout([], False, [_reject(path, "empty file")])
        return _Layout([], True)  # an empty mailbox holds no mail
    offset = len(data) - len(head)
    if not head.startswith(b"From ") and not path.lower().endswith((".mbox", ".mbx")):
        return _Layout([(offset, len(data))], False)
    if head.startswith(b"From "):
        return _Layout([(a + offset, b + offset) for a, b in split_mbox(head)], True)
    if path.lower().endswith((".mbox", ".mbx")):
        spans = [s for s in split_mbox(data) if data.startswith(b"From ", s[0])]
        if spans:
            note = _reject(path, "bytes before the first 'From ' line are not a message")
            return _Layout(spans, True, [note])
    return _Layout([(offset, len(data))], False)


# --------------------------------------------------------------------------- headers


@dataclass
class _Envelope:
    """The headers a decision needs, however they were read."""

    has_headers: bool = False
    from_: list[tuple[str, str]] = field(default_factory=list)
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    date: dt.datetime | None = None
    date_problem: str = "no Date header"
    subject: str = ""
    message_id: str = ""
    thread_root: str = ""
    automated: str = ""
    """Why the message is bulk or automated mail, or ""."""


_WANTED = {
    "from", "to", "cc", "date", "subject", "message-id", "in-reply-to", "references", "list-unsubscribe",
    "precedence", "auto-submitted", "content-type", "content-transfer-encoding", "content-disposition",
}
_MULTI = {"to", "cc", "from"}
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_ALL_HEADER_LINES = re.compile(r"(?:(?:[!-9;-~]+:|[ \t])[^\n]*(?:\n|\Z))*")
_ANY_HEADER = re.compile(r"^[!-9;-~]+:", re.M)
_WANTED_HEADER = re.compile(
    r"^(" + "|".join(sorted(_WANTED, key=len, reverse=True)) + r"):([^\n]*(?:\n[ \t][^\n]*)*)", re.M | re.I
)


def _read_head(raw: bytes) -> tuple[dict[str, str], bool, bytes]:
    """Wanted headers, whether there were any, and the body bytes."""
    block, separator, body = _split_head(raw)
    found, seen, stop = _scan_headers(block)
    if stop is not None:  # a line that is not a header starts the body, as in `email`
        body = b"\n".join(block.split(b"\n")[stop:]) + separator + body
    return found, seen, body


def _split_head(raw: bytes) -> tuple[bytes, bytes, bytes]:
    if raw.startswith((b"\n", b"\r\n")):
        return b"", b"", raw.split(b"\n", 1)[1]
    a = raw.find(b"\n\n")
    b = raw.find(b"\n\r\n")
    if a == -1 and b == -1:
        return raw, b"", b""
    if b == -1 or (a != -1 and a < b):
        return raw[:a], b"\n\n", raw[a + 2:]
    return raw[:b], b"\n\r\n", raw[b + 3:]


def _scan_headers(block: bytes) -> tuple[dict[str, str], bool, int | None]:
    """Wanted headers (lower-case name → unfolded value), whether any header line was seen, and the
    index of the line that ended the headers early (None when the whole block is headers).

    Like the `email` parser, the first line that is neither a header nor a continuation ends the
    headers. Raw 8-bit headers are read as UTF-8, else windows-1252.
    """
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = mailtext.decode_bytes(block, "windows-1252")
    found: dict[str, str] = {}
    if _ALL_HEADER_LINES.fullmatch(text):  # the usual case: one regex pass, no line loop
        for name, value in _WANTED_HEADER.findall(text):
            value = "".join(v.rstrip("\r") for v in value.split("\n")) if "\n" in value else value.rstrip("\r")
            _store(found, name.lower(), value)
        return found, _ANY_HEADER.search(text) is not None, None
    seen = False
    stop = None
    name = ""
    value: list[str] = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            if name:
                value.append(line.rstrip("\r"))
            continue
        if name:
            _store(found, name, "".join(value))
            name = ""
        if line.startswith("From "):
            # A Unix From_ line among headers is skipped, as `email` does; as the last one, it is body.
            if number + 1 < len(lines) and _is_header_line(lines[number + 1]):
                continue
            stop = number
            break
        if not _is_header_line(line):
            stop = number
            break
        colon = line.find(":")
        seen = True
        head = line[:colon].lower()
        if head in _WANTED:
            name, value = head, [line[colon + 1:].rstrip("\r")]
    if name:
        _store(found, name, "".join(value))
    return found, seen, stop


def _is_header_line(line: str) -> bool:
    if line[:1] in (" ", "\t") or line.startswith("From "):
        return True
    colon = line.find(":")
    return colon > 0 and bool(_FIELD_NAME.fullmatch(line, 0, colon))


def _store(found: dict[str, str], name: str, value: str) -> None:
    if name in found:
        if name in _MULTI:
            found[name] += ", " + value
    else:
        found[name] = value


_ATOM_ADDR = r"[^<>\s\"(),;:\\@\[\]]+@[^<>\s\"(),;:\\@\[\]]+"
_SIMPLE_ADDRESS = re.compile(rf"\s*(?:([^<>\"(),;:\\@]*?)\s*<({_ATOM_ADDR})>|({_ATOM_ADDR}))\s*")


def _addresses(value: str | None) -> list[tuple[str, str]]:
    """(display name, normalised address) pairs; plain lists by regex, anything unusual by `getaddresses`."""
    if not value:
        return []
    simple = []
    for item in value.split(","):
        found = _SIMPLE_ADDRESS.fullmatch(item)
        if found is None:
            if item.strip():
                break
            continue
        name, address = (found.group(1), found.group(2)) if found.group(2) else ("", found.group(3))
        simple.append((mailtext.decode_header_value(name) if name else "", address.lower()))
    else:
        return simple
    out = []
    for name, address in getaddresses([value]):
        address = normalize.email(address)
        if "@" in address:
            out.append((mailtext.decode_header_value(name) if name else "", address))
    return out


_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def _message_id(value: str | None) -> str:
    if not value:
        return ""
    found = _ANGLE_ID.search(value)
    return found.group(1) if found else "".join(value.split()).strip("<>")


def _thread_root(references: str | None, in_reply_to: str | None) -> str:
    for value in (references, in_reply_to):
        if value:
            found = _ANGLE_ID.search(value)
            if found:
                return found.group(1)
    return ""


def _automated(get: Callable[[str], str | None], senders: list[tuple[str, str]]) -> str:
    if get("list-unsubscribe") is not None:
        return "bulk mail (List-Unsubscribe)"
    precedence = (get("precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"bulk mail (Precedence: {precedence})"
    submitted = (get("auto-submitted") or "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"automated mail (Auto-Submitted: {submitted})"
    for _, address in senders:
        local = address.split("@", 1)[0].split("+", 1)[0]
        if local.replace("-", "").replace("_", "").replace(".", "") in AUTOMATED_SENDERS:
            return f"automated sender {address}"
    return ""


_MONTHS = {m: n for n, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_RFC5322_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"\s+([+-])(\d{2})(\d{2})\s*(?:\([^()]*\))?\s*"
)


def _date(value: str | None) -> tuple[dt.datetime | None, str]:
    if value is None or not value.strip():
        return None, "no Date header"
    when = _common_date(value)
    if when is None:
        try:
            when = parsedate_to_datetime(value)
        except Exception:
            when = None
    if when is None:
        return None, f"unreadable Date header {' '.join(value.split())[:60]!r}"
    return _aware(when), ""


def _common_date(value: str) -> dt.datetime | None:
    """The one format nearly every mailer writes, read without `email.utils` (which is slow)."""
    m = _RFC5322_DATE.fullmatch(value)
    if m is None:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = m.groups()
    month = _MONTHS.get(month.lower())
    if month is None:
        return None
    offset = dt.timedelta(hours=int(off_h), minutes=int(off_m))
    try:
        return dt.datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0),
                           tzinfo=dt.timezone(-offset if sign == "-" else offset))
    except ValueError:
        return None


def _aware(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when


def _envelope_fast(found: dict[str, str], seen: bool) -> _Envelope:
    env = _Envelope(has_headers=seen)
    env.from_ = _addresses(found.get("from"))
    env.to = _addresses(found.get("to"))
    env.cc = _addresses(found.get("cc"))
    env.date, env.date_problem = _date(found.get("date"))
    env.subject = mailtext.decode_header_value(found.get("subject", ""))
    env.message_id = _message_id(found.get("message-id"))
    env.thread_root = _thread_root(found.get("references"), found.get("in-reply-to"))
    env.automated = _automated(found.get, env.from_)
    return env


# --------------------------------------------------------------------------- bodies


@dataclass
class _Body:
    text: str = ""
    attachments: int = 0


_PARAM = {
    name: re.compile(name + r'\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.I)
    for name in ("charset", "boundary")
}
_FILENAME = re.compile(r"(?:^|;)\s*(?:file)?name\*?(?:\*\d+\*?)?\s*=", re.I)
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def _param(value: str, name: str) -> str:
    found = _PARAM[name].search(value)
    return (found.group(1) if found.group(1) is not None else found.group(2)) if found else ""


def _content_type(value: str) -> str:
    """The MIME type in lower case; text/plain when absent or malformed (as RFC 2045 says)."""
    main = value.split(";", 1)[0].strip().lower()
    return main if _MIME_TYPE.fullmatch(main) else "text/plain"


def _decode_transfer(payload: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding == "base64":
            return base64.b64decode(payload + b"==", validate=False) if payload else b""
        if encoding == "quoted-printable":
            return quopri.decodestring(payload)
    except (binascii.Error, ValueError):
        return payload
    return payload


def _split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts between `--boundary` lines, up to `--boundary--` (or the end of a truncated message)."""
    delim = b"--" + boundary.encode("utf-8", "replace")
    parts: list[bytes] = []
    begin = -1  # where the current part's content starts
    at = 0 if body.startswith(delim) else _next_line_with(body, delim, 0)
    while at != -1:
        eol = body.find(b"\n", at)
        line_end = len(body) if eol == -1 else eol + 1
        tail = body[at + len(delim):line_end]
        closing = tail.startswith(b"--")
        if closing or not tail.strip():
            if begin != -1:
                parts.append(body[begin:max(begin, at - 1)].rstrip(b"\r"))
            if closing:
                return parts
            begin = line_end
        at = _next_line_with(body, delim, line_end - 1)
    if begin != -1 and begin < len(body):
        parts.append(body[begin:])
    return parts


def _next_line_with(body: bytes, prefix: bytes, start: int) -> int:
    found = body.find(b"\n" + prefix, start)
    return found + 1 if found != -1 else -1


def _body_fast(found: dict[str, str], body: bytes, depth: int = 0) -> _Body:
    """Body text (first text/plain, else first text/html) and attachment count, without `email.parser`."""
    plain: list[tuple[dict[str, str], bytes]] = []
    html: list[tuple[dict[str, str], bytes]] = []
    attachments = _fast_leaves(found, body, plain, html, depth)
    for parts, convert in ((plain, None), (html, mailtext.html_to_text)):
        if parts:
            headers, payload = parts[0]
            payload = _decode_transfer(payload, headers.get("content-transfer-encoding", ""))
            text = mailtext.decode_bytes(payload, _param(headers.get("content-type", ""), "charset"))
            return _Body(convert(text) if convert else text, attachments)
    return _Body("", attachments)


def _fast_leaves(found: dict[str, str], body: bytes, plain: list, html: list, depth: int,
                 default: str = "text/plain") -> int:
    ctype = _content_type(found["content-type"]) if "content-type" in found else default
    if ctype.startswith("multipart/"):
        boundary = _param(found.get("content-type", ""), "boundary")
        if not boundary or depth > 20:
            return 0
        inner = "message/rfc822" if ctype == "multipart/digest" else "text/plain"  # RFC 2046 5.1.5
        total = 0
        for part in _split_multipart(body, boundary):
            sub, _, sub_body = _read_head(part)
            total += _fast_leaves(sub, sub_body, plain, html, depth + 1, inner)
        return total
    disposition = found.get("content-disposition", "").split(";", 1)[0].strip().lower()
    named = bool(_FILENAME.search(found.get("content-disposition", "")) or
                 _FILENAME.search(found.get("content-type", "")))
    if disposition == "attachment" or named or not ctype.startswith("text/"):
        return 1
    if ctype == "text/plain":
        plain.append((found, body))
    elif ctype == "text/html":
        html.append((found, body))
    return 0


def _leaves(part, plain: list, html: list) -> int:
    """Body candidates and attachment count of an `email` message tree (the reference path)."""
    ctype = part.get_content_type()
    if ctype.startswith("multipart/"):  # without a single boundary line `email` keeps it as a string
        return sum(_leaves(sub, plain, html) for sub in part.get_payload()) if part.is_multipart() else 0
    disposition = (part.get("content-disposition") or "").split(";", 1)[0].strip().lower()
    try:
        filename = part.get_filename() or part.get_param("name")
    except Exception:
        filename = None
    if disposition == "attachment" or filename or not ctype.startswith("text/"):
        return 1
    if ctype == "text/plain":
        plain.append(part)
    elif ctype == "text/html":
        html.append(part)
    return 0


_QUOTED_FROM = re.compile(rb"^>(>*From )", re.M)


def _unquote_from(body: bytes) -> bytes:
    return _QUOTED_FROM.sub(rb"\1", body) if b">From " in body else body


# --------------------------------------------------------------------------- decisions


def _decide(ctx: _Context, env: _Envelope, path: str, index: int, whole_file: bool,
            body: Callable[[], _Body]) -> Outcome | None:
    """The record's outcome, or None when it is dated outside the period (not a record)."""
    if not env.has_headers:
        return "", "rejected", _reject(path if whole_file else f"{path}#{index}", "not an email message (no headers)")
    ref = f"{path}#{env.message_id}" if env.message_id else f"{path}#{index}"
    mid = env.message_id
    if env.date is None:
        return mid, "rejected", _reject(ref, env.date_problem)
    try:
        local_day = env.date.astimezone(ctx.firm_zone).date()
    except (OverflowError, ValueError):
        return mid, "rejected", _reject(ref, "Date header out of range")
    if not ctx.start <= local_day <= ctx.end:
        return None
    if env.automated:
        return mid, "ignored", _ignore(ref, env.automated)
    owners: dict[str, str] = {}
    for _, address in env.from_:
        tk = ctx.owners.get(address)
        if tk:
            owners.setdefault(tk, "email_sent")
    for _, address in env.to + env.cc:
        tk = ctx.owners.get(address)
        if tk:
            owners.setdefault(tk, "email_received")
    if not owners:
        return mid, "ignored", _ignore(ref, "names no timekeeper")
    external: dict[str, str] = {}
    for name, address in env.from_ + env.to + env.cc:
        if address in ctx.owners or normalize.domain(address) in ctx.firm_domains:
            continue
        if address not in external or (name and not external[address]):
            external[address] = name
    if not external:
        return mid, "ignored", _ignore(ref, "internal only: every address is the firm's")
    dated = {}
    for tk, kind in owners.items():
        when = env.date.astimezone(ctx.zones.get(tk, ctx.firm_zone))
        if ctx.start <= when.date() <= ctx.end:
            dated[tk] = (kind, when)
    if not dated:
        return mid, "ignored", _ignore(ref, "dated outside the period in its timekeepers' time zones")
    content = body()
    new = mailtext.new_text(content.text)
    words = mailtext.count_words(new)
    excerpt = mailtext.excerpt(new)
    names = [n for n in dict.fromkeys(external.values()) if n]
    activities = []
    for tk, (kind, when) in dated.items():
        minutes = email_minutes(kind, words, content.attachments)
        span = dt.timedelta(minutes=minutes)
        start, end = (when - span, when) if kind == "email_sent" else (when, when + span)
        activities.append(Activity(
            activity_id=make_activity_id(ref, tk), source="mail", source_ref=ref, timekeeper_id=tk, kind=kind,
            start=start, end=end, minutes=minutes, title=env.subject, counterparties=list(external),
            participant_names=names, thread_id=env.thread_root or mid or ref, excerpt=excerpt, words=words,
            attachments=content.attachments,
        ))
    return mid, "activity", activities


def _reject(ref: str, reason: str) -> Rejection:
    return Rejection(source="mail", source_ref=ref, status="rejected", reason=reason)


def _ignore(ref: str, reason: str) -> Rejection:
    return Rejection(source="mail", source_ref=ref, status="ignored", reason=reason)


def _message_fast(ctx: _Context, raw: bytes, path: str, index: int, mbox: bool) -> Outcome | None:
    if mbox:
        raw = _unquote_from(raw[raw.find(b"\n") + 1:]) if b"\n" in raw else b""
    found, seen, body = _read_head(raw)
    env = _envelope_fast(found, seen)

    def read_body() -> _Body:
        try:
            return _body_fast(found, body)
        except Exception:
            return _Body()

    return _decide(ctx, env, path, index, not mbox, read_body)


def _message_reference(ctx: _Context, raw: bytes, path: str, index: int, mbox: bool) -> Outcome | None:
    """The same decision from a full `email.policy.default` parse (slow; the tests' yardstick)."""
    if mbox:
        raw = raw[raw.find(b"\n") + 1:] if b"\n" in raw else b""
        raw = _unquote_from(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)

    def get(name: str) -> str | None:
        try:
            values = msg.get_all(name)
        except Exception:
            return None
        return None if values is None else ", ".join(str(v) for v in values)

    def addresses(name: str) -> list[tuple[str, str]]:
        out = []
        try:
            for header in msg.get_all(name) or []:
                for a in header.addresses:
                    address = normalize.email(a.addr_spec)
                    if "@" in address:
                        out.append((" ".join(a.display_name.split()), address))
        except Exception:
            return _addresses(get(name))
        return out

    env = _Envelope(has_headers=bool(msg.keys()))
    env.from_, env.to, env.cc = addresses("from"), addresses("to"), addresses("cc")
    try:
        header = msg["date"]
        when = header.datetime if header is not None else None
    except Exception:
        header, when = "", None
    if header is None or not str(header).strip():
        env.date, env.date_problem = None, "no Date header"
    elif when is None:
        env.date, env.date_problem = None, f"unreadable Date header {' '.join(str(header).split())[:60]!r}"
    else:
        env.date, env.date_problem = _aware(when), ""
    env.subject = " ".join((get("subject") or "").split()) if msg["subject"] is not None else ""
    env.message_id = _message_id(msg["message-id"])
    env.thread_root = _thread_root(msg["references"], msg["in-reply-to"])
    env.automated = _automated(get, env.from_)

    def read_body() -> _Body:
        plain: list = []
        html: list = []
        attachments = _leaves(msg, plain, html)
        for parts, convert in ((plain, str), (html, mailtext.html_to_text)):
            if parts:
                # The library undoes the transfer encoding; the charset rule is ours on both paths.
                payload = parts[0].get_payload(decode=True) or b""
                return _Body(convert(mailtext.decode_bytes(payload, parts[0].get_content_charset())), attachments)
        return _Body("", attachments)

    return _decide(ctx, env, path, index, not mbox, read_body)


def _parse_spans(ctx: _Context, path: str, data: bytes, spans: Iterable[tuple[int, int]], first_index: int,
                 mbox: bool, fast: bool = True) -> list[tuple[int, Outcome]]:
    parse = _message_fast if fast else _message_reference
    out = []
    for i, (a, b) in enumerate(spans, start=first_index):
        try:
            outcome = parse(ctx, data[a:b], path, i, mbox)
        except Exception as e:  # a last line of defence: one bad message never stops the file
            outcome = ("", "rejected", _reject(f"{path}#{i}", f"unreadable message ({type(e).__name__})"))
        if outcome is not None:
            out.append((i, outcome))
    return out


# --------------------------------------------------------------------------- results


def _collect(per_file: Iterable[tuple[str, list[Rejection], list[tuple[int, Outcome]]]]) -> SourceResult:
    """One SourceResult from outcomes in path/index order; a Message-ID seen again is a duplicate."""
    result = SourceResult()
    first: dict[str, str] = {}
    for path, notes, outcomes in per_file:
        result.rejections.extend(notes)
        for index, (mid, status, payload) in outcomes:
            ref = payload[0].source_ref if status == "activity" else payload.source_ref
            if mid:
                if mid in first:
                    if ref == first[mid]:  # the same message twice in one mailbox: name it by position
                        ref = f"{path}#{index}"
                    result.rejections.append(_ignore(ref, f"duplicate of {first[mid]}"))
                    continue
                first[mid] = ref
            if status == "activity":
                result.activities.extend(payload)
                result.activity_records += 1
            else:
                result.rejections.append(payload)
    return result


def parse_mail(data: bytes, path: str, firm: FirmData, period: Period, *, fast: bool = True) -> SourceResult:
    """One mbox or .eml file (decided by content: an mbox starts with a `From ` line). Never raises."""
    try:
        ctx = _context(firm, period)
        layout = _layout(data, path)
        outcomes = _parse_spans(ctx, path, data, layout.spans, 0, layout.mbox, fast)
        return _collect([(path, layout.notes, outcomes)])
    except Exception as e:
        return SourceResult(rejections=[_reject(path, f"unreadable mail file ({type(e).__name__}: {e})")])


@dataclass
class _Piece:
    """Consecutive messages of one file: the bytes themselves, or where to read them (no copy in memory)."""

    path: str
    spans: list[tuple[int, int]]
    """Relative to `data` / to `offset` in `file`."""
    first_index: int
    mbox: bool
    data: bytes = b""
    file: str = ""
    offset: int = 0
    length: int = 0

    def read(self) -> bytes:
        if not self.file:
            return self.data
        with open(self.file, "rb") as f:
            f.seek(self.offset)
            return f.read(self.length)


def _run_task(ctx: _Context, pieces: list[_Piece], fast: bool) -> list[list[tuple[int, Outcome]]]:
    out = []
    for p in pieces:
        try:
            data = p.read()
        except OSError as e:
            out.append([(p.first_index, ("", "rejected", _reject(p.path, f"unreadable file ({e.strerror or e})")))])
            continue
        out.append(_parse_spans(ctx, p.path, data, p.spans, p.first_index, p.mbox, fast))
    return out


def _size(source: bytes | Path) -> int:
    try:
        return source.stat().st_size if isinstance(source, Path) else len(source)
    except OSError:
        return 0


def _load(source: bytes | Path, path: str) -> tuple[bytes | Path, _Layout]:
    """One file's layout; a file that cannot be read is a whole-file rejection.

    A file given as a Path is not kept in memory: workers read their own slices of it.
    """
    try:
        data = source.read_bytes() if isinstance(source, Path) else bytes(source)
    except OSError as e:
        return b"", _Layout([], False, [_reject(path, f"unreadable file ({e.strerror or e})")])
    try:
        layout = _layout(data, path)
    except Exception as e:
        return b"", _Layout([], False, [_reject(path, f"unreadable mail file ({type(e).__name__})")])
    return (source if isinstance(source, Path) else data), layout


class _Batcher:
    """Cuts the messages of files into tasks of about `limit` bytes: a big mbox is cut, small files grouped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pieces: list[_Piece] = []
        self.bytes = 0
        self.count = 0

    def add(self, path: str, source: bytes | Path, layout: _Layout) -> Iterator[tuple[list[_Piece], int]]:
        spans = layout.spans
        i = 0
        while i < len(spans):
            j = i
            while j < len(spans) and self.bytes < self.limit:
                self.bytes += spans[j][1] - spans[j][0]
                j += 1
            base, stop = spans[i][0], spans[j - 1][1]
            rel = [(a - base, b - base) for a, b in spans[i:j]]
            if isinstance(source, Path):
                piece = _Piece(path, rel, i, layout.mbox, file=str(source), offset=base, length=stop - base)
            else:
                piece = _Piece(path, rel, i, layout.mbox, data=source[base:stop])
            self.pieces.append(piece)
            self.count += j - i
            i = j
            if self.bytes >= self.limit:
                yield self.flush()

    def flush(self) -> tuple[list[_Piece], int]:
        task, count = self.pieces, self.count
        self.pieces, self.bytes, self.count = [], 0, 0
        return task, count


def parse_mail_files(files: list[tuple[bytes | Path, str]], firm: FirmData, period: Period, *, workers: int = 2,
                     progress: Callable[[int, int], None] | None = None, fast: bool = True) -> SourceResult:
    """Many mail files (content or Path, relative path), parsed on `workers` processes, de-duplicated.

    The same Message-ID in several mailboxes (the sender's and the recipient's) is read once: the
    first occurrence by path and index counts, later ones are ignored as duplicates of it. Never raises.
    """
    files = list(files)
    try:
        return _parse_files(files, firm, period, workers, progress, fast)
    except Exception:  # a last line of defence: file by file, in-process (parse_mail never raises)
        result = SourceResult()
        for source, path in sorted(files, key=lambda f: f[1]):
            try:
                data = source.read_bytes() if isinstance(source, Path) else bytes(source)
            except OSError as e:
                result.rejections.append(_reject(path, f"unreadable file ({e.strerror or e})"))
                continue
            result.extend(parse_mail(data, path, firm, period, fast=fast))
        return result


def _parse_files(files: list[tuple[bytes | Path, str]], firm: FirmData, period: Period, workers: int,
                 progress: Callable[[int, int], None] | None, fast: bool) -> SourceResult:
    """Workers start first and get each task as soon as the files it needs are laid out."""
    ctx = _context(firm, period)
    files = sorted(files, key=lambda f: f[1])
    total_bytes = sum(_size(source) for source, _ in files)
    pool = None
    if workers > 1 and total_bytes >= _SMALL_JOB_BYTES:
        try:
            pool = ProcessPoolExecutor(max_workers=workers)
        except Exception:
            pool = None
    batcher = _Batcher(max(_MIN_TASK_BYTES, total_bytes // (max(1, workers) * 6)))
    order: list[tuple[str, list[Rejection]]] = []
    tasks: list[list[_Piece]] = []
    sizes: list[int] = []
    futures: dict = {}

    def queue(task: list[_Piece], count: int) -> None:
        tasks.append(task)
        sizes.append(count)
        if pool is not None:
            try:
                futures[pool.submit(_run_task, ctx, task, fast)] = len(tasks) - 1
            except Exception:
                pass  # parsed in-process below

    results: list[list[list[tuple[int, Outcome]]] | None] = []
    done = total = 0
    try:
        for source, path in files:
            source, layout = _load(source, path)
            order.append((path, layout.notes))
            for task, count in batcher.add(path, source, layout):
                queue(task, count)
        if batcher.pieces:
            queue(*batcher.flush())
        total = sum(sizes)
        results = [None] * len(tasks)
        if progress:
            progress(0, total)
        try:
            for future in as_completed(futures):
                n = futures[future]
                results[n] = future.result()
                done += sizes[n]
                if progress:
                    progress(done, total)
        except Exception:
            pass  # whatever a broken pool did not finish is parsed in-process below
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for n, task in enumerate(tasks):
        if results[n] is None:
            results[n] = _run_task(ctx, task, fast)
            done += sizes[n]
            if progress:
                progress(done, total)
    by_path: dict[str, list[tuple[int, Outcome]]] = {path: [] for path, _ in order}
    for task, outs in zip(tasks, results):
        for piece, piece_out in zip(task, outs or []):
            by_path[piece.path].extend(piece_out)
    return _collect((path, notes, by_path[path]) for path, notes in order)
