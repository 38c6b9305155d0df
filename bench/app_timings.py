"""App-level figures for bench/run.py: cold start, and filter changes in headless Chromium.

Needs Debian's chromium (``make test`` installs it); without it the section says so.

What is timed (wall clock, seconds):

* cold start: ``streamlit run app.py`` until ``/_stcore/health`` answers;
* open link: ``page.goto`` of a page on a simulated source until the sidebar
  caption shows the count and the script has finished (new session);
* filter change, in the session the link opened: from the browser's own
  ``pointerdown`` on the control (recorded in the page, so Playwright's
  actionability checks are not counted) to the later of "the script run has
  finished" and "the last chart changed its drawing" (a ``MutationObserver``
  on every ``stVegaLiteChart``; the change counts as done once no chart has
  changed for :data:`QUIET_MS`). Two changes per repeat: choosing
  "Pazopanib co-treatment = yes", then pressing "Reset". The note splits the
  median into input-to-script-start, the script run, and drawing after it.
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
#: A change is finished once no chart has been redrawn for this long (ms) after the script run ended.
QUIET_MS = 600
IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]');
}"""
#: Record the next pointerdown, the script-state transitions and the last chart mutation (performance.now()).
ARM_JS = """() => {
    const probe = window.__filterChange = {down: null, states: [], lastChart: null};
    const app = document.querySelector('[data-testid="stApp"]');
    document.addEventListener('pointerdown', () => { probe.down = performance.now(); }, {capture: true, once: true});
    new MutationObserver(() => probe.states.push([performance.now(), app.getAttribute('data-test-script-state')]))
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    new MutationObserver((records) => {
        for (const record of records) {
            const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
            if (node && node.closest('[data-testid="stVegaLiteChart"]')) { probe.lastChart = performance.now(); return; }
        }
    }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
SETTLED_JS = """(quietMs) => {
    const probe = window.__filterChange;
    const app = document.querySelector('[data-testid="stApp"]');
    if (!probe || probe.down === null || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const ran = probe.states.some(([, state]) => state === 'running');
    const last = Math.max(probe.lastChart || 0, ...probe.states.map(([t]) => t));
    return ran && performance.now() - last > quietMs;
}"""
RESULT_JS = """() => {
    const probe = window.__filterChange;
    const running = probe.states.filter(([, s]) => s === 'running').map(([t]) => t);
    const finished = probe.states.filter(([, s]) => s === 'notRunning').map(([t]) => t);
    const scriptEnd = Math.max(...finished);
    const end = Math.max(scriptEnd, probe.lastChart || 0);
    return {total: end - probe.down, toStart: Math.min(...running) - probe.down,
            script: scriptEnd - Math.min(...running), drawing: end - scriptEnd, runs: running.length};
}"""


def _start_server(port: int, env: dict | None = None) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env=None if env is None else {**os.environ, **env})
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


def _open_pazopanib_options(page):
    """Open the Pazopanib multiselect and return its 'yes (n)' option (the list can close on a re-render)."""
    combobox = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Pazopanib co-treatment")
    option = page.get_by_role("option", name=re.compile(r"^yes \("))
    for _ in range(5):
        combobox.click()
        try:
            option.wait_for(timeout=3_000)
            return option
        except Exception:  # noqa: BLE001 - the list did not open; close whatever is open and retry
            page.keyboard.press("Escape")
    raise RuntimeError("the Pazopanib option list did not open")


def _timed_change(page, act, url_check: str) -> dict:
    """Arm the probe, perform ``act`` (a click), wait until settled; the phases in seconds."""
    page.evaluate(ARM_JS)
    act()
    page.wait_for_function(url_check, timeout=300_000)
    page.wait_for_function(SETTLED_JS, arg=QUIET_MS, timeout=300_000)
    return {key: value if key == "runs" else value / 1000 for key, value in page.evaluate(RESULT_JS).items()}


def filter_change_timings(page, base_url: str, slug: str, source: str, caption_pattern: str,
                          repeats: int) -> tuple[list[float], dict[str, list[dict]]]:
    """Open ``slug`` on ``source``, then time ``repeats`` x (choose pazopanib = yes, press Reset).

    Returns
    -------
    (open_seconds, changes)
        Link-open times, and per action ("pazopanib = yes", "Reset") the
        phases of each change (``total``, ``toStart``, ``script``, ``drawing``).
    """
    started = time.perf_counter()
    page.goto(f"{base_url}/{slug}?source={source}")
    _wait_caption(page, caption_pattern)
    opened = [time.perf_counter() - started]
    changes: dict[str, list[dict]] = {"pazopanib = yes": [], "Reset": []}
    sidebar = page.locator('[data-testid="stSidebar"]')
    for _ in range(repeats):
        option = _open_pazopanib_options(page)
        changes["pazopanib = yes"].append(_timed_change(
            page, option.click, "() => window.location.search.includes('pazopanib=yes')"))
        page.keyboard.press("Escape")
        changes["Reset"].append(_timed_change(
            page, sidebar.get_by_role("button", name="Reset").click,
            "() => !window.location.search.includes('pazopanib')"))
    return opened, changes


def _change_row(n: int, label: str, samples: list[dict]) -> Row:
    totals = [s["total"] for s in samples]
    phase = {key: statistics.median(s[key] for s in samples) for key in ("toStart", "script", "drawing")}
    note = (f"median split: input to script start {phase['toStart']:.2f}, script {phase['script']:.2f}, "
            f"charts drawn after it {phase['drawing']:.2f}")
    return Row("app", n, label, statistics.median(totals), min(totals), note=note,
               extra={"samples": samples})


def section_rows(args) -> list[Row]:
    """Cold start, link open and in-session filter-change times per simulated size."""
    if not Path(CHROMIUM).exists():
        return [Row("app", None, "app timings", note="skipped: /usr/bin/chromium not installed (make test installs it)")]
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import free_port

    sizes = [n for n in args.sizes if n in SOURCES] or [1_000]
    repeats = 2 if args.quick else 5
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process, start_seconds = _start_server(port)
    rows = [Row("app", None, "cold start: process to healthy server", ours_median=start_seconds, ours_min=start_seconds)]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            started = time.perf_counter()
            page.goto(f"{base_url}/")
            _wait_caption(page, r"^Showing 56 of 56 patients$")
            first = time.perf_counter() - started
            rows.append(Row("app", 56, "first page fully drawn (bundled data, cold caches)", first, first))
            for n in sizes:
                caption = rf"^Showing ({n:,}|{n}) of ({n:,}|{n}) patients$"
                for slug in getattr(args, "app_pages", PAGES):
                    name = slug or "overview"
                    opened, changes = filter_change_timings(page, base_url, slug, SOURCES[n], caption, repeats)
                    rows.append(Row("app", n, f"{name}: open link (new session)", opened[0], opened[0]))
                    for action, samples in changes.items():
                        rows.append(_change_row(n, f"{name}: filter change ({action}) to last chart drawn", samples))
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    return rows
