"""The offline coder: honest held-out accuracy, determinism, review on low confidence, `tenths code`."""

from __future__ import annotations

import csv
import io

import pytest

from assistant.cli import main
from assistant.coder import (
    ACTIVITY_THRESHOLD, TASK_THRESHOLD, annotate_roles, default_coder, load_labelled, run_coding_eval,
    suggest_codes, suggest_many, train,
)
from assistant.codes import load_codesets
from assistant.codes import suggest_codes as public_suggest_codes
from assistant.models import CodeSuggestion


def test_labelled_set_splits_are_disjoint_and_cover_every_code():
    rows = load_labelled()
    train_rows = [r for r in rows if r.split == "train"]
    test_rows = [r for r in rows if r.split == "test"]
    assert len(train_rows) >= 500 and len(test_rows) >= 150
    assert not {r.narrative for r in train_rows} & {r.narrative for r in test_rows}
    for name in ("litigation", "bankruptcy"):
        trained = {r.task_code for r in train_rows if r.code_set == name}
        assert trained == set(load_codesets().get(name).task_codes)


def test_split_follows_the_documented_rule():
    # evals/coding/README.md: test when the 64-bit BLAKE2b of the narrative is divisible by 4.
    import hashlib

    for r in load_labelled():
        digest = int(hashlib.blake2b(r.narrative.encode(), digest_size=8).hexdigest(), 16)
        assert r.split == ("test" if digest % 4 == 0 else "train"), r.narrative


def test_held_out_accuracy_meets_targets():
    # Trains on the train split only and scores the test split the model never saw.
    metrics = run_coding_eval()
    assert metrics["n_test"] >= 150
    assert metrics["task_top1"] >= 0.85, metrics
    assert metrics["activity_top1"] >= 0.90, metrics
    assert set(metrics["by_code_set"]) >= {"litigation", "bankruptcy"}
    assert 0 <= metrics["needs_review_rate"] < 0.5


def test_training_is_deterministic():
    rows = [r for r in load_labelled() if r.split == "train" and r.code_set == "bankruptcy"]
    narratives = [r.narrative for r in load_labelled() if r.split == "test" and r.code_set == "bankruptcy"]
    a = train(rows).guess_many(narratives, "bankruptcy")
    b = train(rows).guess_many(narratives, "bankruptcy")
    assert a == b


def test_confident_codes_are_filled():
    s = suggest_codes("Take deposition of plaintiff's treating physician", "litigation")
    assert s == CodeSuggestion(task_code="L330", activity_code=s.activity_code, confidence=s.confidence,
                               needs_review=False)
    s = suggest_codes("Draft objection to bank's motion for relief from the automatic stay", "bankruptcy")
    assert (s.task_code, s.activity_code, s.needs_review) == ("B140", "A103", False)


@pytest.mark.parametrize("narrative", ["Review documents", "", "   ", "Work on matter", "zzkq wvvx"])
def test_low_confidence_or_vague_needs_review_and_leaves_the_task_code_empty(narrative):
    s = suggest_codes(narrative, "litigation")
    assert s.needs_review is True
    assert s.task_code == ""


def test_codes_below_threshold_are_never_returned():
    narratives = [r.narrative for r in load_labelled() if r.split == "test"]
    guesses = default_coder().guess_many(narratives, "litigation")
    for g, s in zip(guesses, suggest_many(narratives, "litigation")):
        assert (s.task_code != "") == (g.task_confidence >= TASK_THRESHOLD and not g.too_vague)
        assert (s.activity_code != "") == (g.activity_confidence >= ACTIVITY_THRESHOLD)
        assert s.needs_review == (s.task_code == "" or s.activity_code == "")


def test_none_code_set_gets_no_task_code():
    s = suggest_codes("Draft motion to compel production of documents", "none")
    assert s.task_code == ""
    assert s.activity_code == "A103"
    assert s.needs_review is False


def test_kind_hint_informs_the_activity_code():
    narrative = "Deposition scheduling and witness availability with J. Park"
    hinted = suggest_codes(narrative, "litigation", kind_hint="call")
    guess = default_coder().guess_many([narrative], "litigation", ["call"])[0]
    assert guess.activity_code in {"A105", "A106", "A107", "A108"}
    assert hinted.activity_code in {"", guess.activity_code}


