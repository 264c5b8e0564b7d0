"""Letters: the facts come from the invoice and the entries, and a letter that states anything else is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.commands.letter import upcoming_events
from assistant.errors import RefusedError
from assistant.folder import load_firm
from assistant.letters import (
    LetterBrief, UpcomingEvent, cover_brief, letter_docx, letter_problems, render_letter, status_brief, write_letter,
)
from assistant.models import Contact, Period
from test_ledes import entry, expense, invoice, spec_firm, write_firm

JAN = Period(start=dt.date(1999, 1, 1), end=dt.date(1999, 1, 31))


def firm_with_contact():
    firm = spec_firm()
    firm.clients[0].domains = ["one.example"]
    firm.contacts.append(Contact(client_id="C1", name="Dana Lee", email="dlee@one.example", matter_id="0528"))
    firm.contacts.append(Contact(client_id="C1", name="Sam Park", email="spark@one.example"))
    firm.matters[0].lead_timekeeper_id = "22547"
    firm.firm.address = ["1 Main Street, Suite 400", "Springfield, IL 62701"]
    return firm


ENTRIES = [
    entry("T1", 15, "22547", "2.0"),
    entry("T2", 16, "45875", "0.2", "telephone conference with opposing counsel re: deposition dates",
          task="L330", activity="A106"),
    entry("T3", 18, "77001", "1.5", "Review and organize 1,200 pages of production from Beta Industries",
          task="L320", activity="A104"),
    entry("T4", 20, "22547", "0.7", "Analyze complaint and research statute of limitations defenses",
          task="L120", activity="A102"),
    entry("OLD", 10, "22547", "3.0", "Initial case assessment", task="L110", activity="A102", month=12, year=1998),
    entry("OTHER", 16, "22547", "5.0", "Work on another matter", matter="0999"),
]


def cover():
    firm = firm_with_contact()
    inv = invoice(ENTRIES, [expense("X1", 17, "24.95")])
    return cover_brief(firm, "0528", inv, ENTRIES), inv


def status(upcoming=(), firm=None):
    return status_brief(firm or firm_with_contact(), "0528", ENTRIES, JAN, dt.date(1999, 2, 3), upcoming)


# --------------------------------------------------------------------------- the facts


def test_cover_brief_agrees_with_the_invoice_to_the_cent():
    brief, inv = cover()
    assert brief.invoice.total == inv.total == Decimal("1514.95")  # 700 + 45 + 500.00 (499.995) + 245 + 24.95
    assert brief.invoice.number == "INV-1" and brief.invoice.date == dt.date(1999, 2, 25)
    assert brief.invoice.fees == Decimal("1490.00") and brief.invoice.expenses == Decimal("24.95")
    assert brief.period_hours == inv.hours == Decimal("4.4")
    assert (brief.recipient_name, brief.recipient_email) == ("Dana Lee", "dlee@one.example")
    assert brief.signer_name == "Robert Arnsley" and brief.signer_title == "Partner"


def test_work_is_grouped_by_utbms_phase():
    brief, _ = cover()
    phases = {p.code: p for p in brief.work}
    assert set(phases) == {"L100", "L300"}
    assert phases["L300"].name == "Discovery" and phases["L300"].hours == Decimal("3.7")
    assert phases["L100"].fees == Decimal("245.00")
    assert "Telephone conference with opposing counsel re: deposition dates" in phases["L300"].items
    assert sum(p.fees for p in brief.work) == brief.period_fees == brief.invoice.fees


def test_hours_and_fees_to_date_include_earlier_work_of_the_matter_only():
    brief = status()
    assert brief.period_hours == Decimal("4.4") and brief.hours_to_date == Decimal("7.4")
    assert brief.fees_to_date == brief.period_fees + Decimal("1050.00")


def test_cover_letter_states_the_invoice_facts():
    brief, inv = cover()
    text = render_letter(brief)
    for fact in ("$1,514.95", "INV-1", "February 25, 1999", "January 1, 1999", "January 31, 1999",
                 "Dana Lee", "One v. Two", "Robert Arnsley", "Payment is due within 30 days", "[payment link]",
                 "**Discovery** (L300), 3.7 hours, $1,245.00"):
        assert fact in text, fact
    assert "Work on another matter" not in text and "Initial case assessment" not in text
    assert letter_problems(text, brief) == []


def test_status_letter_reports_work_time_and_upcoming_events():
    events = [UpcomingEvent(date=dt.date(1999, 2, 10), title="Deposition of J. Smith", time="10:00 a.m."),
              UpcomingEvent(date=dt.date(1999, 1, 20), title="Already past")]
    brief = status(events)
    assert [e.title for e in brief.upcoming] == ["Deposition of J. Smith"]
    text = render_letter(brief)
    assert "February 10, 1999 at 10:00 a.m.: Deposition of J. Smith" in text
    assert "to date, through January 31, 1999: 7.4 hours" in text and "February 3, 1999" in text
    assert letter_problems(text, brief) == []


def test_status_letter_without_events_says_so():
    assert "Nothing is scheduled" in render_letter(status())


def test_flat_fee_status_letter_speaks_of_hours_not_fees():
    firm = firm_with_contact()
    entries = [entry("F1", 5, "22547", "1.0", matter="1326", task="C200", activity="A104")]
    brief = status_brief(firm, "1326", entries, JAN, dt.date(1999, 2, 3))
    text = render_letter(brief)
    assert "flat-fee basis" in text and "$" not in text.split("## Time and fees")[1].split("## Looking ahead")[0]
    assert letter_problems(text, brief) == []


# --------------------------------------------------------------------------- grounding


@pytest.mark.parametrize("change,expected", [
    (("$1,514.95", "$1,514.96"), "the amount $1,514.96"),
    (("$1,514.95", "$1,600.00"), "the amount $1,600.00"),
    (("3.7 hours", "4.7 hours"), "the number 4.7"),
    (("February 25, 1999", "February 26, 1999"), "the date 'February 26, 1999'"),
    (("invoice INV-1,", "invoice INV-2,"), "'INV-2'"),
    (("Dear Dana Lee", "Dear Harold Stone"), "the name 'Harold Stone'"),
])
def test_a_letter_with_a_wrong_fact_is_refused(change, expected):
    brief, _ = cover()
    text = render_letter(brief)
    assert change[0] in text
    problems = letter_problems(text.replace(change[0], change[1]), brief)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("addition,expected", [
    ("We will attend the hearing on March 3, 1999.", "the date 'March 3, 1999'"),
    ("The deposition is set for 2:30 p.m. next week.", "the time '2:30 p.m.'"),
    ("Judge Roberts granted our motion.", "the name 'Judge Roberts'"),
    ("We also reviewed 47 exhibits.", "the number 47"),
    ("A hearing is calendared for 3/15/1999.", "the date '3/15/1999'"),
    ("See docket no. 12-cv-3456.", "'12-cv-3456'"),
])
def test_an_invented_fact_is_refused(addition, expected):
    brief = status([UpcomingEvent(date=dt.date(1999, 2, 10), title="Deposition of J. Smith", time="10:00 a.m.")])
    text = render_letter(brief) + "\n" + addition + "\n"
    problems = letter_problems(text, brief)
    assert any(expected in p for p in problems), problems


def test_restating_facts_in_other_words_is_fine():
    brief, _ = cover()
    text = ("Dear Dana Lee:\n\nWe enclose invoice INV-1 of Feb. 25, 1999 for January 1999, totalling $1514.95 "
            "for 4.4 hours of work (fees $1,490 and expenses of $24.95) on One v. Two. Robert Arnsley and "
            "José Núñez worked on discovery (L300).\n\n1. Discovery\n2. Case assessment\n")
    assert letter_problems(text, brief) == []


class ScriptedEngine:
    """An engine double: answers write_letter from a queue and records what it was asked."""

    name = "scripted"

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.asked: list[tuple[str, LetterBrief, str]] = []

    def write_letter(self, kind, brief, offline_text):
        self.asked.append((kind, brief, offline_text))
        answer = self.answers.pop(0)
        return answer(offline_text) if callable(answer) else answer


def test_engine_letter_that_keeps_to_the_facts_is_used():
    brief, _ = cover()
    engine = ScriptedEngine(lambda offline: offline.replace("Please find enclosed", "Enclosed please find"))
    text = write_letter(brief, engine=engine)
    assert "Enclosed please find our invoice INV-1" in text
    kind, asked_brief, offline = engine.asked[0]
    assert kind == "cover" and asked_brief is brief and "Please find enclosed" in offline


def test_engine_letter_with_a_wrong_total_is_refused():
    brief, _ = cover()
    engine = ScriptedEngine(lambda offline: offline.replace("$1,514.95", "$1,514.59"))
    with pytest.raises(RefusedError) as e:
        write_letter(brief, engine=engine)
    assert any("$1,514.59" in r for r in e.value.reasons)


def test_engine_letter_with_an_invented_event_is_refused():
    brief = status()
    engine = ScriptedEngine(lambda offline: offline.replace(
        "Nothing is scheduled on our calendar for this matter at present.",
        "- February 12, 1999: Mediation with Judge Alvarez"))
    with pytest.raises(RefusedError) as e:
        write_letter(brief, engine=engine)
    assert any("February 12, 1999" in r for r in e.value.reasons)
    assert any("Alvarez" in r for r in e.value.reasons)


def test_an_edited_template_that_invents_a_fact_is_refused():
    brief, _ = cover()
    with pytest.raises(RefusedError):
        write_letter(brief, template="$letterhead\n\nWe offer a 15% discount until March 1, 1999.\n")


def test_llm_path_against_the_test_server(tmp_path):
    engines = pytest.importorskip("assistant.engines")
    if not hasattr(engines, "get_engine"):
        pytest.skip("assistant.engines.get_engine not there yet")
    from assistant.settings import load_settings
    from llm_server import LLMServer

    brief, _ = cover()
    offline = render_letter(brief)
    with LLMServer() as srv:
        settings = load_settings({"TENTHS_ENGINE": "openai", "OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "k",
                                  "TENTHS_CACHE": str(tmp_path / "cache"), "TENTHS_DB": f"sqlite:///{tmp_path}/t.db"})
        engine = engines.get_engine(settings)
        try:
            srv.enqueue({"markdown": offline.replace("Please find enclosed", "Enclosed please find")})
            assert "Enclosed please find" in write_letter(brief, engine=engine)
        finally:
            engine.close()
        # A fresh cache, so the same brief is asked again and the server's wrong total comes back.
        engine = engines.get_engine(settings.model_copy(update={"cache_dir": tmp_path / "cache2"}))
        try:
            srv.enqueue({"markdown": offline.replace("$1,514.95", "$1,541.95")})
            # Refused here, or already replaced by the offline letter inside the engine: never sent out.
            try:
                text = write_letter(brief, engine=engine)
            except RefusedError as e:
                assert any("$1,541.95" in r for r in e.reasons)
            else:
                assert "$1,541.95" not in text and text == offline
        finally:
            engine.close()


# --------------------------------------------------------------------------- .docx and the command


def test_docx_has_the_letterhead_and_the_letter():
    brief, _ = cover()
    doc = letter_docx(render_letter(brief), brief)
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "Arnsley & Beaster LLP" and texts[1] == "1 Main Street, Suite 400"
    body = "\n".join(texts)
    assert "$1,514.95" in body and "Dear Dana Lee:" in body and "**" not in body
    assert body.count("Arnsley & Beaster LLP") == 2  # letterhead and signature, not the Markdown letterhead
    bullets = [p for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert any(p.text.startswith("Discovery (L300)") for p in bullets)


def letter_firm(root: Path) -> Path:
    write_firm(root)
    (root / "entries.csv").rename(root / "time_entries.csv")
    with (root / "firm.toml").open("a") as f:
        f.write('address = ["1 Main Street", "Springfield, IL 62701"]\n')
    (root / "contacts.csv").write_text("client_id,name,email,phone,matter_id\nC1,Dana Lee,dlee@one.example,217-555-0100,0528\n")
    text = (root / "matters.csv").read_text().replace("litigation,423-987", "litigation,423-987,22547")
    (root / "matters.csv").write_text(text.replace("client_matter_id\n", "client_matter_id,lead_timekeeper_id\n"))
    return root


def test_cli_cover_letter_as_markdown_and_docx(tmp_path, monkeypatch):
    monkeypatch.setenv("TENTHS_ENGINE", "offline")
    firm = letter_firm(tmp_path / "firm")
    base = ["letter", "cover", str(firm), "--matter", "0528", "--invoice-number", "2026-0042",
            "--invoice-date", "2026-11-03", "--from", "2026-10-01", "--to", "2026-10-31"]
    assert main(base + ["--out", str(tmp_path / "cover.md")]) == 0
    text = (tmp_path / "cover.md").read_text()
    # 700 + 40 fees (T3 is another matter's, T4 is November) + 24.95 + 3.30 expenses from expenses.csv
    assert "**$768.25**" in text and "2026-0042" in text and "November 3, 2026" in text
    assert "Dear Dana Lee:" in text and "Robert Arnsley" in text
    assert main(base + ["--out", str(tmp_path / "cover.docx")]) == 0
    assert (tmp_path / "cover.docx").read_bytes()[:2] == b"PK"


def test_cli_status_letter(tmp_path, monkeypatch):
    monkeypatch.setenv("TENTHS_ENGINE", "offline")
    firm = letter_firm(tmp_path / "firm")
    out = tmp_path / "status.md"
    assert main(["letter", "status", str(firm), "--matter", "0528", "--from", "2026-10-01", "--to", "2026-10-31",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "Status report, October 1, 2026 through October 31, 2026" in text and "2.2 hours" in text


def test_cli_cover_letter_needs_an_invoice_number(tmp_path):
    firm = letter_firm(tmp_path / "firm")
    assert main(["letter", "cover", str(firm), "--matter", "0528", "--out", str(tmp_path / "c.md")]) == 2


def test_upcoming_events_come_from_the_matters_calendar(tmp_path):
    root = letter_firm(tmp_path / "firm")
    (root / "matters.csv").write_text((root / "matters.csv").read_text().replace(
        "lead_timekeeper_id\n", "lead_timekeeper_id,references\n").replace("423-987,22547", "423-987,22547,One v. Two"))
    (root / "calendar").mkdir()
    (root / "calendar" / "22547.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:dep-1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261203T150000Z\r\n"
        "DTEND:20261203T170000Z\r\nSUMMARY:Deposition of J. Smith (One v. Two)\r\n"
        "ORGANIZER:mailto:rarnsley@ab.example\r\nATTENDEE:mailto:opp@other.example\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:lunch-1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261204T170000Z\r\n"
        "DTEND:20261204T180000Z\r\nSUMMARY:Lunch\r\nORGANIZER:mailto:rarnsley@ab.example\r\n"
        "ATTENDEE:mailto:friend@else.example\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n")
    firm = load_firm(root)
    events = upcoming_events(root, firm, "0528", dt.date(2026, 11, 24))
    assert [(e.date, e.time, e.title) for e in events] == [
        (dt.date(2026, 12, 3), "10:00 a.m.", "Deposition of J. Smith (One v. Two)")]
    assert upcoming_events(root, firm, "0528", dt.date(2026, 12, 5)) == []


def test_facts_quoted_from_narratives_are_grounded():
    firm = firm_with_contact()
    entries = [
        entry("N1", 5, "22547", "1.3", "Prepare for hearing on November 12 before Judge Alvarez; call with "
              "Mary-Kate O'Neil re: $5,000 settlement offer and 2026-CV-0042 docket (10/5 order)",
              task="L230", activity="A101"),
        entry("N2", 6, "45875", "0.4", "Review 3 exhibits from J. Smith dated March 3, 2025", task="L320",
              activity="A104"),
    ]
    brief = status_brief(firm, "0528", entries, JAN, dt.date(1999, 2, 3),
                         [UpcomingEvent(date=dt.date(1999, 2, 9), title="Hearing on motion, Courtroom 4B")])
    text = render_letter(brief)
    assert "Judge Alvarez" in text and "March 3, 2025" in text and "Courtroom 4B" in text
    assert letter_problems(text, brief) == []


def test_letters_never_go_to_opposing_counsel():
    firm = spec_firm()
    firm.clients[0].domains = ["one.example"]
    firm.contacts = [
        Contact(client_id="C1", name="Jonathan Pryce", email="jpryce@opposing.example", matter_id="0528"),
        Contact(client_id="C1", name="Dana Lee", email="dlee@one.example", matter_id="0528"),
        Contact(client_id="C1", name="Pat Payables", email="ap@one.example"),
    ]
    inv = invoice(ENTRIES)
    assert cover_brief(firm, "0528", inv, ENTRIES).recipient_name == "Pat Payables"  # the billing contact
    assert status(firm=firm).recipient_name == "Dana Lee"  # the client's own contact on the matter
    firm.contacts = firm.contacts[:1]
    assert cover_brief(firm, "0528", inv, ENTRIES).recipient_name == "Accounts Payable"
    assert cover_brief(firm, "0528", inv, ENTRIES).recipient_email == "ap@one.example"
