"""What every page shares: the current firm and period, the analysis (built once per inputs), the review
store, the reviewer, flash messages, and the guard that turns errors into one sentence."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from assistant.errors import RefusedError, TenthsError
from assistant.models import Period
from assistant.settings import Settings, load_settings

log = logging.getLogger("tenths.app")

REPO = Path(__file__).resolve().parent.parent
PAGES: dict = {}
"""st.Page objects by url path, filled by app.py (for st.switch_page)."""
STAGES = {"calendar": "Calendars", "mail": "Email", "calls": "Call logs", "documents": "Documents",
          "matching": "Matching to matters", "drafts": "Drafting entries"}


# --------------------------------------------------------------------------- errors and messages


def guarded(render):
    """Run a page body; a TenthsError becomes one red sentence, anything else a generic message (and a log line)."""

    @functools.wraps(render)
    def page() -> None:
        show_flash()
        try:
            render()
        except RefusedError as e:
            st.error(_sentence(e))
            if e.reasons:
                st.markdown("\n".join(f"- {r}" for r in e.reasons[:50]))
        except TenthsError as e:
            st.error(_sentence(e))
        except Exception:  # noqa: BLE001 - the user never sees a traceback
            log.exception("page %s failed", render.__name__)
            st.error("Something went wrong on this page. The details were written to the app's log; "
                     "reload the page or try again.")

    return page


def _sentence(e: Exception) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    first = text.split(" ", 1)[0]
    if not any(c in first for c in "./:_"):  # never change the case of a file name or an id
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def flash(kind: str, message: str) -> None:
    """A message shown at the top of the next page render (after st.rerun)."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("flash", []):
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(message)


def reviewer() -> str:
    return " ".join(str(st.session_state.get("reviewer") or "").split())


# --------------------------------------------------------------------------- settings, store, engine


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    return load_settings()


def engine_choice() -> dict:
    return st.session_state.setdefault("engine", {"engine": settings().engine, "base_url": settings().openai_base_url or "",
                                                  "model": settings().model})


@st.cache_resource(show_spinner=False)
def _engine(name: str, base_url: str, model: str):
    from assistant.engines import get_engine

    base = settings()
    return get_engine(base.model_copy(update={"engine": name, "openai_base_url": base_url or None, "model": model}))


def engine():
    """None for the offline engine (the pipeline's default), else the configured one, built once."""
    choice = engine_choice()
    if choice["engine"] == "offline":
        return None
    return _engine(choice["engine"], choice["base_url"], choice["model"])


@st.cache_resource(show_spinner=False)
def _store(url: str):
    from assistant.store import ReviewStore

    return ReviewStore(url)


def store():
    """The review store of the current firm."""
    firm = base_analysis().firm
    return _store(settings().db_url).for_firm(firm.firm.law_firm_id, tz=firm.firm.timezone)


# --------------------------------------------------------------------------- firm folder and period


@st.cache_resource(show_spinner=False)
def _generated_demo() -> str | None:
    try:
        from assistant.demo import write_demo
    except ImportError:
        return None
    out = Path(tempfile.mkdtemp(prefix="tenths-demo-")) / "demo_firm"
    write_demo(out)
    return str(out)


def demo_dir() -> Path:
    """The firm the app opens when nothing is uploaded: TENTHS_DEMO_DIR, else the bundled demo_firm/."""
    configured = os.environ.get("TENTHS_DEMO_DIR")
    if configured:
        return Path(configured)
    bundled = REPO / "demo_firm"
    if (bundled / "firm.toml").is_file():
        return bundled
    generated = _generated_demo()
    if generated is None:
        raise TenthsError("the bundled demo firm is missing (demo_firm/); upload a firm folder on the "
                          "Upload & analyse page, or run `tenths demo demo_firm`")
    return Path(generated)


def firm_dir() -> Path:
    return Path(st.session_state.get("firm_dir") or demo_dir())


def firm_label() -> str:
    return st.session_state.get("firm_label") or "Demo firm"


@st.cache_resource(show_spinner=False, max_entries=8)
def _digest(path: str, _stamp: float) -> str:
    from assistant.uploads import folder_digest

    return folder_digest(path)


def digest(path: Path) -> str:
    stamp = max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)
    return _digest(str(path), stamp)


