"""Upload & analyse: a firm folder (.zip or files), a period, progress per stage, and the accounting."""

from __future__ import annotations

import shutil

import pandas as pd
import streamlit as st

from assistant.folder import load_firm
from assistant.models import Period
from assistant.uploads import new_workspace, prepare_upload

from ui import common


def render() -> None:
    st.title("Upload & analyse")
    st.caption("Upload a month of calendars, email, call logs and document logs with the firm's time entries. "
               "Tenths reads them, matches each record to a matter, and finds the time nobody entered.")
    with st.form("upload"):
        files = st.file_uploader(
            "The firm folder as one .zip, or individual files",
            type=["zip", "ics", "mbox", "mbx", "eml", "csv", "toml"], accept_multiple_files=True,
            help="Individual files are sorted by type; firm files you leave out (firm.toml, timekeepers.csv, "
                 "clients.csv, matters.csv) are taken from the firm shown now.")
        per = common.period()
        chosen = st.date_input("Period", value=(per.start, per.end), format="YYYY-MM-DD")
        submitted = st.form_submit_button("Analyse", type="primary")
    if submitted:
        _submit(files, chosen)
    _accounting()


def _submit(files, chosen) -> None:
    if not isinstance(chosen, (tuple, list)) or len(chosen) != 2:
        st.warning("Choose both the first and the last day of the period.")
        return
    if files:
        workspace = new_workspace()
        try:
            result = prepare_upload([(f.name, f.getvalue()) for f in files], workspace, base_firm=common.firm_dir())
            load_firm(result.root)  # an unusable firm folder is refused here, not on every page after
        except BaseException:
            shutil.rmtree(workspace, ignore_errors=True)
            raise
        label = files[0].name if len(files) == 1 else f"{len(files)} uploaded files"
        common.use_firm(result.root, f"Upload: {label}", str(workspace))
        for note in result.notes:
            common.flash("info", note)
        common.flash("success", f"Received {len(result.files)} files.")
    st.session_state["period"] = Period(start=chosen[0], end=chosen[1])
    common.base_analysis()
    st.rerun()


def _accounting() -> None:
    analysis = common.base_analysis()
    firm = analysis.firm.firm
    st.subheader(f"What was read: {common.plain(firm.name)}, {analysis.period.start:%d %b} – {analysis.period.end:%d %b %Y}")
    counts = pd.DataFrame([{"Source": name.replace("_", " ").capitalize(), **c.model_dump()}
                           for name, c in analysis.counts.items()])
    counts = counts.rename(columns={"read": "Records read", "activities": "Used", "ignored": "Ignored",
                                    "rejected": "Rejected"})
    st.dataframe(counts, hide_index=True, width="stretch")
    st.caption("Every record is used, ignored by rule (all-day, cancelled, declined, internal, automated), "
               "or rejected as unusable. Nothing is dropped silently.")
    if not analysis.rejections:
        st.success("Nothing was ignored or rejected.")
        return
    left = pd.DataFrame([r.model_dump() for r in analysis.rejections])
    counts = left["status"].value_counts().to_dict()
    options = [s for s in ("rejected", "ignored") if counts.get(s)]
    status = st.segmented_control("Show the records left out", options, default=options[0], key="acc_status",
                                  format_func=lambda s: f"{s.capitalize()} ({counts[s]})")
    shown = left[left["status"] == status] if status else left
    st.dataframe(shown.rename(columns={"source": "Source", "source_ref": "Record", "status": "Status",
                                       "reason": "Reason"}),
                 hide_index=True, width="stretch", height=min(420, 38 + 35 * max(len(shown), 1)))


if __name__ == "__main__":  # st.navigation runs a page file as __main__
    common.guarded(render)()
