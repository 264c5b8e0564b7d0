"""LEDES 1998B against the specification: its own example file, hand-written bad files, arithmetic edge cases.

The fixtures in tests/fixtures/ledes/ are written by hand from the example in the LEDES 1998B
specification (invoice 96542 and the 96543 retainer); each bad_*.txt breaks one rule that e-billing
platforms reject on. None of them is produced by our writer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from assistant.cli import main
from assistant.codes import load_codesets
from assistant.errors import IngestError, RefusedError
from assistant.ledes import (
    FIELDS, Invoice, build_invoice, clean_text, ledes_problems, read_ledes_1998b,
    read_ledes_1998b_all, to_ledes_1998b,
)
from assistant.models import (
    Client, Expense, Firm, FirmData, Flag, Matter, Period, TimeEntry, Timekeeper,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ledes"
JAN = Period(start=dt.date(1999, 1, 1), end=dt.date(1999, 1, 31))
OCT = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))


def spec_firm() -> FirmData:
    """The firm, client, matters and timekeepers of the specification's example."""
    return FirmData(
        root="/nonexistent",
        firm=Firm(name="Arnsley & Beaster LLP", law_firm_id="24-6437381", address=["1 Main Street", "Springfield"]),
        timekeepers=[
            Timekeeper(timekeeper_id="22547", name="Robert Arnsley", classification="PT", rate=Decimal("350"),
                       email="rarnsley@ab.example"),
            Timekeeper(timekeeper_id="45875", name="John Beaster", classification="AS", rate=Decimal("200"),
                       email="jbeaster@ab.example"),
            Timekeeper(timekeeper_id="77001", name="José Núñez", classification="PL", rate=Decimal("333.33"),
                       email="jnunez@ab.example"),
            Timekeeper(timekeeper_id="77002", name="Zoë O\u2019Brien-Smith", classification="OC",
                       rate=Decimal("410"), email="zobrien@ab.example"),
            Timekeeper(timekeeper_id="77003", name="王 小明", classification="AS", rate=Decimal("300"),
                       email="wang@ab.example"),
        ],
        clients=[Client(client_id="C1", name="Client One", ledes_client_id="00711", billing_email="ap@one.example")],
        matters=[
            Matter(matter_id="0528", client_id="C1", name="One v. Two", status="open", billing_type="hourly",
                   code_set="litigation", client_matter_id="423-987", rates={"45875": Decimal("225")}),
            Matter(matter_id="1326", client_id="C1", name="Monthly retainer", status="open", billing_type="flat",
                   code_set="counseling", client_matter_id="425-936", flat_fee=Decimal("1250")),
            Matter(matter_id="0999", client_id="C1", name="Other matter", status="open", billing_type="hourly",
                   code_set="litigation", client_matter_id="423-999"),
        ],
        contacts=[],
    )


def entry(eid, day, tk, hours, narrative="Draft motion to compel production of documents", *, matter="0528",
          task="L350", activity="A103", rate=None, month=1, year=1999) -> TimeEntry:
    return TimeEntry(entry_id=eid, date=dt.date(year, month, day), timekeeper_id=tk, matter_id=matter,
                     hours=Decimal(hours), narrative=narrative, task_code=task, activity_code=activity,
                     rate=Decimal(rate) if rate else None)


def expense(xid, day, amount, *, code="E101", units=None, unit_cost=None, matter="0528") -> Expense:
    return Expense(expense_id=xid, date=dt.date(1999, 1, day), timekeeper_id="22547", matter_id=matter,
                   amount=Decimal(amount), description="Copying of deposition exhibits", expense_code=code,
                   units=Decimal(units) if units else None, unit_cost=Decimal(unit_cost) if unit_cost else None)


def invoice(entries, expenses=(), matter="0528", *, discount=None, period=JAN) -> Invoice:
    return build_invoice(list(entries), list(expenses), spec_firm(), matter, "INV-1", dt.date(1999, 2, 25), period,
                         discount=discount)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="ascii")


