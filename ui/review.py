"""Review: one matter's pre-bill — edit in place, approve, reject with a reason, accept drafts, batch-approve."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assistant import review

from ui import common

STATUS = {"pending": "Pending", "edited": "Edited", "approved": "Approved", "rejected": "Rejected",
          "accepted": "Accepted"}


def render() -> None:
    analysis, decisions = common.reviewed()
    firm = analysis.firm
    st.title("Review the pre-bill")
    matter_id = _pick_matter(analysis)
    if matter_id is None:
        return
    fresh = common.derived("prebill", lambda a, d, m: review.build_prebill(a, d, m), matter_id)
    seen_key = f"seen-{matter_id}"
    prebill = review.as_seen(fresh, st.session_state.get(seen_key, {}))
    try:
        _page(prebill, firm)
    finally:
        st.session_state[seen_key] = {r.item_id: r.version for r in fresh.rows}


def _page(prebill, firm) -> None:
    cur = firm.firm.currency
    c = st.columns(5)
    c[0].metric("Billable hours", f"{prebill.billable_hours:.1f}")
    c[1].metric("Billable amount", common.money(prebill.billable_amount, cur))
    c[2].metric("Approved", f"{len(prebill.approved)} of {len(prebill.live_entries)}")
    c[3].metric("Entries flagged", len(prebill.flagged))
    c[4].metric("Drafts to accept", len(prebill.open_drafts))
    if not prebill.validator_ready:
        st.warning("The validator is not installed yet, so no flags are shown and nothing counts as clean.")
    if not prebill.rows:
        st.info("No entries or drafts for this matter in the period.")
        return
    counts = {v: len(prebill.view(v).rows) for v in prebill.VIEWS}
    view = st.segmented_control("Show", prebill.VIEWS, default="all", key="review_view",
                                format_func=lambda v: f"{v.capitalize()} ({counts[v]})") or "all"
    shown = prebill.view(view)
    edited = _editor(shown)
    _actions(prebill, shown, edited)
    _flag_details(prebill)


def _pick_matter(analysis):
    firm = analysis.firm
    busy = {e.matter_id for e in analysis.entries} | {d.matter_id for d in analysis.drafts}
    options = [m.matter_id for m in firm.matters if m.matter_id in busy] or [m.matter_id for m in firm.matters]
    if not options:
        st.info("This firm has no matters.")
        return None
    wanted = st.session_state.get("review_matter")
    index = options.index(wanted) if wanted in options else 0
    matter_id = st.selectbox("Matter", options, index=index, format_func=lambda m: common.matter_label(firm, m))
    st.session_state["review_matter"] = matter_id
    return matter_id


def _editor(prebill) -> pd.DataFrame:
    table = pd.DataFrame([{
        "select": False, "item_id": r.item_id, "kind": "draft" if r.kind == "draft" else "entry",
        "status": STATUS.get(r.status, r.status), "date": r.date, "timekeeper": r.timekeeper,
        "hours": float(r.hours), "narrative": r.narrative, "task_code": r.task_code, "activity_code": r.activity_code,
        "amount": float(r.amount), "flags": "; ".join(f"{f.severity}: {f.rule}" for f in r.flags),
    } for r in prebill.rows])
    generation = st.session_state.get("review_generation", 0)
    # The key changes with the rows, so edits made on one list of rows are never applied to another.
    rows = abs(hash(tuple(r.item_id for r in prebill.rows))) % 10**8
    return st.data_editor(
        table, hide_index=True, width="stretch", key=f"prebill-{prebill.matter.matter_id}-{generation}-{rows}",
        disabled=["item_id", "kind", "status", "date", "timekeeper", "amount", "flags"],
        column_config={
            "select": st.column_config.CheckboxColumn("✓", help="Select for approve / reject"),
            "item_id": "ID", "kind": "Kind", "status": "Status", "date": st.column_config.DateColumn("Date"),
            "timekeeper": "Timekeeper", "hours": st.column_config.NumberColumn("Hours", min_value=0.1, max_value=24,
                                                                            step=0.1, format="%.1f"),
            "narrative": st.column_config.TextColumn("Narrative", width="large"), "task_code": "Task",
            "activity_code": "Activity", "amount": st.column_config.NumberColumn("Amount", format="%.2f"),
            "flags": "Flags",
        })


def _actions(prebill, shown, edited: pd.DataFrame) -> None:
    """Buttons under the table: edits and selections act on the rows shown, batch approval on the whole pre-bill."""
    selected = [shown.row(i) for i in edited.loc[edited["select"], "item_id"]]
    clean = prebill.clean_open
    row = st.container(horizontal=True)
    save = row.button("Save edits", type="primary")
    approve = row.button(f"Approve / accept selected ({len(selected)})", disabled=not selected)
    batch = row.button(f"Approve all clean entries ({len(clean)})", disabled=not clean,
                       help="Entries with no flag at all; flagged entries and drafts stay for a closer look.")
    row = st.container(horizontal=True, vertical_alignment="bottom")
    reason = row.text_input("Reason for rejecting", key="reject_reason", placeholder="e.g. duplicate of E1041",
                            width=420)
    reject = row.button(f"Reject selected ({len(selected)})", disabled=not selected)
    if not (save or approve or batch or reject):
        return
    who, store, records = common.reviewer(), common.store(), edited.to_dict("records")
    changed = review.unsaved(shown, records)
    if save:
        _report(review.save_edits(store, shown, records, who), "saved")
    elif changed:
        st.warning(f"Save or undo your edits first ({', '.join(changed)}).")
    elif approve:
        _report(review.approve_many(store, selected, who), "approved or accepted")
    elif batch:
        _report(review.approve_clean(store, prebill, who), "approved")
    elif reject:
        _report(review.reject_many(store, selected, reason, who), "rejected")


def _report(outcome: review.EditOutcome, verb: str) -> None:
    for message in outcome.conflicts + outcome.problems:
        common.flash("error", message)
    if outcome.saved:
        _done(f"{len(outcome.saved)} item(s) {verb}: {', '.join(outcome.saved[:12])}.")
    else:
        _done(f"Nothing {verb}.", "info")


def _done(message: str, kind: str = "success") -> None:
    common.flash(kind, message)
    st.session_state["review_generation"] = st.session_state.get("review_generation", 0) + 1
    st.rerun()


def _flag_details(prebill) -> None:
    flagged = [r for r in prebill.rows if r.flags]
    if not flagged:
        return
    with st.expander(f"Flags and suggestions ({sum(len(r.flags) for r in flagged)})", expanded=True):
        lines = []
        for r in flagged:
            for f in r.flags:
                mark = "**error**" if f.severity == "error" else "warning"
                line = f"- **{r.item_id}** · {mark} · `{f.rule}`: {common.plain(f.message)}"
                if f.suggestion:
                    line += f"  \n  ↳ *Suggestion:* {common.plain(f.suggestion)}"
                lines.append(line)
        st.markdown("\n".join(lines))


if __name__ == "__main__":  # st.navigation runs a page file as __main__
    common.guarded(render)()
