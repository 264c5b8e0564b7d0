"""Settings: which engine writes narratives and letters, where decisions are kept, each client's billing rules."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import common


def render() -> None:
    st.title("Settings")
    _engine()
    _storage()
    _guidelines()


def _engine() -> None:
    st.subheader("Engine")
    choice = common.engine_choice()
    with st.form("engine"):
        name = st.radio("Narratives and letters are written by", ["offline", "openai"],
                        index=1 if choice["engine"] == "openai" else 0, horizontal=True,
                        format_func={"offline": "Offline templates (no data leaves this machine)",
                                     "openai": "An OpenAI-compatible server"}.get)
        base_url = st.text_input("Server base URL", value=choice["base_url"], placeholder="http://127.0.0.1:8080/v1")
        model = st.text_input("Model", value=choice["model"])
        st.caption("The API key is read from OPENAI_API_KEY when the app starts; it is never shown here. "
                   "Every answer of a model passes the same validator as the offline drafts.")
        if st.form_submit_button("Save engine"):
            st.session_state["engine"] = {"engine": name, "base_url": base_url.strip(), "model": model.strip()}
            common.flash("success", f"Engine set to {name}. The next analysis uses it.")
            st.rerun()


def _storage() -> None:
    st.subheader("Review decisions")
    url = common.settings().db_url
    shown = url.split("@")[-1] if "@" in url else url
    st.markdown(f"Approvals, edits and rejections are kept in `{shown}` (set `TENTHS_DB` to change it), with an "
                "audit trail of who changed what and when.")
    trail = common.store().history()
    tz = common.base_analysis().firm.firm.tz
    if trail:
        st.dataframe(pd.DataFrame([{"When": f"{a.at.astimezone(tz):%Y-%m-%d %H:%M %Z}", "Who": a.who, "Action": a.action, "Item": a.item_id,
                                    "Reason": a.reason} for a in trail[-200:]][::-1]),
                     hide_index=True, width="stretch", height=260)


def _guidelines() -> None:
    from assistant.guidelines import load_client_guidelines

    st.subheader("Client billing guidelines")
    firm = common.base_analysis().firm
    by_client = load_client_guidelines(firm)
    if not by_client:
        st.info("No client of this firm has billing guidelines; the standard rules apply.")
    for client in firm.clients:
        g = by_client.get(client.client_id)
        if g is None:
            continue
        with st.expander(f"{client.name} · guidelines/{g.file}"):
            values = g.model_dump(exclude={"file", "name", "severity"}, exclude_none=True)
            rows = [{"Rule": k.replace("_", " "), "Value": ", ".join(map(str, v)) if isinstance(v, list) else str(v)}
                    for k, v in values.items() if v not in ([], False)]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            if g.severity:
                st.caption("Severity overrides: " + ", ".join(f"{k} → {v}" for k, v in g.severity.items()))


if __name__ == "__main__":  # st.navigation runs a page file as __main__
    common.guarded(render)()