def test_many_matches_one_by_one_and_public_entry_point():
    narratives = ["Prepare privilege log for withheld emails", "Attend section 341 meeting of creditors"]
    assert suggest_many(narratives, "bankruptcy") == [suggest_codes(n, "bankruptcy") for n in narratives]
    assert public_suggest_codes(narratives[0], "litigation") == suggest_codes(narratives[0], "litigation")
    assert suggest_many([], "litigation") == []


def test_unknown_code_set_is_an_error():
    with pytest.raises(ValueError, match="unknown code set"):
        suggest_codes("Draft complaint", "patent")


# --------------------------------------------------------------------------- tenths code

FIRM = {
    "firm.toml": 'name = "Reyes & Obi LLP"\nlaw_firm_id = "98-7654321"\ntimezone = "America/Chicago"\n'
                 'currency = "USD"\n',
    "timekeepers.csv": "timekeeper_id,name,classification,rate,email\n"
                       "AR,Ana Reyes,PT,500,areyes@reyesobi.com\nKO,Kofi Obi,AS,325,kobi@reyesobi.com\n",
    "clients.csv": "client_id,name,ledes_client_id,billing_email,domains\nNOR,Norden Foods,NOR1,ap@norden.com,norden.com\n",
    "contacts.csv": "client_id,name,email,phone\nNOR,Lena Vogt,lvogt@norden.com,312-555-0100\nNOR,Paul Grant,pgrant@grantlaw.com,312-555-0199\n",
    "matters.csv": "matter_id,client_id,name,status,billing_type,code_set\n"
                   "LIT,NOR,Norden v. Palisade,open,hourly,litigation\n"
                   "BK,NOR,Norden chapter 11,open,hourly,bankruptcy\n"
                   "GEN,NOR,General advice,open,hourly,none\n",
}
ENTRIES = (
    "entry_id,date,timekeeper_id,matter_id,hours,narrative,task_code,activity_code,Internal Note\n"
    "E1,2026-10-05,AR,LIT,1.5,Take deposition of Palisade's plant manager,,,first\n"
    "E2,2026-10-05,KO,BK,0.8,Draft omnibus objection to duplicate proofs of claim,B310,,\n"
    "E3,2026-10-06,KO,LIT,0.4,Review documents,,,vague\n"
    "E4,2026-10-06,AR,GEN,0.6,Draft memo on supplier contract termination rights,,,\n"
    "E5,not-a-date,AR,LIT,0.6,Draft answer to amended complaint,,,bad row\n"
    "E7,2026-10-07,KO,LIT,0.2,Telephone conference with L. Vogt re: deposition schedule for plant manager,,,\n"
    "E6,2026-10-07,AR,LIT,2.0,\"Draft motion to dismiss for lack of personal jurisdiction, with exhibits\",L210,A104,kept\n"
)


@pytest.fixture
def firm_dir(tmp_path):
    root = tmp_path / "firm"
    for rel, text in FIRM.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (tmp_path / "entries.csv").write_text(ENTRIES, encoding="utf-8")
    return root


