"""App-level figures for bench/run.py: cold start, and a filter change in headless Chromium.

Needs Debian's chromium (``make test`` installs it); without it the section says so.
Times are wall-clock seconds from the user's action until Streamlit reports the run
finished and the sidebar caption shows the new count (every chart drawn by then).
"""
from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.run import Row

SECTION_TITLE = "App (streamlit run app.py, headless Chromium), seconds"
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SOURCES = {1_000: "simulated-1k", 10_000: "simulated-10k", 100_000: "simulated-100k"}
PAGES = ("", "survival", "response", "hazard-ratios")
IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def _start_server(port: int) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return process, time.perf_counter() - started
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("streamlit did not start")


def _wait_caption(page, pattern: str, timeout_ms: int = 300_000) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(pattern)).first.wait_for(timeout=timeout_ms)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def section_rows(args) -> list[Row]:
    """Cold start, first render, and filter-change times per simulated size."""
    if not Path(CHROMIUM).exists():
        return [Row("app", None, "app timings", note="skipped: /usr/bin/chromium not installed (make test installs it)")]
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import free_port

    sizes = [n for n in args.sizes if n in SOURCES] or [1_000]
    repeats = 1 if args.quick else 3
    port = free_port()
    process, start_seconds = _start_server(port)
    rows = [Row("app", None, "cold start: process to healthy server", ours_median=start_seconds, ours_min=start_seconds)]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            _wait_caption(page, r"^Showing 56 of 56 patients$")
            first = time.perf_counter() - started
            rows.append(Row("app", 56, "first page fully drawn (bundled data, cold caches)", first, first))
            for n in sizes:
                for slug in PAGES:
                    loads, changes = [], []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        page.goto(f"http://127.0.0.1:{port}/{slug}?source={SOURCES[n]}")
                        _wait_caption(page, rf"^Showing {n:,} of {n:,} patients$|^Showing {n} of {n} patients$")
                        loads.append(time.perf_counter() - started)
                        # A filter change, measured as its upper bound: the filtered link opened
                        # afresh (new session, whole script run, every chart drawn).
                        started = time.perf_counter()
                        page.goto(f"http://127.0.0.1:{port}/{slug}?source={SOURCES[n]}&pazopanib=yes")
                        _wait_caption(page, r"^Showing [\d,]+ of [\d,]+ patients$")
                        changes.append(time.perf_counter() - started)
                    rows.append(Row("app", n, f"{slug or 'overview'}: open link (source {SOURCES[n]})",
                                    statistics.median(loads), min(loads)))
                    rows.append(Row("app", n, f"{slug or 'overview'}: filtered link to re-rendered",
                                    statistics.median(changes), min(changes),
                                    note="pazopanib = yes; upper bound of a filter change (includes a new session)"))
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    return rows
