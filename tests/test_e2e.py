"""End to end in a real headless Chromium: `streamlit run app.py` on 127.0.0.1, driven by Playwright.

Open the app on the demo firm, see the gaps, approve entries as a named reviewer, reload and see the
approvals persisted, download a LEDES file. Screenshots of every page go to tests/artifacts/e2e/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts" / "e2e"
WAIT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_firm_shared):
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {**os.environ, "TENTHS_DB": f"sqlite:///{tmp / 'review.db'}", "TENTHS_ENGINE": "offline",
           "HOME": str(tmp), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if not (REPO / "demo_firm" / "firm.toml").is_file():
        env["TENTHS_DEMO_DIR"] = str(tiny_firm_shared)  # until the bundled demo firm is committed
    else:
        env.pop("TENTHS_DEMO_DIR", None)
    log = open(tmp / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none", "--global.developmentMode", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("streamlit did not start:\n" + (tmp / "streamlit.log").read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    yield url, tmp
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser_page(server, tmp_path_factory):
    """A fresh Chromium profile; on failure the last screen is saved as tests/artifacts/e2e/failure.png."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, accept_downloads=True,
            viewport={"width": 1440, "height": 1000},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        context.set_default_timeout(WAIT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        yield page
        context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let charts finish drawing; the screenshot is for people, not assertions
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def go(page, title: str, ready: str) -> None:
    """Open a page from the sidebar and wait until the text that ends its render is on screen."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_text(ready, exact=False).first.wait_for()
    wait_idle(page)


def wait_idle(page) -> None:
    """No element is marked stale (Streamlit marks the previous run's elements while a script runs)."""
    page.wait_for_function("() => document.querySelectorAll('[data-stale=\"true\"]').length === 0",
                           timeout=WAIT_MS)


def test_demo_gaps_approve_reload_export(server, browser_page):
    try:
        _journey(*server, browser_page)
    except BaseException:
        shot(browser_page, "failure")
        raise


def _journey(url, tmp, page) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(url)
    page.get_by_text("Gaps: worked, not entered").wait_for()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Unbilled time")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Capture rate")).to_contain_text("%")
    shot(page, "1-gaps")

    name = page.get_by_role("textbox", name="Your name (reviewer)")
    name.fill("Maria Ortiz")
    name.press("Enter")
    wait_idle(page)

    go(page, "Review", "Save edits")
    approved = page.get_by_test_id("stMetric").filter(has_text="Approved").get_by_test_id("stMetricValue")
    expect(approved).to_have_text(re.compile(r"^0 of \d+$"))
    shot(page, "2-review-before")
    page.get_by_role("button", name="Approve all clean entries").click()
    page.get_by_text("item(s) approved").wait_for()
    wait_idle(page)
    expect(approved).to_have_text(re.compile(r"^[1-9]\d* of \d+$"))
    approved_text = approved.inner_text()
    shot(page, "3-review-approved")

    page.reload()  # a new browser session on the same page: only the database remembers
    page.get_by_text("Save edits").wait_for()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Your name (reviewer)")).to_have_value("Maria Ortiz")
    expect(approved).to_have_text(approved_text)

    go(page, "Export", "Prepare LEDES 1998B file")
    page.get_by_role("button", name="Prepare LEDES 1998B file").click()
    page.get_by_text("Invoice ready").wait_for()
    wait_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download LEDES file").click()
    saved = tmp / "invoice.txt"
    download.value.save_as(saved)
    assert saved.read_text().startswith("LEDES1998B[]")
    shot(page, "4-export")

    for title, ready, shot_name in [("Upload & analyse", "What was read", "5-upload"),
                                    ("Confirm matter", "Confirm matter", "6-confirm"),
                                    ("Settings", "Client billing guidelines", "7-settings")]:
        go(page, title, ready)
        shot(page, shot_name)
    assert not page.get_by_test_id("stException").count()
    assert not errors, errors
