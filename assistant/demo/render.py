"""Planned records → the bytes of the firm folder's source files, and each record's source_ref.

Fixed line endings: CRLF in .ics (RFC 5545), LF everywhere else. Nothing here reads a clock.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import quopri
from email.header import Header
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from .firm import FIRM_NAME, Keeper
from .plan import Call, DocRow, Mail, Meeting, Plan

UTC = dt.timezone.utc

VTIMEZONES = {
    "America/New_York": ("-0500", "-0400", "EST", "EDT"),
    "America/Chicago": ("-0600", "-0500", "CST", "CDT"),
}


def _vtimezone(name: str) -> list[str]:
    std, dst, std_name, dst_name = VTIMEZONES[name]
    return [
        "BEGIN:VTIMEZONE", f"TZID:{name}",
        "BEGIN:DAYLIGHT", f"TZOFFSETFROM:{std}", f"TZOFFSETTO:{dst}", f"TZNAME:{dst_name}",
        "DTSTART:19700308T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "END:DAYLIGHT",
        "BEGIN:STANDARD", f"TZOFFSETFROM:{dst}", f"TZOFFSETTO:{std}", f"TZNAME:{std_name}",
        "DTSTART:19701101T020000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "END:STANDARD",
        "END:VTIMEZONE",
    ]


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts = []
    limit = 75
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        parts.append(data[:cut].decode("utf-8"))
        data = data[cut:]
        limit = 74
    return "\r\n ".join(parts)


def _when(name: str, epoch_min: int, m: Meeting, owner_zone: str) -> str:
    utc = dt.datetime.fromtimestamp(epoch_min * 60, UTC)
    if m.time_form == "utc":
        return f"{name}:{utc:%Y%m%dT%H%M%SZ}"
    if m.time_form == "floating":
        return f"{name}:{utc.astimezone(ZoneInfo(owner_zone)):%Y%m%dT%H%M%S}"
    return f"{name};TZID={m.tzid}:{utc.astimezone(ZoneInfo(m.tzid)):%Y%m%dT%H%M%S}"


def _duration(minutes: int) -> str:
    h, mi = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{mi}M" if mi or not h else "")


def _people(m: Meeting) -> list[str]:
    out = [f'ORGANIZER;CN="{m.organizer.name}":mailto:{m.organizer.email}']
    for p, status in m.attendees:
        out.append(f'ATTENDEE;CN="{p.name}";ROLE=REQ-PARTICIPANT;PARTSTAT={status};RSVP=FALSE:mailto:{p.email}')
    return out


def _vevent(m: Meeting, stamp: str, owner_zone: str) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{m.uid}", f"DTSTAMP:{stamp}"]
    if m.all_day:
        nxt = m.all_day + dt.timedelta(days=1)
        lines += [f"DTSTART;VALUE=DATE:{m.all_day:%Y%m%d}", f"DTEND;VALUE=DATE:{nxt:%Y%m%d}",
                  "TRANSP:TRANSPARENT"]
    else:
        lines.append(_when("DTSTART", m.start, m, owner_zone))
        lines.append(f"DURATION:{_duration(m.end - m.start)}" if m.use_duration else _when("DTEND", m.end, m, owner_zone))
        if m.rrule_until is not None:
            until = dt.datetime.fromtimestamp(m.rrule_until * 60, UTC)
            lines.append(f"RRULE:FREQ=WEEKLY;UNTIL={until:%Y%m%dT%H%M%SZ}")
            for x in m.exdates:
                lines.append(_when("EXDATE", x, m, owner_zone))
    lines.append(f"SUMMARY:{_esc(m.summary)}")
    if m.location:
        lines.append(f"LOCATION:{_esc(m.location)}")
    if m.description:
        lines.append(f"DESCRIPTION:{_esc(m.description)}")
    lines += _people(m) if m.attendees else [f'ORGANIZER;CN="{m.organizer.name}":mailto:{m.organizer.email}']
    lines += [f"STATUS:{m.status}", "END:VEVENT"]
    for orig, (ns, ne) in sorted(m.moved.items()):
        lines += ["BEGIN:VEVENT", f"UID:{m.uid}", f"DTSTAMP:{stamp}", _when("RECURRENCE-ID", orig, m, owner_zone),
                  _when("DTSTART", ns, m, owner_zone), _when("DTEND", ne, m, owner_zone),
                  f"SUMMARY:{_esc(m.summary)} (moved)", *(_people(m)), "SEQUENCE:1", "STATUS:CONFIRMED", "END:VEVENT"]
    return lines


def render_calendar(k: Keeper, meetings: list[Meeting], month_first: dt.date) -> bytes:
    stamp = f"{month_first - dt.timedelta(days=1):%Y%m%d}T120000Z"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//{FIRM_NAME}//Tenths demo//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{k.name}", f"X-WR-TIMEZONE:{k.timezone}"]
    for zone in sorted(VTIMEZONES):
        lines += _vtimezone(zone)
    for m in sorted(meetings, key=lambda m: (m.all_day or dt.date.min, m.start, m.uid)):
        lines += _vevent(m, stamp, k.timezone)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(x) for x in lines) + "\r\n").encode("utf-8")


def calendar_ref(tk: str, zone: str, m: Meeting, start: int) -> str:
    local = dt.datetime.fromtimestamp(start * 60, ZoneInfo(zone))
    return f"calendar/{tk}.ics#{m.uid}@{local.isoformat()}"


# --------------------------------------------------------------------------- mail


_ADDR_CACHE: dict[tuple[str, str], str] = {}


def _addr(p) -> str:
    key = (p.name, p.email)
    found = _ADDR_CACHE.get(key)
    if found is None:
        found = _ADDR_CACHE[key] = formataddr(key, charset="utf-8")
    return found


def _hdr(value: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(linesep="\n")


def _text_part(text: str, charset: str, subtype: str = "plain") -> str:
    if text.isascii():
        return f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: 7bit\n\n{text}\n'
    raw = text.encode(charset, errors="replace")
    qp = quopri.encodestring(raw).decode("ascii").replace("\r\n", "\n")
    return f'Content-Type: text/{subtype}; charset="{charset}"\nContent-Transfer-Encoding: quoted-printable\n\n{qp}\n'


def _html(text: str) -> str:
    blocks = []
    for para in text.split("\n\n"):
        esc = para.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>\n")
        blocks.append(f"<p>{esc}</p>")
    return "<html><body>\n" + "\n".join(blocks) + "\n</body></html>"


_FAKE_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _attachment(name: str, n: int) -> str:
    ctype = "application/pdf" if name.endswith(".pdf") else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    payload = base64.encodebytes(_FAKE_PDF + f"% {name} {n}\n".encode()).decode("ascii")
    return (f'Content-Type: {ctype}; name="{name}"\nContent-Disposition: attachment; filename="{name}"\n'
            f"Content-Transfer-Encoding: base64\n\n{payload}")


def render_message(mail: Mail, n: int) -> str:
    when = dt.datetime.fromtimestamp(mail.date * 60, UTC)
    zone = UTC if mail.zone == "UTC" else ZoneInfo(mail.zone)
    head = [f"From: {_addr(mail.sender)}"]
    to = [_addr(p) for p in mail.to]
    if mail.to_alias:
        to = [formataddr((mail.to[0].name, mail.to_alias))]
    head.append("To: " + ", ".join(to))
    if mail.cc:
        head.append("Cc: " + ", ".join(_addr(p) for p in mail.cc))
    head.append(f"Subject: {_hdr(mail.subject)}")
    head.append(f"Date: {format_datetime(when.astimezone(zone))}")
    if not mail.no_message_id:
        head.append(f"Message-ID: <{mail.msg_id}>")
    if mail.in_reply_to:
        head.append(f"In-Reply-To: <{mail.in_reply_to}>")
        head.append("References: " + " ".join(f"<{r}>" for r in mail.references))
    head.append("MIME-Version: 1.0")
    head += [f"{k}: {v}" for k, v in mail.headers]
    if mail.html == "only":
        body_part = _text_part(_html(mail.body), mail.charset, "html")
    elif mail.html == "alternative":
        b = f"==alt{n:07d}"
        body_part = (f'Content-Type: multipart/alternative; boundary="{b}"\n\n'
                     f"--{b}\n{_text_part(mail.body, mail.charset)}--{b}\n"
                     f"{_text_part(_html(mail.body), mail.charset, 'html')}--{b}--\n")
    else:
        body_part = _text_part(mail.body, mail.charset)
    if mail.attachments:
        b = f"==mix{n:07d}"
        parts = [body_part] + [_attachment(a, n) for a in mail.attachments]
        body_part = (f'Content-Type: multipart/mixed; boundary="{b}"\n\nThis is a multi-part message in MIME format.\n\n'
                     + "".join(f"--{b}\n{p}" for p in parts) + f"--{b}--\n")
    text = "\n".join(head) + "\n" + body_part
    return text.replace("\nFrom ", "\n>From ")


def render_mbox(mails: list[Mail], tk: str) -> tuple[bytes, dict[int, str]]:
    """The mailbox file and each message's source_ref (by id() of the Mail)."""
    out = io.StringIO()
    refs: dict[int, str] = {}
    ordered = sorted(mails, key=lambda m: (m.date, m.msg_id))
    for i, mail in enumerate(ordered):
        when = dt.datetime.fromtimestamp(mail.date * 60, UTC)
        out.write(f"From {mail.sender.email} {when:%a %b} {when.day:2d} {when:%H:%M:%S %Y}\n")
        out.write(render_message(mail, i))
        out.write("\n")
        refs[id(mail)] = f"mail/{tk}.mbox#{mail.msg_id if not mail.no_message_id else i}"
    return out.getvalue().encode("utf-8"), refs