def period() -> Period:
    if "period" not in st.session_state:
        from assistant.uploads import guess_period

        st.session_state["period"] = guess_period(firm_dir(), dt.date.today())
    return st.session_state["period"]


def use_firm(root: str, label: str, workspace: str | None) -> None:
    """Switch to an uploaded firm folder (the previous upload's workspace is removed)."""
    old = st.session_state.get("workspace")
    if old and old != workspace:
        shutil.rmtree(old, ignore_errors=True)
    st.session_state.update(firm_dir=root, firm_label=label, workspace=workspace)
    st.session_state.pop("period", None)


def use_demo() -> None:
    old = st.session_state.pop("workspace", None)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    for key in ("firm_dir", "firm_label", "period"):
        st.session_state.pop(key, None)


# --------------------------------------------------------------------------- the analysis


@st.cache_resource(show_spinner=False)
def _registry() -> tuple[OrderedDict, threading.Lock]:
    """Analyses by inputs (folder hash, period, engine), shared by sessions; the last few are kept."""
    return OrderedDict(), threading.Lock()


def _remember(key, build):
    cache, lock = _registry()
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = build()
    with lock:
        cache[key] = value
        while len(cache) > 12:
            cache.popitem(last=False)
    return value


def _analysis_key() -> tuple:
    root, per, choice = firm_dir(), period(), engine_choice()
    return ("analysis", digest(root), per.start, per.end, choice["engine"], choice["model"], choice["base_url"])


def base_analysis():
    """The pipeline's analysis of the current firm and period, computed once per inputs, with progress."""
    return _remember(_analysis_key(), lambda: _analyse(firm_dir(), period()))


def _analyse(root: Path, per: Period):
    from assistant.pipeline import analyze

    ctx = get_script_run_ctx()
    with st.status(f"Analysing {plain(firm_label())} from {per.start:%d %b %Y} to {per.end:%d %b %Y}…",
                   expanded=True) as status:
        bars: dict[str, object] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if get_script_run_ctx() is not ctx:  # worker threads cannot draw
                return
            name = STAGES.get(stage, stage)
            if stage not in bars:
                bars[stage] = status.progress(0.0, text=name)
            share = done / total if total else 1.0
            bars[stage].progress(min(max(share, 0.0), 1.0), text=f"{name}: {done} of {total}")

        result = analyze(root, per, engine=engine(), progress=progress)
        status.update(label="Analysis complete", state="complete", expanded=False)
    return result


def reviewed():
    """(analysis after the reviewers' decisions, the decisions) — recomputed only when a decision changes."""
    from assistant.review import apply_decisions

    base = base_analysis()
    decisions = store().decisions()
    key = ("reviewed", _analysis_key(), _fingerprint(decisions))
    return _remember(key, lambda: apply_decisions(base, decisions)), decisions


def _fingerprint(decisions) -> int:
    return hash(tuple(sorted((k, d.version) for k, d in decisions.items())))


def derived(name: str, build, *args):
    """A figure derived from the reviewed analysis (pre-bill, per-matter figures…), built once per state."""
    analysis, decisions = reviewed()
    key = (name, _analysis_key(), _fingerprint(decisions), *args)
    return _remember(key, lambda: build(analysis, decisions, *args))


def clear_cache() -> None:
    cache, lock = _registry()
    with lock:
        cache.clear()


def matter_label(firm, matter_id: str) -> str:
    m = firm.matter(matter_id)
    return f"{matter_id} · {m.name}" if m else matter_id


def money(amount, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    return f"{symbol}{float(amount):,.2f}" if symbol else f"{float(amount):,.2f} {currency}"


def sidebar_status() -> None:
    """Which firm and period every page shows (no analysis is run here)."""
    try:
        per = period()
    except TenthsError as e:
        st.caption(_sentence(e))
        return
    st.caption(f"**{plain(firm_label())}** · {per.start:%d %b} – {per.end:%d %b %Y}")
    if st.session_state.get("firm_dir") and st.button("Back to the demo firm"):
        use_demo()
        st.rerun()


def person(firm, timekeeper_id: str) -> str:
    tk = firm.timekeeper(timekeeper_id)
    return tk.name if tk else timekeeper_id


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$"})


def plain(text: str) -> str:
    """Untrusted text (subjects, narratives) shown literally inside markdown."""
    return " ".join(str(text or "").split()).translate(_MARKDOWN)
