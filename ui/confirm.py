"""Confirm matter: activities whose matter is ambiguous or unknown; one click assigns one."""

from __future__ import annotations

import streamlit as st

from assistant.review import assign_matter

from ui import common

PAGE_SIZE = 20


def render() -> None:
    analysis, _ = common.reviewed()
    firm = analysis.firm
    st.title("Confirm matter")
    queue = sorted(analysis.confirm, key=lambda c: (c.date, c.timekeeper_id, c.activity_id))
    if not queue:
        st.success("Every activity has a matter. Nothing to confirm.")
        return
    st.caption(f"{len(queue)} activities could not be matched to one matter with confidence. Pick the matter; "
               "the time then counts on it and, if no entry covers it, a draft entry is proposed.")
    pages = max(1, -(-len(queue) // PAGE_SIZE))
    page = st.number_input("Page", 1, pages, 1, key="confirm_page") if pages > 1 else 1
    open_matters = [m.matter_id for m in firm.matters if m.status == "open"]
    for item in queue[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]:
        with st.container(border=True):
            st.markdown(f"**{item.date:%a %d %b}** · {common.person(firm, item.timekeeper_id)} · "
                        f"{item.source} · {common.plain(item.title) or '(no title)'}")
            st.caption(f"{common.plain(item.reason)} · `{item.source_ref.replace('`', '')}`")
            row = st.container(horizontal=True, vertical_alignment="center")
            for matter_id in [c for c in item.candidates if firm.matter(c)]:
                if row.button(common.matter_label(firm, matter_id), key=f"as-{item.activity_id}-{matter_id}"):
                    _assign(analysis, item.activity_id, matter_id)
            row.selectbox("Another matter", [""] + open_matters, key=f"other-{item.activity_id}",
                          format_func=lambda m: common.matter_label(firm, m) if m else "Another matter…",
                          label_visibility="collapsed", width=380, on_change=_chosen, args=(item.activity_id,))
    pending = st.session_state.pop("confirm_pending", None)
    if pending:
        _assign(analysis, *pending)


def _chosen(activity_id: str) -> None:
    """A pick in the list is taken once (the list is reset), so a refused pick is not retried on every rerun."""
    key = f"other-{activity_id}"
    if st.session_state.get(key):
        st.session_state["confirm_pending"] = (activity_id, st.session_state[key])
    st.session_state[key] = ""


def _assign(analysis, activity_id: str, matter_id: str) -> None:
    assign_matter(common.store(), analysis, activity_id, matter_id, common.reviewer())
    common.flash("success", f"Assigned to {common.matter_label(analysis.firm, matter_id)}.")
    st.rerun()


if __name__ == "__main__":  # st.navigation runs a page file as __main__
    common.guarded(render)()