# --------------------------------------------------------------------------- CSV


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def render_calls(calls: list[Call], zones: dict[str, ZoneInfo], month: str) -> tuple[bytes, dict[int, str]]:
    ordered = sorted(calls, key=lambda c: (c.start_s, c.tk, c.other, c.end_s))
    rows, refs = [], {}
    path = f"calls/{month}.csv"
    for i, c in enumerate(ordered):
        def ts(s: int) -> str:
            when = dt.datetime.fromtimestamp(s, UTC)
            return when.astimezone(zones[c.tk]).isoformat() if c.offset_form else f"{when:%Y-%m-%dT%H:%M:%SZ}"
        call_id = f"CL{month.replace('-', '')}-{i + 1:06d}"
        rows.append([call_id, ts(c.start_s), ts(c.end_s), c.direction, c.tk_phone, c.other])
        refs[id(c)] = f"{path}:{i + 2}"
    return csv_bytes(["call_id", "start", "end", "direction", "timekeeper_phone", "other_number"], rows), refs


def render_documents(docs: list[DocRow], zones: dict[str, ZoneInfo], month: str) -> tuple[bytes, dict[int, str]]:
    ordered = sorted(docs, key=lambda d: (d.end, d.tk, d.document))
    rows, refs = [], {}
    path = f"documents/{month}.csv"
    for i, d in enumerate(ordered):
        when = dt.datetime.fromtimestamp(d.end * 60, UTC).astimezone(zones[d.tk])
        rows.append([when.isoformat(), d.tk, d.document, d.action, str(d.minutes), d.matter_id])
        refs[id(d)] = f"{path}:{i + 2}"
    return csv_bytes(["timestamp", "timekeeper_id", "document", "action", "minutes", "matter_id"], rows), refs