# --------------------------------------------------------------------------- the specification's example


def test_spec_example_reads_as_two_invoices():
    first, second = read_ledes_1998b_all(fixture("spec_example.txt"))
    assert first.invoice_number == "96542" and second.invoice_number == "96543"
    assert first.total == Decimal("1684.45") == sum(li.total for li in first.lines)
    assert [li.type for li in first.lines] == ["F", "F", "F", "E", "E"]
    one = first.lines[0]
    assert (one.units, one.unit_cost, one.adjustment, one.total) == (2, 350, -70, 630)
    assert one.timekeeper_name == "Arnsley, Robert" and one.task_code == "L510" and one.activity_code == "A102"
    assert first.lines[3].expense_code == "E111" and first.lines[3].timekeeper_id == ""
    retainer = second.lines[0]
    assert (retainer.type, retainer.units, retainer.adjustment, retainer.total, retainer.unit_cost) == (
        "IF", 1, 1250, 1250, None)
    assert first.billing_start == dt.date(1999, 1, 1) and first.client_matter_id == "423-987"


def test_spec_example_passes_the_validator():
    assert ledes_problems(fixture("spec_example.txt")) == []
    assert ledes_problems(fixture("valid_96542.txt"), spec_firm()) == []


def test_single_invoice_reader_refuses_a_file_of_two():
    with pytest.raises(IngestError, match="2 invoices"):
        read_ledes_1998b(fixture("spec_example.txt"))
    assert read_ledes_1998b(fixture("valid_96542.txt")).invoice_number == "96542"


def test_spec_file_round_trips_through_our_writer():
    original = read_ledes_1998b(fixture("valid_96542.txt"))
    text = to_ledes_1998b(original)
    assert ledes_problems(text, spec_firm()) == []
    assert read_ledes_1998b(text) == original


@pytest.mark.parametrize("bad", ["", "hello", "LEDES1998B[]\n", "LEDES1998B[]\nINVOICE_DATE[]\n"])
def test_reader_raises_ingest_error_on_non_ledes(bad):
    with pytest.raises(IngestError):
        read_ledes_1998b(bad)


# --------------------------------------------------------------------------- what platforms reject

REJECTIONS = [
    ("bad_column_count.txt", "has 23 fields; LEDES 1998B has exactly 24"),
    ("bad_pipe_in_description.txt", "has 25 fields"),
    ("bad_invoice_description_differs.txt", "INVOICE_DESCRIPTION 'Services rendered' differs"),
    ("bad_invoice_date_differs.txt", "INVOICE_DATE '19990226' differs"),
    ("bad_client_id_differs.txt", "CLIENT_ID '00712' differs"),
    ("bad_negative_units.txt", "LINE_ITEM_NUMBER_OF_UNITS is negative"),
    ("bad_long_description.txt", "must be shorter than 1024"),
    ("bad_activity_without_task.txt", "LINE_ITEM_ACTIVITY_CODE A107 without a LINE_ITEM_TASK_CODE"),
    ("bad_fee_without_timekeeper.txt", "TIMEKEEPER_NAME is empty on a fee line"),
    ("bad_expense_without_code.txt", "an expense line without an E-code"),
    ("bad_null.txt", "is the string NULL"),
    ("bad_invoice_total_off_by_a_cent.txt", "INVOICE_TOTAL 1684.44 is not the sum of its LINE_ITEM_TOTALs (1684.45)"),
    ("bad_line_total.txt", "LINE_ITEM_TOTAL 631 is not units x unit cost + adjustment"),
    ("bad_duplicate_line_number.txt", "LINE_ITEM_NUMBER 4 repeats"),
    ("bad_date_format.txt", "LINE_ITEM_DATE '1999-01-16' is not a date in YYYYMMDD form"),
    ("bad_line_break_in_description.txt", "does not end in []"),
    ("bad_missing_terminator.txt", "line 7: does not end in []"),
    ("bad_brackets.txt", "contains [ or ]"),
    ("bad_first_line.txt", "must be exactly LEDES1998B[]"),
    ("bad_header_order.txt", "field 22 is 'TIMEKEEPER_CLASSIFICATION'"),
    ("bad_timekeeper_name_order.txt", "TIMEKEEPER_NAME 'John Beaster' is not 'Last, First'"),
    ("bad_line_date_outside_period.txt", "outside the billing period"),
    ("bad_unknown_type.txt", "it must be F, E, IF or IE"),
    ("bad_client_matter_id_empty.txt", "invoice 96542 (line 3): CLIENT_MATTER_ID is empty; it is required"),
    ("bad_timekeeper_inconsistent.txt", "TIMEKEEPER_ID 22547 is 'Arnsley, Robert' (ASSOC) here"),
]


