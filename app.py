"""Tenths in the browser: `streamlit run app.py`. The router and the sidebar; the pages live in ui/."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

from ui import common  # noqa: E402

st.set_page_config(page_title="Tenths", page_icon=":material/timer:", layout="wide")
st.set_option("client.showErrorDetails", "none")
st.set_option("client.toolbarMode", "minimal")

common.PAGES.update({
    "upload": st.Page("ui/upload.py", title="Upload & analyse", icon=":material/upload_file:", url_path="upload"),
    "gaps": st.Page("ui/gaps.py", title="Gaps", icon=":material/bar_chart:", url_path="gaps", default=True),
    "confirm": st.Page("ui/confirm.py", title="Confirm matter", icon=":material/help:", url_path="confirm"),
    "review": st.Page("ui/review.py", title="Review", icon=":material/fact_check:", url_path="review"),
    "export": st.Page("ui/export.py", title="Export", icon=":material/description:", url_path="export"),
    "settings": st.Page("ui/settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
})
page = st.navigation(list(common.PAGES.values()))

with st.sidebar:
    if "reviewer" not in st.session_state:  # a reload keeps the name (it rides in the URL)
        st.session_state["reviewer"] = st.query_params.get("reviewer", "")
    st.text_input("Your name (reviewer)", key="reviewer", placeholder="e.g. Maria Ortiz",
                  help="Every approval, edit and rejection is recorded under this name.")
    if common.reviewer() != st.query_params.get("reviewer", ""):
        st.query_params["reviewer"] = common.reviewer()
    common.sidebar_status()

page.run()
