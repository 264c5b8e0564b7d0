"""assistant.rules: one table of positives and hard negatives per rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from assistant import rules
from assistant.codes import load_codesets
from assistant.models import Expense, TimeEntry
from tests.firmkit import small_firm

DAY = dt.date(2026, 10, 5)


def entry(narrative: str = "Draft motion to compel production of maintenance logs", *, eid: str = "E1",
          hours: str = "1.0", tk: str = "MO", matter: str = "M-100", day: dt.date = DAY, task: str = "L350",
          act: str = "A103", rate: str | None = None) -> TimeEntry:
    return TimeEntry(entry_id=eid, date=day, timekeeper_id=tk, matter_id=matter, hours=Decimal(hours),
                     narrative=narrative, task_code=task, activity_code=act,
                     rate=Decimal(rate) if rate else None)


def rule_ids(flags) -> list[str]:
    return [f.rule for f in flags]


# --------------------------------------------------------------------------- block billing

BLOCK_POSITIVE = [
    "Review documents; draft motion; call with client",
    "Review defendant's document production; draft deficiency letter to opposing counsel",
    "Draft motion to compel and review local rules regarding meet-and-confer requirement",
    "Telephone conference with J. Ramirez re settlement; email to opposing counsel re mediation dates",
    "Attend deposition of Dr. Hollis; travel to and from Newark",
    "Reviewed medical records, drafted chronology, and conferred with B. Osei re causation",
    "Research admissibility of subsequent remedial measures and draft motion in limine",
    "Draft memo re choice of law. Telephone call with client re same.",
    "Prepare exhibits for summary judgment motion / draft statement of undisputed facts",
    "Call with client regarding vessel inspection and draft correspondence to surveyor",
    "Review proposed protective order, redline same and send to opposing counsel",
    "TCW client re settlement; ltr to OC re same",
    "REVIEW DOCUMENTS; DRAFT MOTION; CALL WITH CLIENT",
]
BLOCK_NEGATIVE = [
    "Prepare for and attend deposition of Beta's corporate representative",
    "Review and analyze expert report of Dr. Hollis",
    "Draft and revise motion to compel responses to interrogatories",
    "Review and respond to email from opposing counsel re deposition dates",
    "Meet with client to review documents and prepare for her deposition",
    "Travel to and from Trenton for hearing on motion to dismiss",
    "Telephone conference with client and opposing counsel re settlement terms and release",
    "Research and draft memorandum re enforceability of limitation of liability clause",
    "Review, revise and finalize opposition to motion for summary judgment",
    "Draft/revise asset purchase agreement",
    "Review documents produced by defendant, including bills of lading and delivery receipts",
    "Review motion and reply brief",
    "Receive and review plaintiff's amended complaint",
    "Review, sign and serve amended initial disclosures",
    "Draft interrogatories and requests for production to third-party defendant",
    "Review documents from Smith; Jones; Brown",
    "REVIEW AND ANALYZE EXPERT REPORT OF DR. HOLLIS",
    "Rec'd and reviewed letter from OC re discovery deficiencies",
    "Conference call with client and expert re damages model, followed by revisions to expert report",
]


@pytest.mark.parametrize("narrative", BLOCK_POSITIVE)
def test_block_billing_flags_several_tasks(narrative):
    flags = rules.block_billing(entry(narrative))
    assert rule_ids(flags) == ["block_billing"]
    assert flags[0].severity == "error"
    assert "Split into" in flags[0].suggestion


@pytest.mark.parametrize("narrative", BLOCK_NEGATIVE)
def test_block_billing_leaves_one_task_alone(narrative):
    assert rules.block_billing(entry(narrative)) == [], rules.segment_tasks(narrative)


def test_segment_tasks_counts_and_keeps_shared_objects():
    assert len(rules.segment_tasks("Review documents; draft motion; call with client")) == 3
    assert rules.segment_tasks("Prepare for and attend deposition of J. Smith") == [
        "Prepare for and attend deposition of J. Smith"]


# --------------------------------------------------------------------------- vague narratives

VAGUE_POSITIVE = [
    ("Attention to matter", "phrase"), ("Review file", "phrase"), ("Work on case", "phrase"),
    ("Research", "phrase"), ("Legal research", "phrase"), ("Telephone call with client", "subject"),
    ("Email to opposing counsel", "subject"), ("Review documents", ""), ("Draft correspondence", ""),
    ("Conference re case", ""), ("Trial preparation", "phrase"), ("Prepare for meeting", "object"),
    ("Research issues", "research"), ("Call with J. Ramirez", "subject"), ("Work on discovery", "work on"),
    ("Review correspondence from client", "subject"), ("Emails with client re status", "subject"),
    ("Review", ""), ("Draft letter", ""), ("Draft ltr", ""), ("Meeting w/ client", "subject"),
]
VAGUE_NEGATIVE = [
    "Draft complaint",
    "Draft motion to compel",
    "Research statute of limitations for cargo damage claims",
    "Telephone call with client re settlement offer of $250,000",
    "Email to opposing counsel re extension of expert disclosure deadline",
    "Prepare for deposition of K. Mendez",
    "Attend hearing on motion to dismiss",
    "Leave voicemail for opposing counsel re deposition dates",
    "Zoom meeting with client's CFO re Q3 shipping volumes",
    "Draft letter to client enclosing and explaining settlement agreement",
    "Review title commitment",
    "Telephone conference with M. Ostrander re: deposition scheduling",
    "Draft brief",
    "Tel conf w/ OC re extension",
    "Mtg w/ client re settlement",
    "Draft correspondence to V. Ames re: case management conference",
]


@pytest.mark.parametrize("narrative,hint", VAGUE_POSITIVE)
def test_vague_narrative_flags_and_says_what_is_missing(narrative, hint):
    flags = rules.vague_narrative(entry(narrative))
    assert rule_ids(flags) == ["vague_narrative"]
    assert flags[0].suggestion
    if hint == "subject":
        assert "about" in flags[0].suggestion.lower() or "re:" in flags[0].suggestion


@pytest.mark.parametrize("narrative", VAGUE_NEGATIVE)
def test_vague_narrative_accepts_short_specific_entries(narrative):
    assert rules.vague_narrative(entry(narrative)) == []


def test_vague_communication_without_participants_asks_for_them():
    (flag,) = rules.vague_narrative(entry("Telephone conference re discovery dispute"))
    assert "with whom" in flag.message or "with whom" in flag.suggestion.lower() or "participants" in flag.suggestion


# --------------------------------------------------------------------------- increment

@pytest.mark.parametrize("hours,inc,bad", [
    ("0.1", 6, False), ("1.5", 6, False), ("3.0", 6, False), ("0.25", 6, True), ("1.33", 6, True),
    ("0.05", 6, True), ("0.25", 15, False), ("0.5", 15, False), ("0.3", 15, True), ("0.1", 15, True),
])
def test_increment(hours, inc, bad):
    flags = rules.increment(entry(hours=hours), inc)
    assert rule_ids(flags) == (["increment"] if bad else [])
    if bad:
        assert "Record" in flags[0].suggestion


def test_increment_suggests_both_neighbours():
    (flag,) = rules.increment(entry(hours="0.25"), 6)
    assert "0.2 h or 0.3 h" in flag.suggestion


# --------------------------------------------------------------------------- duplicate

@pytest.mark.parametrize("a,b,same", [
    (dict(), dict(eid="E2"), True),
    (dict(narrative="Telephone conference with J. Ramirez re mediation statement"),
     dict(eid="E2", narrative="Telephone conference w/ J. Ramirez re: mediation statement"), True),
    (dict(narrative="Draft objection to motion to extend exclusivity"),
     dict(eid="E2", narrative="Draft objection to motion to extend exclusivity period"), True),
    (dict(), dict(eid="E2", hours="1.2"), False),
    (dict(), dict(eid="E2", day=DAY + dt.timedelta(days=1)), False),
    (dict(), dict(eid="E2", tk="JC"), False),
    (dict(), dict(eid="E2", matter="M-201"), False),
    (dict(narrative="Draft motion to dismiss counterclaim"), dict(eid="E2", narrative="Draft motion to strike defenses"), False),
])
def test_duplicate(a, b, same):
    flags = rules.duplicate([entry(**a), entry(**b)])
    if same:
        assert sorted((f.rule, f.entry_id) for f in flags) == [("duplicate", "E1"), ("duplicate", "E2")]
    else:
        assert flags == []


def test_duplicate_entry_id_is_flagged():
    flags = rules.duplicate([entry(), entry(narrative="Draft complaint", hours="2.0")])
    assert rule_ids(flags) == ["duplicate"]


# --------------------------------------------------------------------------- daily hours

def test_daily_hours_flags_every_entry_of_a_long_day():
    firm = small_firm()
    day = [entry(eid=f"E{i}", hours=h, narrative=f"Draft section {i} of opposition brief")
           for i, h in enumerate(["4.0", "3.5", "3.0", "2.5"])]
    flags = rules.daily_hours(day, firm)
    assert sorted(f.entry_id for f in flags) == ["E0", "E1", "E2", "E3"]
    assert all(f.severity == "warning" and f.rule == "daily_hours" for f in flags)
    assert "13" in flags[0].message


def test_daily_hours_at_the_limit_or_across_timekeepers_is_fine():
    firm = small_firm()
    assert rules.daily_hours([entry(eid=f"E{i}", hours="4.0") for i in range(3)], firm) == []
    split = [entry(eid="A", hours="8.0"), entry(eid="B", hours="8.0", tk="JC")]
    assert rules.daily_hours(split, firm) == []


# --------------------------------------------------------------------------- codes

@pytest.mark.parametrize("matter,task,act,bad", [
    ("M-100", "L350", "A103", 0), ("M-100", "L999", "A103", 1), ("M-100", "B110", "A103", 1),
    ("M-100", "L350", "A199", 1), ("M-100", "L350", "E101", 1), ("M-100", "L100", "A103", 1),
    ("M-200", "B110", "A104", 0), ("M-200", "L120", "A104", 1), ("M-300", "C300", "A106", 0),
])
def test_invalid_code(matter, task, act, bad):
    firm = small_firm()
    flags = rules.invalid_code(entry(matter=matter, task=task, act=act), firm.matter(matter), load_codesets())
    assert rule_ids(flags) == ["invalid_code"] * bad


def test_invalid_code_on_a_matter_without_code_set():
    firm = small_firm()
    firm.matters[0].code_set = "none"
    (flag,) = rules.invalid_code(entry(task="L350", act="A103"), firm.matter("M-100"), load_codesets())
    assert "no task codes" in flag.message


@pytest.mark.parametrize("code_set,task,act,bad", [
    ("litigation", "L350", "A103", False), ("litigation", "", "A103", True), ("litigation", "L350", "", True),
    ("litigation", "", "", True), ("bankruptcy", "B110", "", True), ("none", "", "", False),
])
def test_missing_code(code_set, task, act, bad):
    firm = small_firm()
    matter = firm.matter("M-100")
    matter.code_set = code_set
    assert rule_ids(rules.missing_code(entry(task=task, act=act), matter)) == (["missing_code"] if bad else [])


# --------------------------------------------------------------------------- rates, matters

def test_rate_mismatch():
    firm = small_firm()
    assert rules.rate_mismatch(entry(rate="450"), firm) == []
    assert rules.rate_mismatch(entry(), firm) == []  # no recorded rate: the standard one applies
    (flag,) = rules.rate_mismatch(entry(rate="500"), firm)
    assert flag.rule == "rate_mismatch" and flag.severity == "warning" and "450" in flag.message


def test_rate_mismatch_uses_the_matters_override():
    firm = small_firm()
    firm.matters[0].rates = {"MO": Decimal("400")}
    assert rules.rate_mismatch(entry(rate="400"), firm) == []
    assert rule_ids(rules.rate_mismatch(entry(rate="450"), firm)) == ["rate_mismatch"]


def test_unknown_timekeeper_is_an_error():
    (flag,) = rules.rate_mismatch(entry(tk="ZZ"), small_firm())
    assert flag.severity == "error" and "timekeepers.csv" in flag.message


def test_closed_and_unknown_matters():
    firm = small_firm()
    assert rules.closed_matter(entry(), firm) == []
    (closed,) = rules.closed_matter(entry(matter="M-300", task="C300"), firm)
    assert closed.rule == "closed_matter" and closed.severity == "error" and "closed" in closed.message
    (unknown,) = rules.closed_matter(entry(matter="M-999"), firm)
    assert "not in matters.csv" in unknown.message


# --------------------------------------------------------------------------- non-billable

NON_BILLABLE_POSITIVE = [
    "Run conflicts check for new matter",
    "Bates stamp documents for production",
    "Schedule deposition of K. Mendez with court reporter",
    "Calendar deadlines from scheduling order",
    "Photocopy exhibits for hearing",
    "Organize case file",
    "E-file notice of appearance",
    "Respond to client's billing inquiry re September invoice",
    "Prepare trial binders",
    "Scan signed documents to DMS",
    "Update calendar with new hearing date",
    "Arrange court reporter and videographer for deposition",
    "File motion to compel with the court",
]
NON_BILLABLE_NEGATIVE = [
    "Review court's scheduling order re expert disclosure deadlines",
    "Attend scheduling conference before Magistrate Judge Wu",
    "Draft motion for leave to file under seal",
    "Conference with client re potential conflict of interest waiver",
    "Review defendant's billing records produced in discovery",
    "Review documents Bates numbered DEF000120-DEF000450 for privilege",
    "Analyze filing requirements for proof of claim under Rule 3001",
    "Review copy of executed lease produced by landlord",
    "Prepare exhibit list for trial",
    "Revise Bill of Particulars for Ruiz v. Metropolitan Transit Authority",
    "Review bill of costs filed by defendant",
]


@pytest.mark.parametrize("narrative", NON_BILLABLE_POSITIVE)
def test_non_billable(narrative):
    (flag,) = rules.non_billable(entry(narrative), small_firm())
    assert flag.rule == "non_billable" and flag.severity == "warning"
    assert "by a partner" in flag.message  # MO is a partner


@pytest.mark.parametrize("narrative", NON_BILLABLE_NEGATIVE)
def test_non_billable_hard_negatives(narrative):
    assert rules.non_billable(entry(narrative), small_firm()) == []


def test_non_billable_by_a_paralegal_does_not_say_attorney():
    firm = small_firm()
    firm.timekeepers[1].classification = "PL"
    (flag,) = rules.non_billable(entry("Bates stamp documents for production", tk="JC"), firm)
    assert "attorney" not in flag.message


# --------------------------------------------------------------------------- expenses

@pytest.mark.parametrize("kw,expected", [
    (dict(), []),
    (dict(expense_code=""), ["missing_code"]),
    (dict(expense_code="E999"), ["invalid_code"]),
    (dict(expense_code="L110"), ["invalid_code"]),
    (dict(amount="0"), ["rate_mismatch"]),
    (dict(units="10", unit_cost="0.10", amount="1.00"), []),
    (dict(units="10", unit_cost="0.10", amount="2.00"), ["rate_mismatch"]),
])
def test_expense_flags(kw, expected):
    data = dict(expense_id="X1", date=DAY, timekeeper_id="MO", matter_id="M-100", amount="25.00",
                description="Court filing fee", expense_code="E112")
    data.update(kw)
    flags = rules.expense_flags(Expense(**data), load_codesets(), "litigation")
    assert rule_ids(flags) == expected


def test_every_rule_has_the_contract_severity():
    assert rules.DEFAULT_SEVERITY == {
        "block_billing": "error", "vague_narrative": "error", "increment": "error", "duplicate": "error",
        "daily_hours": "warning", "invalid_code": "error", "missing_code": "error", "rate_mismatch": "warning",
        "closed_matter": "error", "non_billable": "warning",
    }


# --------------------------------------------------------------------------- robustness

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_narrative_rules_never_raise(text):
    e = entry(text)
    firm = small_firm()
    for flags in (rules.block_billing(e), rules.vague_narrative(e), rules.non_billable(e, firm),
                  rules.duplicate([e, entry(text, eid="E2")])):
        assert all(f.rule in rules.RULE_IDS and f.message for f in flags)


def test_a_huge_narrative_is_read_only_in_part():
    e = entry("Review documents and draft motion, " * 30000)
    assert rule_ids(rules.block_billing(e)) == ["block_billing"]
    assert rules.vague_narrative(e) == []
    assert rule_ids(rules.duplicate([e, entry(e.narrative, eid="E2")])) == ["duplicate", "duplicate"]


def test_a_participant_named_in_the_subject_still_names_the_subject():
    # The offline drafts' "Telephone conference with E. Ruiz re: Ruiz v. Metropolitan Transit Authority" was
    # refused as vague ("subject is missing"): "Ruiz" after re: was taken for a participant, not the subject.
    from assistant.rules import vague_reason

    assert vague_reason("Telephone conference with E. Ruiz re: Ruiz v. Metropolitan Transit Authority") is None
    assert vague_reason("Telephone conference with J. Smith re: Smith deposition") is None
    assert vague_reason("Telephone conference with J. Smith") is not None
