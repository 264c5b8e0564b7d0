"""Gaps: what was worked but not entered — per timekeeper, per matter, per day — and the evidence behind each gap."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from assistant.review import daily_figures, gap_detail, matter_figures

from ui import common

KINDS = ["Worked (evidence)", "Entered"]


def render() -> None:
    analysis, _ = common.reviewed()
    s, cur = analysis.summary, analysis.firm.firm.currency
    st.title("Unbilled time")
    per = analysis.period
    st.caption(f"{common.plain(analysis.firm.firm.name)} · {per.start:%d %b} – {per.end:%d %b %Y} · "
               f"{common.plain(common.firm_label())}")
    c = st.columns(4)
    c[0].metric("Capture rate", f"{s['capture_rate']:.0%}", help="Entered hours ÷ hours the evidence shows were worked")
    c[1].metric("Hours not entered", f"{s['gap_hours']:.1f}")
    c[2].metric("Recoverable", common.money(s["recoverable_amount"], cur), help="Missing hours × rate, hourly matters")
    c[3].metric("Activities to confirm", s.get("unassigned_activities", 0))

    tab_tk, tab_matter, tab_day = st.tabs(["By timekeeper", "By matter", "By day"])
    with tab_tk:
        rows = [{"Timekeeper": t["name"], "Worked h": t["worked_hours"], "Entered h": t["entered_hours"],
                 "Missing h": t["gap_hours"], "Capture rate": t["capture_rate"], "Recoverable": t["recoverable_amount"]}
                for t in s["timekeepers"].values()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=_formats(cur))
    with tab_matter:
        rows = [{"Matter": f.matter_id, "Name": f.matter, "Client": f.client, "Billing": f.billing_type,
                 "Worked h": float(f.worked_hours), "Entered h": float(f.entered_hours), "Missing h": float(f.gap_hours),
                 "Capture rate": f.capture_rate, "Recoverable": float(f.recoverable_amount)}
                for f in common.derived("matter_figures", lambda a, d: matter_figures(a))]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=_formats(cur))
    with tab_day:
        _chart(analysis)
    _gap_table(analysis, cur)


def _formats(cur: str) -> dict:
    return {"Capture rate": st.column_config.ProgressColumn("Capture rate", format="percent", min_value=0, max_value=1),
            "Recoverable": st.column_config.NumberColumn("Recoverable", format="dollar" if cur == "USD" else "%.2f"),
            **{k: st.column_config.NumberColumn(k, format="%.1f") for k in ("Worked h", "Entered h", "Missing h")}}


def _chart(analysis) -> None:
    days = pd.DataFrame(common.derived("daily_figures", lambda a, d: daily_figures(a)))
    if days.empty:
        st.info("No worked or entered time in this period.")
        return
    names = ["Everyone", *sorted(days["timekeeper"].unique())]
    who = st.selectbox("Timekeeper", names, key="gaps_chart_tk")
    if who != "Everyone":
        days = days[days["timekeeper"] == who]
    per_day = days.groupby("date", as_index=False)[["worked_hours", "entered_hours"]].sum()
    long = per_day.melt("date", var_name="kind", value_name="hours")
    long["kind"] = long["kind"].map({"worked_hours": "Worked (evidence)", "entered_hours": "Entered"})
    chart = alt.Chart(long).mark_bar().encode(
        x=alt.X("yearmonthdate(date):O", title="Day"), xOffset=alt.XOffset("kind:N", sort=KINDS),
        y=alt.Y("hours:Q", title="Hours"),
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=KINDS, range=["#9ecae9", "#1f4e79"])),
        tooltip=[alt.Tooltip("date:T", title="Day"), "kind:N", alt.Tooltip("hours:Q", format=".1f")],
    ).properties(height=320)
    st.altair_chart(chart, width="stretch")


def _gap_table(analysis, cur: str) -> None:
    st.subheader("Gaps: worked, not entered")
    if not analysis.gaps:
        st.success("Every worked hour with a known matter has an entry.")
        return
    firm = analysis.firm
    gaps = sorted(analysis.gaps, key=lambda g: (-g.amount, -g.hours, g.date))
    table = pd.DataFrame([{"Date": g.date, "Timekeeper": common.person(firm, g.timekeeper_id),
                           "Matter": common.matter_label(firm, g.matter_id), "Missing h": float(g.hours),
                           "Recoverable": float(g.amount), "Evidence": len(g.activity_ids)} for g in gaps])
    st.caption("Select a row to see the evidence and the draft entry Tenths proposes.")
    picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key="gap_table", column_config=_formats(cur))
    rows = picked.selection.rows if picked else []
    if rows:
        _drill_down(analysis, gaps[rows[0]])


def _drill_down(analysis, gap) -> None:
    activities, drafts = gap_detail(analysis, gap)
    st.markdown(f"**Evidence for {gap.date:%a %d %b}, {common.matter_label(analysis.firm, gap.matter_id)}**")
    for a in activities:
        local = a.start.astimezone(analysis.firm.tz_for(a.timekeeper_id))
        with st.container(border=True):
            st.markdown(f"**{a.kind.replace('_', ' ').capitalize()}** · {local:%H:%M} · {a.minutes} min · "
                        f"{common.plain(a.title) or '(no title)'}")
            if a.excerpt:
                st.text(a.excerpt[:300])
            st.caption(f"`{a.source_ref.replace('`', '')}` · matched: {common.plain(a.match_reason)}")
    for d in drafts:
        st.info(f"Draft entry: **{d.hours} h** — {common.plain(d.narrative)}  \nCodes {d.task_code or '–'} / {d.activity_code or '–'}"
                f" · confidence {d.confidence:.0%}")
    if drafts:
        if st.button("Review this matter", key="gap_to_review"):
            st.session_state["review_matter"] = gap.matter_id
            st.switch_page(common.PAGES["review"])


if __name__ == "__main__":  # st.navigation runs a page file as __main__
    common.guarded(render)()
