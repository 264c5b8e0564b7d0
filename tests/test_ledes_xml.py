"""LEDES XML 2.1 export: a hand-written expected document, totals equal to the 1998B file's, escaping,
flat fees and discounts, the structural checker on broken documents, and `tenths ledes --format XML2.1`.

EXPECTED below is written by hand from the segment layout documented in assistant/ledes_xml.py (firm >
client > invoice > matter > tksum/fee/expense, file_item_nbr last in each item), not from the writer.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from assistant.cli import main
from assistant.ledes import build_invoice, read_ledes_1998b, to_ledes_1998b
from assistant.ledes_xml import NAMESPACE, to_ledes_xml_21, xml_problems
from assistant.models import Client, Expense, Firm, FirmData, Flag, Matter, Period, TimeEntry, Timekeeper

ROOT = Path(__file__).resolve().parents[1]
OCT = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
NS = {"l": NAMESPACE}


def small_firm(name: str = "Arnsley & Beaster LLP") -> FirmData:
    return FirmData(
        root="/nonexistent",
        firm=Firm(name=name, law_firm_id="24-6437381", address=["1 Main Street", "Springfield, IL 62701"]),
        timekeepers=[
            Timekeeper(timekeeper_id="22547", name="Robert Arnsley", classification="PARTNR", rate=Decimal("350"),
                       email="rarnsley@ab.example"),
            Timekeeper(timekeeper_id="45875", name="John Beaster", classification="AS", rate=Decimal("200"),
                       email="jbeaster@ab.example"),
        ],
        clients=[Client(client_id="C1", name="Client One", ledes_client_id="00711", billing_email="ap@one.example")],
        matters=[
            Matter(matter_id="0528", client_id="C1", name="One v. Two", status="open", billing_type="hourly",
                   code_set="litigation", client_matter_id="423-987", rates={"45875": Decimal("225")}),
            Matter(matter_id="1326", client_id="C1", name="Monthly retainer", status="open", billing_type="flat",
                   code_set="counseling", client_matter_id="425-936", flat_fee=Decimal("1250")),
        ],
        contacts=[],
    )


def entry(eid, day, tk, hours, narrative="Draft motion to compel production of documents", *, matter="0528",
          task="L350", activity="A103", rate=None) -> TimeEntry:
    return TimeEntry(entry_id=eid, date=dt.date(2026, 10, day), timekeeper_id=tk, matter_id=matter,
                     hours=Decimal(hours), narrative=narrative, task_code=task, activity_code=activity,
                     rate=Decimal(rate) if rate else None)


def copies(xid="X1", day=8, *, matter="0528") -> Expense:
    return Expense(expense_id=xid, date=dt.date(2026, 10, day), timekeeper_id="22547", matter_id=matter,
                   amount=Decimal("3.30"), description="Copies of exhibits", expense_code="E101",
                   units=Decimal("33"), unit_cost=Decimal("0.10"))


def small_invoice(firm: FirmData | None = None, **kw):
    firm = firm or small_firm()
    entries = [entry("T1", 5, "22547", "2.0"),
               entry("T2", 6, "45875", "0.2", "Telephone conference with opposing counsel re: deposition dates",
                     task="L330", activity="A106")]
    return build_invoice(entries, [copies()], firm, "0528", "2026-0042", dt.date(2026, 11, 3), OCT, **kw)


EXPECTED = """<?xml version="1.0" encoding="UTF-8"?>
<ledesxmlebilling2.1 xmlns="http://www.ledes.org/LEDES21.xsd">
<firm>
  <lf_vendor_id>24-6437381</lf_vendor_id>
  <lf_id>24-6437381</lf_id>
  <lf_name>Arnsley &amp; Beaster LLP</lf_name>
  <lf_address><address_1>1 Main Street</address_1><address_2>Springfield, IL 62701</address_2></lf_address>
  <source_app>Tenths</source_app>
  <app_version>0.1.0</app_version>
  <file_item_nbr>1</file_item_nbr>
  <client>
    <cl_id>00711</cl_id>
    <cl_lf_id>C1</cl_lf_id>
    <cl_name>Client One</cl_name>
    <file_item_nbr>2</file_item_nbr>
    <invoice>
      <inv_id>2026-0042</inv_id>
      <inv_date>2026-11-03</inv_date>
      <inv_currency>USD</inv_currency>
      <inv_start_date>2026-10-01</inv_start_date>
      <inv_end_date>2026-10-31</inv_end_date>
      <inv_desc>Legal services: One v. Two</inv_desc>
      <inv_total_net_due>748.30</inv_total_net_due>
      <file_item_nbr>3</file_item_nbr>
      <matter>
        <cl_matter_id>423-987</cl_matter_id>
        <lf_matter_id>0528</lf_matter_id>
        <matter_name>One v. Two</matter_name>
        <matter_final_bill>N</matter_final_bill>
        <matter_total_detail_fees>745.00</matter_total_detail_fees>
        <matter_total_detail_exp>3.30</matter_total_detail_exp>
        <matter_disc_credit_fees>0.00</matter_disc_credit_fees>
        <matter_disc_credit_exp>0.00</matter_disc_credit_exp>
        <matter_net_fees>745.00</matter_net_fees>
        <matter_net_exp>3.30</matter_net_exp>
        <matter_total_due>748.30</matter_total_due>
        <file_item_nbr>4</file_item_nbr>
        <tksum>
          <tk_id>22547</tk_id><tk_lname>Arnsley</tk_lname><tk_fname>Robert</tk_fname>
          <tk_level>PT</tk_level><tk_rate>350.00</tk_rate><file_item_nbr>5</file_item_nbr>
        </tksum>
        <tksum>
          <tk_id>45875</tk_id><tk_lname>Beaster</tk_lname><tk_fname>John</tk_fname>
          <tk_level>AS</tk_level><tk_rate>225.00</tk_rate><file_item_nbr>6</file_item_nbr>
        </tksum>
        <fee>
          <charge_date>2026-10-05</charge_date>
          <tk_id>22547</tk_id>
          <tk_level>PT</tk_level>
          <charge_desc>Draft motion to compel production of documents</charge_desc>
          <task_code>L350</task_code>
          <task_activity>A103</task_activity>
          <units>2.00</units>
          <rate>350.00</rate>
          <base_amount>700.00</base_amount>
          <total_amount>700.00</total_amount>
          <file_item_nbr>7</file_item_nbr>
        </fee>
        <fee>
          <charge_date>2026-10-06</charge_date>
          <tk_id>45875</tk_id>
          <tk_level>AS</tk_level>
          <charge_desc>Telephone conference with opposing counsel re: deposition dates</charge_desc>
          <task_code>L330</task_code>
          <task_activity>A106</task_activity>
          <units>0.20</units>
          <rate>225.00</rate>
          <base_amount>45.00</base_amount>
          <total_amount>45.00</total_amount>
          <file_item_nbr>8</file_item_nbr>
        </fee>
        <expense>
          <charge_date>2026-10-08</charge_date>
          <charge_desc>Copies of exhibits</charge_desc>
          <expense_code>E101</expense_code>
          <units>33.00</units>
          <rate>0.10</rate>
          <base_amount>3.30</base_amount>
          <total_amount>3.30</total_amount>
          <file_item_nbr>9</file_item_nbr>
        </expense>
      </matter>
    </invoice>
  </client>