def test_tenths_code_end_to_end(firm_dir, tmp_path, capsys):
    out = tmp_path / "out" / "coded.csv"
    assert main(["code", str(firm_dir), "--entries", str(tmp_path / "entries.csv"), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["entry_id", "date", "timekeeper_id", "matter_id", "hours", "narrative", "task_code",
                      "activity_code", "Internal Note", "suggested_task_code", "suggested_activity_code",
                      "code_confidence"]
    assert [r["entry_id"] for r in rows] == ["E1", "E2", "E3", "E4", "E5", "E7", "E6"]
    assert [r["Internal Note"] for r in rows] == ["first", "", "vague", "", "bad row", "", "kept"]
    by_id = {r["entry_id"]: r for r in rows}
    assert (by_id["E1"]["task_code"], by_id["E1"]["suggested_task_code"]) == ("L330", "L330")
    assert 0 < float(by_id["E1"]["code_confidence"]) <= 1
    assert by_id["E2"]["task_code"] == "B310" and by_id["E2"]["activity_code"] == "A103"
    assert by_id["E3"]["task_code"] == "" and by_id["E3"]["suggested_task_code"] != ""   # vague: for a reviewer
    assert by_id["E4"]["task_code"] == "" and by_id["E4"]["suggested_task_code"] == ""   # code_set none
    assert by_id["E4"]["activity_code"] == "A103"
    assert by_id["E5"]["task_code"] == "" and by_id["E5"]["code_confidence"] == ""       # rejected row kept as is
    assert (by_id["E6"]["task_code"], by_id["E6"]["activity_code"]) == ("L210", "A104")   # never overwritten
    assert by_id["E6"]["suggested_task_code"] == "L240"
    assert (by_id["E7"]["task_code"], by_id["E7"]["activity_code"]) == ("L330", "A106")   # L. Vogt is the client
    assert "not-a-date" in capsys.readouterr().err
    assert [p.name for p in out.parent.iterdir()] == ["coded.csv"]                     # no temp file left


def test_tenths_code_without_code_columns_adds_them(firm_dir, tmp_path):
    src = tmp_path / "plain.csv"
    src.write_text("entry_id,date,timekeeper_id,matter_id,hours,narrative\n"
                   "X1,2026-10-05,AR,BK,1.0,Attend section 341 meeting of creditors\n", encoding="utf-8")
    out = tmp_path / "plain_coded.csv"
    assert main(["code", str(firm_dir), "--entries", str(src), "--out", str(out)]) == 0
    (row,) = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert row["task_code"] == "B150" and row["activity_code"] == "A109"


def test_tenths_code_missing_firm_file_is_exit_2(tmp_path):
    (tmp_path / "entries.csv").write_text(ENTRIES, encoding="utf-8")
    assert main(["code", str(tmp_path / "nofirm"), "--entries", str(tmp_path / "entries.csv"),
                 "--out", str(tmp_path / "o.csv")]) == 2


def test_annotate_roles_names_client_colleague_and_third_party(firm_dir):
    from assistant.folder import load_firm

    firm = load_firm(firm_dir)
    assert annotate_roles("Call with L. Vogt re: plan", firm, "NOR") == "Call with L. Vogt (client) re: plan"
    assert annotate_roles("Conference with Kofi Obi re: brief", firm) == \
        "Conference with Kofi Obi (internal colleague) re: brief"
    assert annotate_roles("Email to P. Grant re: stay", firm, "NOR") == "Email to P. Grant (third party) re: stay"
    assert annotate_roles("Call with opposing counsel (P. Grant) re: stay", firm, "NOR") == \
        "Call with opposing counsel (P. Grant) re: stay"
    assert annotate_roles("Draft answer to complaint", firm) == "Draft answer to complaint"


def test_tenths_code_keeps_rows_aligned_with_bom_crlf_and_multiline_cells(firm_dir, tmp_path):
    src = tmp_path / "crlf.csv"
    src.write_bytes(
        "\ufeffentry_id,date,timekeeper_id,matter_id,hours,narrative\r\n"
        "M1,2026-10-05,AR,LIT,1.0,\"Draft motion to dismiss\r\nfor lack of personal jurisdiction\"\r\n"
        "\r\n"
        "M2,2026-10-05,AR,BK,1.0,Attend section 341 meeting of creditors\r\n".encode("utf-8"))
    out = tmp_path / "crlf_coded.csv"
    assert main(["code", str(firm_dir), "--entries", str(src), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["entry_id"] for r in rows] == ["M1", "M2"]
    assert rows[0]["narrative"].startswith("Draft motion to dismiss") and rows[0]["suggested_task_code"] == "L240"
    assert rows[1]["suggested_task_code"] == "B150"


def test_tenths_code_unreadable_entries_is_exit_2(firm_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,when\n1,2\n", encoding="utf-8")
    assert main(["code", str(firm_dir), "--entries", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    assert main(["code", str(firm_dir), "--entries", str(tmp_path / "missing.csv"),
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()
