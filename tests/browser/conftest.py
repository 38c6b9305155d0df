"""Fixtures for browser tests: a real `streamlit run app.py` server and Chromium via Playwright."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 90


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll /_stcore/health until it answers 'ok' (or fail with the server log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"streamlit did not become healthy within {timeout} s")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """Start the app on a free port for the test session; stop it afterwards."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    log = open(log_path, "w")
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, STARTUP_TIMEOUT_S)
        yield url
    except Exception:
        log.flush()
        print(log_path.read_text()[-4000:])
        raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group we started (start_new_session)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (own session, downloads allowed) per test."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(45_000)
    tab = context.new_page()
    yield tab
    context.close()


IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && document.querySelector('[data-testid="stMain"] h1') !== null;
}"""


def wait_until_idle(page, caption: str | None = None, timeout_ms: int = 45_000) -> None:
    """Wait for Streamlit to finish running: not running, caption shown, title drawn.

    The idle state must hold twice, 500 ms apart, so that a rerun that
    starts right after a run (URL sync, page guard) is waited for too.
    """
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=timeout_ms)
    for _ in range(2):
        page.wait_for_function(IDLE_JS, timeout=timeout_ms)
        if caption is not None:
            page.locator('[data-testid="stSidebar"]').get_by_text(caption, exact=True).wait_for(timeout=timeout_ms)
        else:
            page.locator('[data-testid="stSidebar"]').get_by_text("Showing ", exact=False).first.wait_for(
                timeout=timeout_ms)
        page.wait_for_timeout(500)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    """Full-page screenshot into tests/artifacts/screenshots/.

    Streamlit scrolls inside its main container, not the document, so the
    viewport is stretched to the content height for the capture.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    original = page.viewport_size
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]')
                || document.querySelector('[data-testid="stAppViewContainer"]');
            const sidebar = document.querySelector('[data-testid="stSidebarContent"]');
            return Math.max(main ? main.scrollHeight : 0, sidebar ? sidebar.scrollHeight : 0,
                            document.body.scrollHeight);
        }"""
    )
    page.set_viewport_size({"width": original["width"], "height": min(int(height) + 40, 16000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(original)
    return path
