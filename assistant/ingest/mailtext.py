"""Text out of email: charsets with a safe fallback, RFC 2047 headers, HTML to text, the new part of a reply.

Everything here takes what a mail client would show and never raises on hostile input.
"""

from __future__ import annotations

import base64
import binascii
import re
from html.parser import HTMLParser

EXCERPT_CHARS = 300

_LATIN1_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "iso_8859-1", "cp819", "ibm819"}
_UTF8_LABELS = {"", "utf-8", "utf8", "us-ascii", "ascii", "unicode-1-1-utf-8"}


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Decode a body with its declared charset; undeclared, wrong or unknown charsets degrade, never fail.

    ISO-8859-1 labels are read as windows-1252 (what senders mean; the WHATWG rule).
    """
    label = (charset or "").strip().strip("\"'").lower()
    if label in _UTF8_LABELS:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return _cp1252(payload)
    if label in _LATIN1_LABELS:
        return _cp1252(payload)
    try:
        return payload.decode(label)
    except UnicodeDecodeError:
        try:
            return payload.decode(label, "replace")
        except Exception:
            return payload.decode("latin-1")
    except Exception:  # unknown or non-text codec name: LookupError, ValueError, …
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")


def _cp1252(payload: bytes) -> str:
    try:
        return payload.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return payload.decode("latin-1")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")


def decode_header_value(value: str) -> str:
    """An unfolded header value with its RFC 2047 encoded words decoded, whitespace collapsed."""
    if "=?" in value:
        value = _decode_words(value)
    return " ".join(value.split())


def _decode_words(value: str) -> str:
    """RFC 2047: whitespace between adjacent encoded words goes; adjacent words of one charset are joined
    as bytes first (senders split multi-byte characters across words). Raw non-ASCII text is kept."""
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos:m.start()]
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        raw = _word_bytes(m.group(2), m.group(3))
        if raw is None:  # not decodable: keep the word as written
            raw, charset = m.group(0).encode(), "utf-8"
        if pending and (between.strip() or charset.lower() != pending_charset.lower()):
            out.append(_decode_word(b"".join(pending), pending_charset))
            pending = []
        if not pending and (between.strip() or not out or pos == 0):
            out.append(between)
        pending.append(raw)
        pending_charset = charset
        pos = m.end()
    if pending:
        out.append(_decode_word(b"".join(pending), pending_charset))
    out.append(value[pos:])
    return "".join(out)


def _decode_word(raw: bytes, charset: str) -> str:
    """A declared charset is trusted in headers (bad bytes become U+FFFD, as `email` does); unknown ones fall back."""
    try:
        return raw.decode(charset, "replace")
    except Exception:
        return decode_bytes(raw, None)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "bB":
            return base64.b64decode(text + "=" * (-len(text) % 4))
        return binascii.a2b_qp(text.encode("ascii"), header=True)
    except (ValueError, binascii.Error):
        return None


# --------------------------------------------------------------------------- HTML

_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "pre", "section", "article", "header", "footer", "dd", "dt", "dl", "address", "center",
}
_SKIP_TAGS = {"script", "style", "head", "title", "noscript", "template"}
_TAG = re.compile(r"<[^>]*>")


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.quote = 0

    def _break(self) -> None:
        line = " ".join("".join(self.current).split())
        self.current = []
        if line:
            self.lines.append("> " * self.quote + line)
        elif self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "body":
            self.skip = 0
        elif tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "blockquote":
            self._break()
            self.quote += 1
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self._break()
            self.quote = max(0, self.quote - 1)
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, one line per block; blockquotes come out as '> ' quotes."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
        parser._break()
    except Exception:  # html.parser has asserted on malformed markup in the past
        return "\n".join(" ".join(line.split()) for line in _TAG.sub(" ", html).splitlines())
    return "\n".join(parser.lines).strip()


# --------------------------------------------------------------------------- replies

_EARLIER_MESSAGE = re.compile(
    r"^(?:-- ?\r?$"                                     # the signature delimiter
    r"|[ \t]*(?i:-{2,}\s*(?:Original Message|Forwarded message|Reply message)\s*-{2,}"
    r"|_{10,}[ \t]*\r?$|Sent from my \w+|Begin forwarded message:)"
    r"|[ \t]*On\b[^\n]{0,200}\bwrote:[ \t]*\r?$"           # On <date>, <name> wrote:
    r"|[ \t]*On\b[^\n]{0,200}\n[^\n]{0,200}wrote:[ \t]*\r?$"  # … folded over two lines
    r"|[ \t]*From:[^\n]*\n(?:[^\n]*\n){0,2}[ \t]*(?:Sent|Date):)",  # an Outlook reply block
    re.M,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*(?:\n|$)", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def new_text(text: str) -> str:
    """The part of a body its sender wrote now: no quoted lines, earlier messages or signature."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    earlier = _EARLIER_MESSAGE.search(text)
    if earlier:
        text = text[:earlier.start()]
    if ">" in text:
        text = _QUOTED_LINE.sub("", text)
    return text.strip()


def count_words(text: str) -> int:
    return len(text.split())


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters of text, on one line, without control characters (untrusted content)."""
    flat = " ".join(_CONTROL.sub(" ", text[: limit * 8]).split())
    if len(flat) <= limit and len(text) > limit * 8:  # mostly blank space at the start: read it all
        flat = " ".join(_CONTROL.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.7:
        cut = cut[:space]
    return cut.rstrip() + "…"