@pytest.mark.parametrize("name,expected", REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_each_rejection_reason_is_a_problem(name, expected):
    problems = ledes_problems(fixture(name))
    assert any(expected in p for p in problems), problems


def test_every_bad_fixture_is_covered():
    assert {p.name for p in FIXTURES.glob("bad_*.txt")} - {r[0] for r in REJECTIONS} == {
        "bad_code_not_in_matter_set.txt"}


def test_an_invoice_level_problem_is_reported_once_per_invoice():
    assert len(ledes_problems(fixture("bad_client_matter_id_empty.txt"))) == 1
    assert len(ledes_problems(fixture("bad_invoice_total_off_by_a_cent.txt"))) == 1


def test_code_from_another_set_needs_the_firm_to_be_seen():
    text = fixture("bad_code_not_in_matter_set.txt")
    assert ledes_problems(text) == []  # B110 is a well-formed UTBMS code ...
    problems = ledes_problems(text, spec_firm())  # ... but not a litigation one
    assert any("B110 is not a task code of the litigation code set" in p for p in problems), problems


def test_firm_ids_are_checked():
    text = fixture("valid_96542.txt").replace("|24-6437381|", "|99-0000000|").replace("|423-987[]", "|423-000[]")
    problems = ledes_problems(text, spec_firm())
    assert any("LAW_FIRM_ID '99-0000000'" in p for p in problems)
    assert any("CLIENT_MATTER_ID '423-000'" in p for p in problems)


def test_validator_accepts_an_injected_code_set():
    class NoCodes:
        def is_valid(self, code_set, code, kind):
            return False

    problems = ledes_problems(fixture("valid_96542.txt"), spec_firm(), codesets=NoCodes())
    assert any("L510 is not a task code" in p for p in problems)
    assert any("E111 is not a UTBMS expense code" in p for p in problems)


# --------------------------------------------------------------------------- the writer


def test_written_file_has_the_specified_shape():
    inv = invoice([entry("T1", 15, "22547", "2.0"), entry("T2", 16, "45875", "0.2")], [expense("X1", 17, "24.95")])
    text = to_ledes_1998b(inv)
    lines = text.split("\r\n")
    assert lines[0] == "LEDES1998B[]"
    assert lines[1] == "|".join(FIELDS) + "[]" and len(FIELDS) == 24
    assert lines[-1] == "" and all(line.endswith("[]") for line in lines[:-1])
    rows = [line[:-2].split("|") for line in lines[2:-1]]
    assert all(len(r) == 24 for r in rows)
    first = dict(zip(FIELDS, rows[0]))
    assert first["INVOICE_DATE"] == "19990225" and first["BILLING_START_DATE"] == "19990101"
    assert first["CLIENT_ID"] == "00711" and first["LAW_FIRM_ID"] == "24-6437381"
    assert first["LAW_FIRM_MATTER_ID"] == "0528" and first["CLIENT_MATTER_ID"] == "423-987"
    assert first["TIMEKEEPER_NAME"] == "Arnsley, Robert" and first["TIMEKEEPER_CLASSIFICATION"] == "PT"
    assert (first["LINE_ITEM_NUMBER_OF_UNITS"], first["LINE_ITEM_UNIT_COST"], first["LINE_ITEM_TOTAL"]) == (
        "2.00", "350.00", "700.00")
    second = dict(zip(FIELDS, rows[1]))
    # The matter's rate for John Beaster (225) wins over his own (200).
    assert (second["LINE_ITEM_UNIT_COST"], second["LINE_ITEM_TOTAL"]) == ("225.00", "45.00")
    third = dict(zip(FIELDS, rows[2]))
    assert third["EXP/FEE/INV_ADJ_TYPE"] == "E" and third["LINE_ITEM_EXPENSE_CODE"] == "E101"
    assert {r[4] for r in rows} == {"769.95"}
    assert ledes_problems(text, spec_firm()) == []


def test_round_trip_keeps_every_line_item():
    entries = [entry("T1", 4, "22547", "1.3"), entry("T2", 5, "77001", "0.1"), entry("T3", 5, "77002", "2.25")]
    inv = invoice(entries, [expense("X1", 6, "3.30", units="33", unit_cost="0.10")], discount=Decimal("100"))
    back = read_ledes_1998b(to_ledes_1998b(inv))
    assert back.model_dump() == inv.model_dump()  # source ids are not part of the file
    assert back == inv.model_copy(update={"lines": [li.model_copy(update={"source_id": ""}) for li in inv.lines]})


def test_only_the_matters_entries_in_the_period_are_billed():
    entries = [
        entry("IN", 10, "22547", "1.0"),
        entry("OTHER", 10, "22547", "1.0", matter="0999"),
        entry("LATE", 1, "22547", "1.0", month=2),
        entry("EARLY", 31, "22547", "1.0", month=12, year=1998),
        entry("EDGE", 31, "22547", "0.5"),
    ]
    inv = invoice(entries, [expense("X-OTHER", 3, "10", matter="0999")])
    assert [li.source_id for li in inv.lines] == ["IN", "EDGE"]


def test_entry_rate_wins_over_matter_and_timekeeper_rates():
    inv = invoice([entry("T1", 4, "45875", "1.0", rate="199.99"), entry("T2", 4, "45875", "1.0"),
                   entry("T3", 4, "22547", "1.0")])
    rates = {li.source_id: li.unit_cost for li in inv.lines}
    assert rates == {"T1": Decimal("199.99"), "T2": Decimal("225"), "T3": Decimal("350")}


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize("hours,rate,total", [
    ("0.1", "333.33", "33.33"),     # 33.333
    ("0.3", "333.33", "100.00"),    # 99.999
    ("0.5", "333.33", "166.67"),    # 166.665: half up, not half even (166.66)
    ("0.1", "0.05", "0.01"),        # 0.005
    ("1.7", "123.45", "209.87"),    # 209.865
    ("0.25", "333.3333", "83.33"),  # 83.333325, a four-decimal rate
    ("10.0", "1", "10.00"),
])
def test_line_totals_round_half_up_to_the_cent(hours, rate, total):
    inv = invoice([entry("T1", 4, "22547", hours, rate=rate)])
    assert inv.lines[0].total == Decimal(total) and inv.total == Decimal(total)
    assert ledes_problems(to_ledes_1998b(inv), spec_firm()) == []


def test_invoice_total_is_the_sum_of_rounded_lines():
    inv = invoice([entry(f"T{i}", 4 + i, "77001", "0.1") for i in range(3)])  # 3 x round(33.333)
    assert inv.total == Decimal("99.99")  # not round(0.3 x 333.33) = 100.00
    text = to_ledes_1998b(inv)
    assert "|99.99|" in text and ledes_problems(text, spec_firm()) == []


def test_discount_is_an_if_line_with_a_negative_adjustment():
    inv = invoice([entry("T1", 4, "22547", "2.0")], [expense("X1", 5, "24.95")], discount=Decimal("70"))
    disc = inv.lines[-1]
    assert (disc.type, disc.units, disc.adjustment, disc.total, disc.unit_cost) == ("IF", 1, -70, -70, None)
    assert inv.total == Decimal("654.95")
    text = to_ledes_1998b(inv)
    row = dict(zip(FIELDS, text.split("\r\n")[-2][:-2].split("|")))
    assert (row["EXP/FEE/INV_ADJ_TYPE"], row["LINE_ITEM_NUMBER_OF_UNITS"], row["LINE_ITEM_ADJUSTMENT_AMOUNT"],
            row["LINE_ITEM_TOTAL"], row["LINE_ITEM_UNIT_COST"]) == ("IF", "1.00", "-70.00", "-70.00", "")
    assert ledes_problems(text, spec_firm()) == []


def test_negative_adjustment_on_a_fee_line_is_arithmetic_not_a_problem():
    text = fixture("valid_96542.txt")  # line 1: 2.00 x 350 + -70 = 630
    assert ledes_problems(text) == []
    assert ledes_problems(text.replace("|-70|630|", "|-70.005|629.995|")) != []


def test_flat_fee_matter_bills_one_if_line_plus_expenses():
    entries = [entry("T1", 4, "22547", "3.0", matter="1326", task="", activity="")]
    inv = invoice(entries, [expense("X1", 5, "12.50", matter="1326")], matter="1326")
    fee, cost = inv.lines
    assert (fee.type, fee.units, fee.total, fee.adjustment) == ("IF", 1, Decimal("1250"), Decimal("1250"))
    assert cost.type == "E" and inv.total == Decimal("1262.50")
    assert inv.client_matter_id == "425-936"
    assert ledes_problems(to_ledes_1998b(inv), spec_firm()) == []


def test_expense_units_and_unit_cost_come_from_their_columns():
    inv = invoice([], [expense("X1", 5, "3.30", units="33", unit_cost="0.10"), expense("X2", 5, "18.40")])
    assert [(li.units, li.unit_cost, li.total) for li in inv.lines] == [
        (33, Decimal("0.10"), Decimal("3.30")), (1, Decimal("18.40"), Decimal("18.40"))]


def test_expense_whose_amount_disagrees_with_units_is_refused():
    with pytest.raises(RefusedError) as e:
        invoice([], [expense("X1", 5, "5.00", units="33", unit_cost="0.10")])
    assert "expense X1" in e.value.reasons[0]


def test_nothing_to_bill_is_refused():
    with pytest.raises(RefusedError, match="nothing to invoice"):
        invoice([entry("T1", 4, "22547", "1.0", matter="0999")])


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("raw,clean", [
    ("Draft motion | review exhibits", "Draft motion; review exhibits"),
    ("Review [Exhibit A] and [B]", "Review (Exhibit A) and (B)"),
    ("Call with client\r\nre: settlement\n\nterms", "Call with client; re: settlement; terms"),
    ("Line one;\nline two", "Line one; line two"),
    ("Prepare \u201cmotion\u201d \u2014 O\u2019Neil\u2026", 'Prepare "motion" - O\'Neil...'),
    ("Café meeting with Müller re § 1983 claim", "Cafe meeting with Muller re Sec. 1983 claim"),
    ("  tab\tand  spaces  ", "tab and spaces"),
    ("|leading and trailing|", "leading and trailing"),
])
def test_clean_text_keeps_meaning(raw, clean):
    assert clean_text(raw) == clean


def test_forbidden_characters_in_narratives_never_break_the_file():
    narrative = "Draft motion | review [Exhibit A]\nCall client re: NULL-pointer defect\u2014urgent"
    inv = invoice([entry("T1", 4, "22547", "1.0", narrative=narrative)])
    text = to_ledes_1998b(inv)
    assert ledes_problems(text, spec_firm()) == []
    assert read_ledes_1998b(text).lines[0].description == (
        "Draft motion; review (Exhibit A); Call client re: NULL-pointer defect-urgent")


def test_unicode_names_fold_to_ascii_last_first():
    inv = invoice([entry("T1", 4, "77001", "1.0"), entry("T2", 4, "77002", "1.0")])
    assert [li.timekeeper_name for li in inv.lines] == ["Nunez, Jose", "O'Brien-Smith, Zoe"]
    assert ledes_problems(to_ledes_1998b(inv), spec_firm()) == []


def test_a_name_without_an_ascii_form_is_a_problem_not_mojibake():
    inv = invoice([entry("T1", 4, "77003", "1.0")])
    problems = ledes_problems(inv, spec_firm())
    assert any("TIMEKEEPER_NAME contains characters outside printable ASCII" in p and "T1" in p for p in problems)


def test_problems_on_an_invoice_name_the_entry():
    inv = invoice([entry("GOOD", 4, "22547", "1.0"), entry("LONG", 5, "22547", "1.0", narrative="word " * 300)])
    problems = ledes_problems(inv, spec_firm())
    assert len(problems) == 1 and "LONG" in problems[0] and "shorter than 1024" in problems[0]


def test_activity_code_without_task_code_from_entries_is_a_problem():
    inv = invoice([entry("T1", 4, "22547", "1.0", task="", activity="A103")])
    assert any("without a LINE_ITEM_TASK_CODE" in p and "T1" in p for p in ledes_problems(inv, spec_firm()))


def test_code_outside_the_matters_set_from_entries_is_a_problem():
    inv = invoice([entry("T1", 4, "22547", "1.0", task="B110")])
    assert any("B110 is not a task code of the litigation code set" in p for p in ledes_problems(inv, spec_firm()))


def test_real_code_sets_know_the_spec_examples_codes():
    cs = load_codesets()
    assert cs.is_valid("litigation", "L510", "task") and cs.is_valid("litigation", "E111", "expense")


# --------------------------------------------------------------------------- tenths ledes


def write_firm(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "firm.toml").write_text('name = "Arnsley & Beaster LLP"\nlaw_firm_id = "24-6437381"\n'
                                    'timezone = "America/New_York"\n')
    (root / "timekeepers.csv").write_text(
        "timekeeper_id,name,classification,rate,email\n"
        "22547,Robert Arnsley,PARTNR,350,rarnsley@ab.example\n"
        "45875,John Beaster,ASSOC,200,jbeaster@ab.example\n")
    (root / "clients.csv").write_text("client_id,name,ledes_client_id,billing_email\nC1,Client One,00711,ap@one.example\n")
    (root / "matters.csv").write_text(
        "matter_id,client_id,name,status,billing_type,code_set,client_matter_id\n"
        "0528,C1,One v. Two,open,hourly,litigation,423-987\n"
        "0999,C1,Other matter,open,hourly,litigation,423-999\n")
    (root / "entries.csv").write_text(
        "entry_id,date,timekeeper_id,matter_id,hours,narrative,task_code,activity_code,rate\n"
        "T1,2026-10-05,22547,0528,2.0,Draft motion to compel production of documents,L350,A103,\n"
        "T2,2026-10-06,45875,0528,0.2,Telephone conference with opposing counsel re: deposition dates,L330,A106,\n"
        "T3,2026-10-06,45875,0999,9.9,Work on another matter,L110,A101,\n"
        "T4,2026-11-02,45875,0528,1.0,Outside the period,L110,A101,\n")
    (root / "expenses.csv").write_text(
        "expense_id,date,timekeeper_id,matter_id,amount,description,expense_code,units,unit_cost\n"
        "X1,2026-10-07,22547,0528,24.95,Working meal with client,E111,,\n"
        "X2,2026-10-08,22547,0528,3.30,Copies of exhibits,E101,33,0.10\n")
    return root


def ledes_args(firm: Path, out: Path, *extra: str) -> list[str]:
    return ["ledes", str(firm), "--entries", str(firm / "entries.csv"), "--expenses", str(firm / "expenses.csv"),
            "--matter", "0528", "--invoice-number", "2026-0042", "--invoice-date", "2026-11-03",
            "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(out), *extra]


def test_cli_writes_a_valid_invoice_of_that_matter(tmp_path, flags):
    firm = write_firm(tmp_path / "firm")
    out = tmp_path / "out" / "invoice.txt"
    flags["T3"] = [Flag(rule="block_billing", severity="error", message="other matter")]  # plays no part
    assert main(ledes_args(firm, out)) == 0
    text = out.read_bytes().decode("ascii")
    assert ledes_problems(text) == []
    inv = read_ledes_1998b(text)
    assert inv.invoice_number == "2026-0042" and inv.total == Decimal("768.25")  # 700 + 40 + 24.95 + 3.30
    assert [li.type for li in inv.lines] == ["F", "F", "E", "E"]
    assert inv.lines[0].timekeeper_classification == "PT"
    assert not list(out.parent.glob(".*tmp"))


def test_cli_refuses_an_entry_with_an_error_flag_and_writes_nothing(tmp_path, flags, capsys):
    firm = write_firm(tmp_path / "firm")
    out = tmp_path / "invoice.txt"
    out.write_text("previous invoice")
    flags["T2"] = [Flag(rule="vague_narrative", severity="error", message="too vague"),
                   Flag(rule="daily_hours", severity="warning", message="long day")]
    assert main(ledes_args(firm, out)) == 1
    err = capsys.readouterr().err
    assert "entry T2: vague_narrative" in err and "daily_hours" not in err
    assert out.read_text() == "previous invoice"
    assert not list(tmp_path.glob(".*tmp"))


def test_cli_warnings_do_not_block(tmp_path, flags):
    firm = write_firm(tmp_path / "firm")
    flags["T1"] = [Flag(rule="rate_mismatch", severity="warning", message="rate differs")]
    assert main(ledes_args(firm, tmp_path / "inv.txt")) == 0


def test_cli_refuses_a_file_that_breaks_ledes_rules(tmp_path, flags, capsys):
    firm = write_firm(tmp_path / "firm")
    text = (firm / "entries.csv").read_text().replace("L350,A103", "B110,A103")
    (firm / "entries.csv").write_text(text)
    out = tmp_path / "inv.txt"
    assert main(ledes_args(firm, out)) == 1
    err = capsys.readouterr().err
    assert "T1" in err and "B110 is not a task code of the litigation code set" in err
    assert not out.exists()


def test_cli_refuses_an_unreadable_row_of_the_matter(tmp_path, flags, capsys):
    firm = write_firm(tmp_path / "firm")
    with (firm / "entries.csv").open("a") as f:
        f.write("T9,2026-10-09,22547,0528,lots,Bad hours,L110,A101,\n"
                "T8,2026-10-09,22547,0999,lots,Other matter's bad row,L110,A101,\n")
    assert main(ledes_args(firm, tmp_path / "inv.txt")) == 1
    err = capsys.readouterr().err
    assert "entries.csv:6" in err and "entries.csv:7" not in err


def test_cli_unknown_matter_is_bad_usage(tmp_path, flags):
    firm = write_firm(tmp_path / "firm")
    args = ledes_args(firm, tmp_path / "inv.txt")
    args[args.index("0528")] = "NOPE"
    assert main(args) == 2


def test_cli_with_the_real_validator(tmp_path, capsys):
    pytest.importorskip("assistant.validate")
    firm = write_firm(tmp_path / "firm")
    out = tmp_path / "inv.txt"
    assert main(ledes_args(firm, out)) == 0
    assert ledes_problems(out.read_text(), None) == []
    with (firm / "entries.csv").open("a") as f:
        f.write("T5,2026-10-09,22547,0528,0.5,Attention to file,L110,A101,\n")
    out.unlink()
    assert main(ledes_args(firm, out)) == 1
    assert "entry T5: vague_narrative (error)" in capsys.readouterr().err
    assert not out.exists()


def test_discount_larger_than_the_fees_is_refused():
    with pytest.raises(RefusedError, match="cannot build"):
        invoice([entry("T1", 4, "22547", "0.1")], discount=Decimal("100"))


NARRATIVE = st.text(alphabet="abcdefghij KLMNOP|[]\n\r\t;:,.'-éüñçÅ\u2019\u201c\u201d\u2014", min_size=0, max_size=120)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 31), st.sampled_from(["22547", "45875", "77001", "77002"]),
                               st.integers(1, 240), st.one_of(st.none(), st.integers(1, 250000)), NARRATIVE),
                     min_size=1, max_size=12),
       discount=st.one_of(st.none(), st.integers(1, 1000)))
