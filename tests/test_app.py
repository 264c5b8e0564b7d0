"""The app's pages (streamlit AppTest) and the review-session logic they call."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant import review
from assistant.errors import ConfigError, RefusedError, TenthsError
from assistant.models import Period
from assistant.pipeline import analyze
from assistant.store import ConflictError, ReviewStore, entry_id_for_draft

APP = str(Path(__file__).resolve().parent.parent / "app.py")
OCTOBER = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
T0 = dt.datetime(2026, 11, 2, 10, 42, tzinfo=dt.timezone.utc)
PAGES = ["upload", "gaps", "confirm", "review", "export", "settings"]


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def app(tiny_firm_shared, review_db, monkeypatch):
    """The app opened on the tiny firm as its 'demo', with a fresh review database.

    The analysis stays cached between tests (same firm, same bytes); settings and the store do not.
    """
    monkeypatch.setenv("TENTHS_DEMO_DIR", str(tiny_firm_shared))
    fresh_settings()
    yield AppTest.from_file(APP, default_timeout=60)
    fresh_settings()


def fresh_settings() -> None:
    sys.path.insert(0, str(Path(APP).parent))
    from ui import common

    common.settings.clear()
    common._store.clear()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "error", "warning", "success", "info")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"ui/{page}.py").run()


def test_opens_on_the_demo_firm_with_its_gaps(app):
    app.run()
    no_failure(app)
    assert app.title[0].value == "Unbilled time"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Capture rate"].endswith("%") and metrics["Recoverable"].startswith("$")
    assert "Gaps: worked, not entered" in texts(app)
    gap_table = app.dataframe[-1].value
    assert len(gap_table) >= 1 and {"Date", "Timekeeper", "Matter", "Missing h"} <= set(gap_table.columns)


def test_every_page_renders(app):
    app.run()
    for page in PAGES:
        open_page(app, page)
        no_failure(app)
        assert app.title, f"{page} has no title"


def test_bundled_demo_firm_opens(monkeypatch, review_db):
    demo = Path(APP).parent / "demo_firm"
    if not (demo / "firm.toml").is_file():
        pytest.skip("demo_firm/ is not generated yet (helper C commits it)")
    monkeypatch.delenv("TENTHS_DEMO_DIR", raising=False)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    no_failure(at)
    assert "Gaps: worked, not entered" in texts(at)
    st.cache_resource.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request, review_db, monkeypatch):
    """The app's database: the SQLite file, or the PostgreSQL server of TENTHS_TEST_PG (this firm's rows emptied)."""
    if request.param == "sqlite":
        return review_db
    url = os.environ.get("TENTHS_TEST_PG")
    if not url:
        pytest.skip("TENTHS_TEST_PG is not set (.ci/run starts a PostgreSQL server and sets it)")
    from assistant.store import audit, decisions

    store = ReviewStore(url)
    with store.engine.begin() as conn:
        for table in (audit, decisions):
            conn.execute(table.delete().where(table.c.firm == "12-3456789"))
    store.close()
    monkeypatch.setenv("TENTHS_DB", url)
    return url


def test_approve_clean_entries_persists_across_restart(app, any_db):
    review_db = any_db
    app.session_state["reviewer"] = "Maria Ortiz"
    app.run()
    open_page(app, "review")
    no_failure(app)
    batch = next(b for b in app.button if b.label.startswith("Approve all clean entries"))
    batch.click().run()
    no_failure(app)
    assert any("approved" in s.value for s in app.success)
    store = ReviewStore(review_db, firm="12-3456789")
    approved = {k for k, d in store.decisions().items() if d.status == "approved"}
    assert approved and all(d.updated_by == "Maria Ortiz" for d in store.decisions().values())
    assert [a.action for a in store.history()] == ["approve"] * len(approved)

    st.cache_resource.clear()  # a restart: nothing in memory survives (the analysis is recomputed)
    again = AppTest.from_file(APP, default_timeout=60)
    again.run()
    open_page(again, "review")
    table = again.data_editor[0].value
    statuses = dict(zip(table["item_id"], table["status"]))
    assert all(statuses[i] == "Approved" for i in approved)


def test_conflict_is_explained_not_lost(app, review_db):
    app.session_state["reviewer"] = "John Park"
    app.run()
    open_page(app, "review")  # John loads the pre-bill ...
    table = app.data_editor[0].value
    first = table["item_id"][0]
    # ... meanwhile Maria approves the same entry from another session.
    maria = ReviewStore(review_db, firm="12-3456789", clock=lambda: T0, tz="America/New_York")
    maria.edit(first, {"narrative": "Prepare for deposition of Beta's CFO with client and review exhibits"},
               who="Maria Ortiz", version=0, values={"entry_id": first})
    key = app.data_editor[0].key
    app.session_state[key] = {"edited_rows": {0: {"hours": 0.7}}, "added_rows": [], "deleted_rows": []}
    next(b for b in app.button if b.label == "Save edits").click().run()
    assert not app.exception
    messages = [e.value for e in app.error]
    assert any(f"entry {first} was changed by Maria Ortiz at 05:42" in m and "reload and try again" in m
               for m in messages), messages
    d = maria.get(first)
    assert d.updated_by == "Maria Ortiz" and "hours" not in d.values  # John's edit was not written


def test_nothing_changes_without_a_reviewer_name(app, review_db):
    app.run()
    open_page(app, "review")
    next(b for b in app.button if b.label.startswith("Approve all clean entries")).click().run()
    assert not app.exception
    assert any("enter your name" in e.value.lower() for e in app.error)
    assert ReviewStore(review_db, firm="12-3456789").history() == []


def test_confirm_one_click_assigns(app, review_db):
    app.session_state["reviewer"] = "Maria Ortiz"
    app.run()
    open_page(app, "confirm")
    no_failure(app)
    candidates = [b for b in app.button if b.label.startswith("M-")]
    assert candidates
    candidates[0].click().run()
    no_failure(app)
    assert "Every activity has a matter" in texts(app)
    decisions = ReviewStore(review_db, firm="12-3456789").decisions(kind="activity")
    assert len(decisions) == 1 and next(iter(decisions.values())).status == "assigned"


def test_confirm_another_matter_from_the_list(app, review_db):
    app.run()
    open_page(app, "confirm")
    box = app.selectbox[0]
    box.set_value("M-201").run()  # no reviewer name yet: refused once, not on every rerun
    assert any("enter your name" in e.value.lower() for e in app.error)
    app.run()
    assert not app.error
    app.sidebar.text_input[0].set_value("Maria Ortiz").run()
    app.selectbox[0].set_value("M-201").run()
    no_failure(app)
    assert [d.matter_id for d in ReviewStore(review_db, firm="12-3456789").decisions().values()] == ["M-201"]


def test_export_refused_with_reasons_then_downloads(app, review_db):
    app.session_state["reviewer"] = "Maria Ortiz"
    app.run()
    open_page(app, "export")
    no_failure(app)
    app.toggle[0].set_value(False)  # every entry, flagged ones included
    next(b for b in app.button if b.label.startswith("Prepare LEDES")).click().run()
    assert not app.exception
    assert any("refused" in e.value for e in app.error)
    assert "vague" in texts(app).lower() or "narrative" in texts(app).lower()
    assert not app.get("download_button")

    open_page(app, "review")
    next(b for b in app.button if b.label.startswith("Approve all clean entries")).click().run()
    open_page(app, "export")
    app.toggle[0].set_value(True)
    next(b for b in app.button if b.label.startswith("Prepare LEDES")).click().run()
    no_failure(app)
    assert any("Invoice ready" in s.value for s in app.success)
    assert any(b.label == "Download LEDES file" for b in app.get("download_button"))
    next(b for b in app.button if b.label == "Draft the cover letter").click().run()
    no_failure(app)
    assert {"Download .md", "Download .docx"} <= {b.label for b in app.get("download_button")}
    next(b for b in app.button if b.label == "Draft a status report").click().run()
    no_failure(app)
    assert "Acme" in texts(app)


def test_gap_drill_down_shows_evidence_and_draft(app):
    app.run()
    app.session_state["gap_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    no_failure(app)
    shown = texts(app)
    assert "Evidence for" in shown and "matched:" in shown
    assert any("Draft entry" in i.value for i in app.info)
    next(b for b in app.button if b.label == "Review this matter").click().run()
    no_failure(app)
    assert app.title[0].value == "Review the pre-bill"
    assert app.selectbox[0].value == app.session_state["review_matter"]


def test_hostile_upload_is_refused_in_one_sentence(app):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("firm.toml", 'name = "X"\nlaw_firm_id = "1"\n')
        z.writestr("../../evil.txt", "pwned")
    app.run()
    open_page(app, "upload")
    app.file_uploader[0].set_value(("firm.zip", buf.getvalue(), "application/zip"))
    next(b for b in app.get("form_submit_button") if b.label == "Analyse").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["firm.zip: ../../evil.txt points outside the archive (..)."]
    assert "firm_dir" not in app.session_state  # still on the firm it showed before


def test_unusable_firm_folder_is_refused_and_the_firm_stays(app, tiny_firm):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("firm.toml", 'name = "X"\nlaw_firm_id = "1"\n')  # no timekeepers.csv
    app.run()
    open_page(app, "upload")
    app.file_uploader[0].set_value(("broken.zip", buf.getvalue(), "application/zip"))
    next(b for b in app.get("form_submit_button") if b.label == "Analyse").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["timekeepers.csv: required firm file is missing."]
    assert "firm_dir" not in app.session_state
    open_page(app, "gaps")
    no_failure(app)


def test_upload_a_zip_switches_the_firm(app, tiny_firm):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(tiny_firm.rglob("*")):
            if p.is_file():
                z.write(p, f"acme/{p.relative_to(tiny_firm).as_posix()}")
    app.run()
    open_page(app, "upload")
    app.file_uploader[0].set_value(("acme.zip", buf.getvalue(), "application/zip"))
    next(b for b in app.get("form_submit_button") if b.label == "Analyse").click().run()
    no_failure(app)
    assert app.session_state["firm_label"] == "Upload: acme.zip"
    assert Path(app.session_state["firm_dir"]).name == "acme"
    assert any("Received" in s.value for s in app.success)


def test_unexpected_error_shows_no_traceback(app, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(review, "build_prebill", boom)
    from ui import common

    common.clear_cache()
    app.run()
    open_page(app, "review")
    assert not app.exception
    assert len(app.error) == 1 and "Something went wrong" in app.error[0].value
    assert "secret" not in texts(app)


# --------------------------------------------------------------------------- the review session (no UI)


@pytest.fixture
def session(tiny_firm, tmp_path):
    analysis = analyze(tiny_firm, OCTOBER)
    store = ReviewStore(f"sqlite:///{tmp_path / 'r.db'}", firm=analysis.firm.firm.law_firm_id, clock=lambda: T0)
    return analysis, store


def reviewed(analysis, store):
    decisions = store.decisions()
    return review.apply_decisions(analysis, decisions), decisions


def test_prebill_rows_flags_and_totals(session):
    analysis, store = session
    prebill = review.build_prebill(*reviewed(analysis, store), "M-100")
    ids = [r.item_id for r in prebill.entries]
    assert ids == ["E1", "E2", "E3"]
    e3 = prebill.row("E3")
    assert e3.errors and any(f.rule == "vague_narrative" for f in e3.flags)
    assert prebill.drafts and all(r.evidence for r in prebill.drafts)
    assert prebill.billable_hours == Decimal("2.8")
    assert prebill.row("E1").amount == Decimal("225.00")
    with pytest.raises(ConfigError, match="not on the pre-bill"):
        prebill.row("E99")
    assert [r.item_id for r in prebill.view("flagged").rows] == ["E3"]
    assert prebill.view("drafts").rows == prebill.drafts
    assert len(prebill.view("open").rows) == len(prebill.rows)


def test_review_page_filters_rows(app):
    app.run()
    open_page(app, "review")
    all_rows = len(app.data_editor[0].value)
    app.segmented_control(key="review_view").set_value("flagged").run()
    no_failure(app)
    flagged = app.data_editor[0].value
    assert 0 < len(flagged) < all_rows and all(flagged["flags"].str.len() > 0)


def test_approving_an_entry_with_errors_is_refused(session):
    analysis, store = session
    prebill = review.build_prebill(*reviewed(analysis, store), "M-100")
    with pytest.raises(RefusedError, match="E3 has errors") as e:
        review.approve(store, prebill.row("E3"), "Maria")
    assert any("vague_narrative" in r for r in e.value.reasons)
    assert store.history() == []


def test_edit_then_the_validator_runs_again(session):
    analysis, store = session
    prebill = review.build_prebill(*reviewed(analysis, store), "M-100")
    outcome = review.save_edits(store, prebill, [
        {"item_id": "E3", "hours": 2.0, "narrative": "Review Beta's document production (BETA000120-450) for "
                                                      "privilege and responsiveness", "task_code": "l310",
         "activity_code": "A104"},
        {"item_id": "E1", "hours": "abc"},
    ], "Maria")
    assert outcome.saved == ["E3"] and outcome.problems == ["E1: hours 'abc' is not a number like 1.5"]
    prebill = review.build_prebill(*reviewed(analysis, store), "M-100")
    e3 = prebill.row("E3")
    assert e3.status == "edited" and e3.version == 1 and "privilege" in e3.narrative
    assert not any(f.rule == "vague_narrative" for f in e3.flags)
    # A stale copy of the pre-bill cannot overwrite the edit.
    stale = review.save_edits(store, review.build_prebill(analysis, {}, "M-100"),
                              [{"item_id": "E3", "hours": 1.0}], "John")
    assert stale.saved == [] and stale.conflicts == ["entry E3 was changed by Maria at 10:42 UTC; reload and try again"]


def test_accepting_a_draft_makes_an_entry_and_closes_the_gap(session):
    analysis, store = session
    before, decisions = reviewed(analysis, store)
    prebill = review.build_prebill(before, decisions, "M-100")
    draft = prebill.drafts[0]
    gap_before = before.summary["gap_hours"]
    made = review.approve(store, draft, "Maria")  # approving a draft accepts it
    assert made.item_id == entry_id_for_draft(draft.item_id) and made.status == "pending"
    after, decisions = reviewed(analysis, store)
    assert after.summary["gap_hours"] == pytest.approx(gap_before - float(draft.hours))
    prebill = review.build_prebill(after, decisions, "M-100")
    assert draft.item_id not in [r.item_id for r in prebill.drafts]
    assert prebill.row(made.item_id).kind == "entry"


def test_assigning_a_matter_moves_time_out_of_the_queue(session):
    analysis, store = session
    item = analysis.confirm[0]
    review.assign_matter(store, analysis, item.activity_id, "M-200", "Maria")
    after, _ = reviewed(analysis, store)
    assert item.activity_id not in [c.activity_id for c in after.confirm]
    assert any(item.activity_id in g.activity_ids and g.matter_id == "M-200" for g in after.gaps)
    assert analysis.activity(item.activity_id).matter_id is None  # the cached analysis is untouched


def test_rejected_entry_stays_visible_but_is_not_billed(session):
    analysis, store = session
    applied, decisions = reviewed(analysis, store)
    prebill = review.build_prebill(applied, decisions, "M-100")
    with pytest.raises(ConfigError, match="say why"):
        review.reject(store, prebill.row("E2"), "  ", "Maria")
    outcome = review.reject_many(store, [prebill.row("E2")], "duplicate of E1", "Maria")
    assert outcome.saved == ["E2"]
    applied, decisions = reviewed(analysis, store)
    prebill = review.build_prebill(applied, decisions, "M-100")
    assert prebill.row("E2").status == "rejected" and prebill.billable_hours == Decimal("2.5")
    assert "E2" not in [e.entry_id for e in applied.entries]
    # A stray decision about an entry the analysis does not hold is ignored, not a crash.
    store.edit("E77", {"hours": "1"}, who="Maria", version=0)
    applied, decisions = reviewed(analysis, store)
    assert review.build_prebill(applied, decisions, "M-100").row("E2").status == "rejected"


def test_batch_approve_and_export(session):
    analysis, store = session
    applied, decisions = reviewed(analysis, store)
    outcome = review.approve_clean(store, review.build_prebill(applied, decisions, "M-100"), "Maria")
    assert outcome.saved == ["E1", "E2"]
    applied, decisions = reviewed(analysis, store)
    export = review.export_invoice(applied, decisions, "M-100", "2026-10-001", dt.date(2026, 10, 31))
    assert export.text.startswith("LEDES1998B[]") and export.entries == 2 and export.unapproved == 1
    assert export.filename == "M-100_2026-10-001.ledes.txt"
    with pytest.raises(RefusedError) as e:
        review.export_invoice(applied, decisions, "M-100", "2026-10-001", dt.date(2026, 10, 31), approved_only=False)
    assert any(r.startswith("entry E3:") for r in e.value.reasons)
    letter = review.write_letter("cover", applied, decisions, "M-100", today=dt.date(2026, 11, 2), export=export)
    assert "Acme" in letter.markdown and letter.docx[:2] == b"PK"


def test_gap_figures(session):
    analysis, _ = session
    figures = {f.matter_id: f for f in review.matter_figures(analysis)}
    total_gap = sum(f.gap_hours for f in figures.values())
    assert float(total_gap) == pytest.approx(analysis.summary["gap_hours"])
    days = review.daily_figures(analysis)
    assert sum(d["entered_hours"] for d in days) == pytest.approx(analysis.summary["entered_hours"])
    gap = analysis.gaps[0]
    acts, drafts = review.gap_detail(analysis, gap)
    assert [a.activity_id for a in acts] == gap.activity_ids and drafts


def test_individual_files_borrow_the_firm_settings_and_back_to_demo(app, tiny_firm_shared):
    app.run()
    open_page(app, "upload")
    files = [("MO.ics", (tiny_firm_shared / "calendar" / "MO.ics").read_bytes(), "text/calendar"),
             ("entries.csv", (tiny_firm_shared / "time_entries.csv").read_bytes(), "text/csv")]
    app.file_uploader[0].set_value(files)
    next(b for b in app.get("form_submit_button") if b.label == "Analyse").click().run()
    no_failure(app)
    assert app.session_state["firm_label"] == "Upload: 2 uploaded files"
    assert any("taken from the current firm" in i.value for i in app.info)
    counts = app.dataframe[0].value
    assert dict(zip(counts["Source"], counts["Records read"]))["Calendar"] == 2
    workspace = Path(app.session_state["workspace"])
    assert workspace.is_dir()
    next(b for b in app.sidebar.button if b.label == "Back to the demo firm").click().run()
    no_failure(app)
    assert "firm_dir" not in app.session_state and not workspace.exists()


def test_demo_is_generated_when_the_bundled_one_is_missing(tmp_path, monkeypatch):
    fresh_settings()
    from ui import common

    monkeypatch.delenv("TENTHS_DEMO_DIR", raising=False)
    monkeypatch.setattr(common, "REPO", tmp_path)
    common._generated_demo.clear()
    try:
        generated = common.demo_dir()
        assert (generated / "firm.toml").is_file()
        shutil.rmtree(generated.parent)
        common._generated_demo.clear()
        monkeypatch.setitem(sys.modules, "assistant.demo", None)
        with pytest.raises(TenthsError, match="bundled demo firm is missing"):
            common.demo_dir()
    finally:
        common._generated_demo.clear()