</firm>
</ledesxmlebilling2.1>
"""


def canonical(text: str) -> str:
    return ET.canonicalize(xml_data=text, strip_text=True)


def net_due(text: str) -> Decimal:
    return Decimal(ET.fromstring(text.encode("utf-8")).find(".//l:inv_total_net_due", NS).text)


# --------------------------------------------------------------------------- writer


def test_the_hand_written_document_is_what_the_writer_produces():
    firm = small_firm()
    text = to_ledes_xml_21(small_invoice(firm), firm)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert canonical(text) == canonical(EXPECTED)


def test_the_hand_written_document_passes_the_checker_with_and_without_the_firm():
    assert xml_problems(EXPECTED) == []
    assert xml_problems(EXPECTED, small_firm()) == []


@pytest.mark.parametrize("hours, rate", [("0.1", "333.33"), ("0.3", "412.50"), ("1.7", "199.99"),
                                         ("0.125", "333.3333")])
def test_net_due_equals_the_1998b_invoice_total(hours, rate):
    firm = small_firm()
    entries = [entry("T1", 5, "22547", hours, rate=rate), entry("T2", 6, "45875", "0.1", rate=rate),
               entry("T3", 7, "45875", "0.7")]
    inv = build_invoice(entries, [copies()], firm, "0528", "7", dt.date(2026, 11, 3), OCT,
                        discount=Decimal("10.01"))
    xml = to_ledes_xml_21(inv, firm)
    assert xml_problems(xml, firm) == []
    assert net_due(xml) == read_ledes_1998b(to_ledes_1998b(inv)).total == inv.total


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 80), st.integers(1, 99999)), min_size=1, max_size=6),
       st.integers(0, 500))
def test_any_hours_and_rates_give_the_same_total_in_both_formats(items, discount_cents):
    firm = small_firm()
    entries = [entry(f"T{i}", 1 + i % 28, "22547" if i % 2 else "45875", str(Decimal(tenths) / 10),
                     rate=str(Decimal(cents) / 100)) for i, (tenths, cents) in enumerate(items)]
    fees = sum((e.hours * e.rate).quantize(Decimal("0.01")) for e in entries)
    discount = min(Decimal(discount_cents) / 100, fees) or None
    inv = build_invoice(entries, [copies()], firm, "0528", "9", dt.date(2026, 11, 3), OCT, discount=discount)
    xml = to_ledes_xml_21(inv, firm)
    assert xml_problems(xml, firm) == []
    assert net_due(xml) == read_ledes_1998b(to_ledes_1998b(inv)).total


def test_hostile_text_is_escaped_and_reads_back():
    hostile = "Smith <Partners> & Sons ]]> LLP \x01"
    firm = small_firm(name=hostile)
    inv = small_invoice(firm)
    inv.lines[0].description = "Review <b>draft</b> & ]]> notes; \"quoted\" 'text'"
    text = to_ledes_xml_21(inv, firm)
    assert "<b>" not in text and "]]>" not in text and "\x01" not in text
    root = ET.fromstring(text.encode("utf-8"))
    assert root.find("l:firm/l:lf_name", NS).text == "Smith <Partners> & Sons ]]> LLP"
    assert root.find(".//l:fee/l:charge_desc", NS).text == "Review <b>draft</b> & ]]> notes; \"quoted\" 'text'"
    assert xml_problems(text, firm) == []


def test_unicode_is_written_as_utf8():
    firm = small_firm(name="Núñez & Zoë Avocats")
    text = to_ledes_xml_21(small_invoice(firm), firm)
    assert "Núñez & Zoë".replace("&", "&amp;") in text
    assert xml_problems(text.encode("utf-8"), firm) == []


def test_a_flat_fee_is_one_fee_item_without_a_timekeeper():
    firm = small_firm()
    inv = build_invoice([], [copies(matter="1326")], firm, "1326", "8", dt.date(2026, 11, 3), OCT)
    text = to_ledes_xml_21(inv, firm)
    root = ET.fromstring(text.encode("utf-8"))
    fee = root.find(".//l:fee", NS)
    assert fee.find("l:tk_id", NS) is None and root.find(".//l:tksum", NS) is None
    assert [fee.find(f"l:{n}", NS).text for n in ("charge_date", "units", "rate", "base_amount", "total_amount")] == [
        "2026-10-31", "1.00", "1250.00", "1250.00", "1250.00"]
    assert net_due(text) == Decimal("1253.30") == read_ledes_1998b(to_ledes_1998b(inv)).total
    assert xml_problems(text, firm) == []


def test_a_discount_is_a_matter_adjustment_that_lowers_the_net_fees():
    firm = small_firm()
    inv = small_invoice(firm, discount=Decimal("45.00"))
    text = to_ledes_xml_21(inv, firm)
    m = ET.fromstring(text.encode("utf-8")).find(".//l:matter", NS)
    d = m.find("l:matter_disc_cred", NS)
    assert [c.tag.split("}")[1] for c in d] == ["disc_cred", "disc_cred_category", "increase_decrease",
                                                 "disc_cred_amount", "file_item_nbr"]
    assert d.find("l:disc_cred_amount", NS).text == "-45.00" and d.find("l:increase_decrease", NS).text == "Decrease"
    assert m.find("l:matter_disc_credit_fees", NS).text == "-45.00"
    assert m.find("l:matter_net_fees", NS).text == "700.00"
    assert net_due(text) == Decimal("703.30") == read_ledes_1998b(to_ledes_1998b(inv)).total
    assert len(m.findall("l:fee", NS)) == 2  # the discount is not a fee item
    assert xml_problems(text, firm) == []


# --------------------------------------------------------------------------- checker


def broken(old: str, new: str, count: int = 1) -> str:
    assert old in EXPECTED
    return EXPECTED.replace(old, new, count)


@pytest.mark.parametrize("text, expected", [
    (broken("<inv_total_net_due>748.30", "<inv_total_net_due>748.31"),
     "inv_total_net_due 748.31 is not the sum of its matters' matter_total_due (748.30)"),
    (broken("<matter_total_due>748.30", "<matter_total_due>748.20"), "matter_total_due is not matter_net_fees"),
    (broken("<total_amount>45.00", "<total_amount>45.01"), "total_amount 45.01 is not base_amount 45.00"),
    (broken("<base_amount>45.00", "<base_amount>45.10"), "base_amount 45.10 is not units x rate"),
    (broken("<tk_id>45875</tk_id><tk_lname>Beaster", "<tk_id>45876</tk_id><tk_lname>Beaster"),
     "tk_id '45875' has no tksum in matter 0528"),
    (broken("<charge_date>2026-10-06", "<charge_date>2026-02-30"), "<charge_date> '2026-02-30' is not a real date"),
    (broken("<inv_date>2026-11-03", "<inv_date>20261103"), "<inv_date> '20261103' is not a real date in YYYY-MM-DD"),
    (broken("<charge_date>2026-10-06", "<charge_date>2026-11-06"),
     "charge_date 2026-11-06 is outside the invoice period"),
    (broken("<units>0.20", "<units>-0.20"), "units is negative"),
    (broken("<rate>225.00</rate>", "<rate>2 25.00</rate>"), "<rate> '2 25.00' is not a number"),
    (broken("<inv_id>2026-0042</inv_id>", ""), "<inv_id> is missing"),
    (broken("<file_item_nbr>8<", "<file_item_nbr>7<"), "file_item_nbr 7 repeats"),
    (broken("<task_code>L330</task_code>", ""), "task_activity A106 without a task_code"),
    (broken("<cl_id>00711</cl_id>\n    <cl_lf_id>C1</cl_lf_id>", "<cl_lf_id>C1</cl_lf_id>\n    <cl_id>00711</cl_id>"),
     "<cl_id> is out of order in client"),
    (broken("<matter_final_bill>N", "<matter_final_bill>No"), "matter_final_bill is 'No'"),
    (broken("<lf_id>24-6437381</lf_id>", "<lf_id>24-6437381</lf_id><acca_task>L100</acca_task>"),
     "<acca_task> is not a field of firm"),
    (broken("<ledesxmlebilling2.1 xmlns=\"http://www.ledes.org/LEDES21.xsd\">", "<ledesxml>").replace(
        "</ledesxmlebilling2.1>", "</ledesxml>"), "the root element is <ledesxml>"),
    (broken("</matter>", ""), "not well-formed XML"),
    (broken('encoding="UTF-8"', 'encoding="ISO-8859-1"'), 'does not say encoding="UTF-8"'),
    (EXPECTED.split("\n", 1)[1], "does not start with an XML declaration"),
    (broken('xmlns="http://www.ledes.org/LEDES21.xsd"', 'xmlns="http://www.ledes.org/LEDES20.xsd"'),
     "namespace is 'http://www.ledes.org/LEDES20.xsd'"),
])
def test_the_checker_catches_broken_documents(text, expected):
    problems = xml_problems(text)
    assert any(expected in p for p in problems), problems


def test_the_checker_catches_a_missing_tksum():
    start = EXPECTED.index("<tksum>", EXPECTED.index("<tksum>") + 1)
    end = EXPECTED.index("</tksum>", start) + len("</tksum>")
    problems = xml_problems(EXPECTED[:start] + EXPECTED[end:])
    assert problems == ["invoice 2026-0042, matter 0528, fee item 8: tk_id '45875' has no tksum in matter 0528"]


def test_the_checker_knows_the_firm_and_the_code_set():
    firm = small_firm()
    text = broken("<task_code>L330</task_code>", "<task_code>P400</task_code>")
    text = text.replace("<cl_matter_id>423-987", "<cl_matter_id>423-988").replace(
        "<lf_vendor_id>24-6437381", "<lf_vendor_id>99-0000000")
    problems = xml_problems(text, firm)
    assert any("task_code P400 is not a task code of the litigation code set" in p for p in problems), problems
    assert any("cl_matter_id '423-988' is not matter 0528's '423-987'" in p for p in problems)
    assert any("lf_vendor_id '99-0000000' is not the firm's" in p for p in problems)
    assert xml_problems(text) == []  # ids and code sets need the firm folder


# --------------------------------------------------------------------------- tenths ledes --format XML2.1


def tiny_args(firm: Path, out: Path, *extra: str) -> list[str]:
    return ["ledes", str(firm), "--entries", str(firm / "time_entries.csv"), "--expenses", str(firm / "expenses.csv"),
            "--matter", "M-100", "--invoice-number", "T-1", "--invoice-date", "2026-11-02",
            "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(out), *extra]


def test_cli_writes_xml_with_the_1998b_total(tiny_firm, tmp_path, flags):
    xml_out, txt_out = tmp_path / "out" / "inv.xml", tmp_path / "out" / "inv.txt"
    assert main(tiny_args(tiny_firm, xml_out, "--format", "XML2.1")) == 0
    assert main(tiny_args(tiny_firm, txt_out)) == 0  # the default stays 1998B
    text = xml_out.read_bytes().decode("utf-8")
    assert xml_problems(text) == []
    assert net_due(text) == read_ledes_1998b(txt_out.read_text()).total == Decimal("960.00")  # 0.8 h x 450 + 2 h x 300
    assert len(ET.fromstring(xml_out.read_bytes()).findall(".//l:fee", NS)) == 3
    assert not list(xml_out.parent.glob(".*tmp"))


def test_cli_refuses_xml_for_an_error_flag_and_writes_nothing(tiny_firm, tmp_path, flags, capsys):
    out = tmp_path / "inv.xml"
    out.write_text("previous invoice")
    flags["E3"] = [Flag(rule="vague_narrative", severity="error", message="too vague")]
    assert main(tiny_args(tiny_firm, out, "--format", "XML2.1")) == 1
    assert "entry E3: vague_narrative" in capsys.readouterr().err
    assert out.read_text() == "previous invoice"


def test_cli_refuses_xml_that_breaks_a_1998b_rule(tiny_firm, tmp_path, flags, capsys):
    matters = tiny_firm / "matters.csv"
    matters.write_text(matters.read_text().replace(",AC-1,", ",,"))  # no client_matter_id
    out = tmp_path / "inv.xml"
    assert main(tiny_args(tiny_firm, out, "--format", "XML2.1")) == 1
    assert "CLIENT_MATTER_ID is empty" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_an_unknown_format(tiny_firm, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(tiny_args(tiny_firm, tmp_path / "x", "--format", "XML2.0"))
    assert e.value.code == 2


def demo_args(out: Path, to: str, *extra: str) -> list[str]:
    demo = ROOT / "demo_firm"
    return ["ledes", str(demo), "--entries", str(demo / "time_entries.csv"), "--expenses", str(demo / "expenses.csv"),
            "--matter", "1006.002", "--invoice-number", "2026-1006", "--invoice-date", "2026-11-03",
            "--from", "2026-10-01", "--to", to, "--out", str(out), *extra]


def test_demo_matter_exports_in_both_formats_with_the_same_total(tmp_path):
    from assistant.folder import load_firm

    xml_out, txt_out = tmp_path / "inv.xml", tmp_path / "inv.txt"
    assert main(demo_args(xml_out, "2026-10-15", "--format", "XML2.1")) == 0
    assert main(demo_args(txt_out, "2026-10-15")) == 0
    text = xml_out.read_text(encoding="utf-8")
    assert xml_problems(text, load_firm(ROOT / "demo_firm")) == []
    invoice = read_ledes_1998b(txt_out.read_text())
    assert net_due(text) == invoice.total == Decimal("8339.20")
    root = ET.fromstring(text.encode("utf-8"))
    assert len(root.findall(".//l:fee", NS)) + len(root.findall(".//l:expense", NS)) == len(invoice.lines) == 29


def test_demo_matter_full_month_is_refused_in_xml_too(tmp_path, capsys):
    out = tmp_path / "inv.xml"
    assert main(demo_args(out, "2026-10-31", "--format", "XML2.1")) == 1  # a planted duplicate on 2026-10-16
    assert "duplicate" in capsys.readouterr().err
    assert not out.exists()