def test_any_invoice_we_build_passes_the_validator_and_round_trips(rows, discount):
    entries = [
        entry(f"T{i}", day, tk, str(Decimal(tenths) / 10), "Draft " + text,
              rate=str(Decimal(cents) / 100) if cents else None)
        for i, (day, tk, tenths, cents, text) in enumerate(rows)
    ]
    inv = invoice(entries)
    if discount and Decimal(discount) / 100 <= inv.fees:
        inv = invoice(entries, discount=Decimal(discount) / 100)
    text = to_ledes_1998b(inv)
    assert ledes_problems(text, spec_firm()) == []
    back = read_ledes_1998b(text)
    assert back.model_dump() == inv.model_dump()
    assert back.total == sum(li.total for li in back.lines)


def test_contingency_matter_invoices_expenses_only_and_pro_bono_nothing():
    firm = spec_firm()
    firm.matters.append(Matter(matter_id="C-1", client_id="C1", name="Ruiz v. Transit", status="open",
                               billing_type="contingency", code_set="litigation", client_matter_id="R-1"))
    firm.matters.append(Matter(matter_id="PB-1", client_id="C1", name="Tenant clinic", status="open",
                               billing_type="pro_bono", code_set="none", client_matter_id="P-1"))
    work = [entry("T1", 4, "22547", "2.0", matter="C-1")]
    inv = build_invoice(work, [expense("X1", 5, "40.00", matter="C-1")], firm, "C-1", "C1", dt.date(1999, 2, 1), JAN)
    assert [li.type for li in inv.lines] == ["E"] and inv.total == Decimal("40.00")
    with pytest.raises(RefusedError, match="nothing to invoice") as e:
        build_invoice(work, [], firm, "C-1", "C1", dt.date(1999, 2, 1), JAN)
    assert "contingent" in e.value.reasons[0]
    with pytest.raises(RefusedError) as e:
        build_invoice([entry("T2", 4, "22547", "1.0", matter="PB-1", task="", activity="")], [], firm, "PB-1",
                      "P1", dt.date(1999, 2, 1), JAN)
    assert "pro bono" in e.value.reasons[0]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    from assistant import outputs

    target = tmp_path / "inv.txt"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OSError):
        outputs.write_bytes(target, b"new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["inv.txt"]


# --------------------------------------------------------------------------- QA regressions: the invoice header


@pytest.mark.parametrize("number", ["A|B", "INV[1]", "INV\n1", "Nº 12", "  "])
def test_an_invoice_number_the_format_cannot_carry_is_bad_usage_not_rewritten(number):
    # "A|B" used to be written as INVOICE_NUMBER "A; B": a file whose number matched no letter or ledger.
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="invoice number"):
        build_invoice([entry("1", 4, "22547", "1.0")], [], spec_firm(), "0528", number, dt.date(1999, 2, 25), JAN)


def test_an_invoice_dated_before_its_billing_period_is_bad_usage():
    # An invoice dated 1999-12-01 for January 1999 work used to be written without a word.
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="before the billing period"):
        build_invoice([entry("1", 4, "22547", "1.0")], [], spec_firm(), "0528", "INV-1", dt.date(1998, 12, 1), JAN)
    # an invoice dated inside or after the period is fine
    assert build_invoice([entry("1", 4, "22547", "1.0")], [], spec_firm(), "0528", "INV-2026/01",
                         dt.date(1999, 1, 31), JAN).lines
