"""Export: a matter's LEDES 1998B invoice (refused with reasons when the validator objects) and its letters."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from assistant import review

from ui import common


def render() -> None:
    analysis, decisions = common.reviewed()
    firm, per = analysis.firm, analysis.period
    st.title("Export")
    matters = [m.matter_id for m in firm.matters if any(e.matter_id == m.matter_id for e in analysis.entries)]
    if not matters:
        st.info("No matter has entries in this period.")
        return
    wanted = st.session_state.get("review_matter")
    matter_id = st.selectbox("Matter", matters, index=matters.index(wanted) if wanted in matters else 0,
                             format_func=lambda m: common.matter_label(firm, m), key="export_matter")
    c = st.columns(3)
    number = c[0].text_input("Invoice number", value=f"{per.end:%Y%m}-{matter_id}", key=f"inv-{matter_id}")
    date = c[1].date_input("Invoice date", value=per.end, format="YYYY-MM-DD")
    approved_only = c[2].toggle("Approved entries only", value=True,
                                help="Bill only what a reviewer approved; otherwise every entry not rejected.")
    if st.button("Prepare LEDES 1998B file", type="primary"):
        st.session_state["export"] = (matter_id, review.export_invoice(analysis, decisions, matter_id, number, date,
                                                                       approved_only=approved_only))
    done = st.session_state.get("export")
    if done and done[0] == matter_id:
        _offer(done[1], firm.firm.currency)
    _letters(analysis, decisions, matter_id, done[1] if done and done[0] == matter_id else None)


def _offer(export: review.LedesExport, currency: str) -> None:
    st.success(f"Invoice ready: {export.entries} entries, {export.lines} lines, total "
               f"{common.money(export.total, currency)}. The validator and the LEDES checks found nothing to refuse.")
    if export.unapproved:
        st.warning(f"{export.unapproved} entries of this matter are not approved yet and are not on this invoice.")
    st.download_button("Download LEDES file", export.text.encode("utf-8"), file_name=export.filename,
                       mime="text/plain", type="primary")
    with st.expander("Preview"):
        st.code(export.text, language=None)


def _letters(analysis, decisions, matter_id: str, export) -> None:
    st.subheader("Letters")
    c = st.columns(2)
    kind = None
    if c[0].button("Draft the cover letter", disabled=export is None,
                   help="Prepare the LEDES invoice first; the cover letter describes it."):
        kind = "cover"
    if c[1].button("Draft a status report"):
        kind = "status"
    if kind:
        st.session_state["letter"] = (matter_id, review.write_letter(
            kind, analysis, decisions, matter_id, today=dt.date.today(), export=export, engine=common.engine()))
    done = st.session_state.get("letter")
    if done and done[0] == matter_id:
        letter = done[1]
        st.markdown(letter.markdown)
        d = st.columns(2)
        d[0].download_button("Download .md", letter.markdown.encode("utf-8"), file_name=f"{letter.filename}.md")
        d[1].download_button("Download .docx", letter.docx, file_name=f"{letter.filename}.docx",
                             mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


if __name__ == "__main__":  # st.navigation runs a page file as __main__
    common.guarded(render)()