def assign_refs(plan: Plan, keepers: list[Keeper], files: dict[str, bytes], month: str) -> None:
    """Render every source file into `files` and set each act's source_ref."""
    zones = {k.timekeeper_id: ZoneInfo(k.timezone) for k in keepers}
    mail_refs: dict[int, str] = {}
    for k in keepers:
        tk = k.timekeeper_id
        files[f"calendar/{tk}.ics"] = render_calendar(k, plan.meetings[tk], plan.month_start)
        data, refs = render_mbox(plan.mails[tk], tk)
        files[f"mail/{tk}.mbox"] = data
        mail_refs.update(refs)
    files[f"calls/{month}.csv"], call_refs = render_calls(plan.calls, zones, month)
    files[f"documents/{month}.csv"], doc_refs = render_documents(plan.docs, zones, month)
    for a in plan.acts:
        p = a.payload
        if isinstance(p, Mail):
            a.ref = mail_refs[id(p)]
        elif isinstance(p, Call):
            a.ref = call_refs[id(p)]
        elif isinstance(p, DocRow):
            a.ref = doc_refs[id(p)]
        elif isinstance(p, Meeting):
            a.ref = calendar_ref(a.tk, str(zones[a.tk]), p, a.start) if not p.all_day else \
                f"calendar/{a.tk}.ics#{p.uid}@{p.all_day.isoformat()}"


__all__ = ["assign_refs", "csv_bytes"]
