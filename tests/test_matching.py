"""Matter matching: the order of evidence, and the queue instead of a guess."""

import pytest

from assistant.matching import build_index, confirm_queue, decide, match_activities, references_in
from firmkit import activity, at, small_firm


@pytest.fixture(scope="module")
def firm():
    return small_firm()


@pytest.mark.parametrize("title, counterparties, expected, reason_part", [
    ("Acme v. Beta - deposition prep", [], "M-100", "reference"),
    ("RE: [2026-0200] plan confirmation", ["dlee@globex.com"], "M-200", "reference"),
    ("Lunch", ["mostrander@acme.com"], "M-100", "client with one open matter"),
    ("Question", ["dlee@globex.com"], "M-200", "contact tied"),
    ("Call", ["6465550123"], "M-200", "contact tied"),
    ("Anything", ["someone@acme.com"], "M-100", "client"),
])
def test_assigns_when_one_matter_is_named(firm, title, counterparties, expected, reason_part):
    a = activity("x#1", at(5, 10), 30, title=title, counterparties=counterparties)
    d = decide(a, build_index(firm))
    assert d.matter_id == expected
    assert reason_part in d.reason
    assert d.confidence >= 0.8


@pytest.mark.parametrize("title, counterparties, candidates, reason_part", [
    ("Status", ["spark@globex.com"], ("M-200", "M-201"), "ambiguous"),        # client with two open matters
    ("Status", ["someone@globex.com"], ("M-200", "M-201"), "ambiguous"),
    ("Audit wrap-up", ["cfo@initech.com"], ("M-300",), "closed"),            # only a closed matter
    ("Hello", ["stranger@example.org"], (), "unknown"),
    ("Call", ["9175550000"], (), "unknown caller"),
    ("Planning", [], (), "nothing"),
    ("Acme v. Beta follow-up", ["dlee@globex.com"], ("M-100", "M-200", "M-201"), "different clients"),
    ("2026-0200 and 2026-0201", [], ("M-200", "M-201"), "ambiguous"),
])
def test_queues_instead_of_guessing(firm, title, counterparties, candidates, reason_part):
    source = "calls" if counterparties and "@" not in counterparties[0] else None
    a = activity("x#2", at(5, 10), 30, title=title, counterparties=counterparties, source=source)
    d = decide(a, build_index(firm))
    assert d.matter_id is None
    assert d.candidates == candidates
    assert reason_part in d.reason


def test_longest_reference_wins_and_word_boundaries(firm):
    index = build_index(firm)
    assert references_in("Acme v. Beta — hearing", index) == {"M-100"}
    assert references_in("ref 2026-02001 is not ours", index) == set()
    assert references_in("", index) == set()


def test_document_hint_and_unknown_hint(firm):
    index = build_index(firm)
    a = activity("documents/d.csv:2", at(5, 10), 30, kind="document", title="Brief.docx")
    a.matter_hint = "M-201"
    assert decide(a, index).matter_id == "M-201"
    a.matter_hint = "M-999"
    d = decide(a, index)
    assert d.matter_id is None and "not in matters.csv" in d.reason
    a.matter_hint = "M-300"
    assert decide(a, index).matter_id is None  # closed


def test_confirm_queue_lists_only_unmatched_with_local_dates(firm):
    acts = [activity("a", at(5, 23, 30), 10, title="Acme v. Beta"),
            activity("b", at(5, 23, 30), 10, title="Status", counterparties=["spark@globex.com"], tk="JC")]
    match_activities(acts, firm)
    queue = confirm_queue(acts, firm)
    assert [q.activity_id for q in queue] == [acts[1].activity_id]
    assert queue[0].date.isoformat() == "2026-10-05"  # 23:30 New York is 22:30 Chicago, same day
    assert queue[0].candidates == ["M-200", "M-201"]
