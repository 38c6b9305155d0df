"""Issue 19 in a real Chromium: uploaded Markdown is not fetched; links survive cold and restarted servers.

Run: ``.venv/bin/python -m pytest tests/browser/test_hosted_safely_browser.py -q``. The cold-start and
restart cases start their own ``streamlit run`` (a fresh server has built nothing; a restart is a
kill and a new server on the same port). Screenshots: ``hosted-*.png`` in tests/artifacts/screenshots/.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import ROOT, free_port, screenshot, wait_healthy, wait_until_idle

pytestmark = pytest.mark.browser
IMAGE_HOST = "127.0.0.1:9"
IMAGE_HISTOLOGY = f"![x](http://{IMAGE_HOST}/x.png)"
BUNDLED_CAPTION = "Showing 56 of 56 patients"


def sidebar_caption(page) -> str:
    return page.locator('[data-testid="stSidebar"]').get_by_text(
        re.compile(r"^Showing [\d,]+ of [\d,]+ patients$")).inner_text()


def nav(page, title: str):
    return page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first


def upload_cohort(page, url: str, csv_path: Path, n: int) -> None:
    """Load ``csv_path`` on the Upload page, as a user would."""
    page.goto(f"{url}/upload")
    wait_until_idle(page, BUNDLED_CAPTION)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Patients (required)")
    uploader.locator('input[type="file"]').set_input_files(str(csv_path))
    page.get_by_text("No problem found", exact=False).first.wait_for()
    wait_until_idle(page, BUNDLED_CAPTION)
    page.get_by_role("button", name=re.compile("Load this cohort")).click()
    wait_until_idle(page, f"Showing {n} of {n} patients")


def hostile_csv(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.csv"
    rows = ["patient_id,histology,best_response,pfs_months,pfs_event"]
    for i in range(8):
        histology = IMAGE_HISTOLOGY if i % 2 == 0 else "<img src=x onerror=alert(1)>"
        rows.append(f'H{i},"{histology}",{["PR", "SD", "PD"][i % 3]},{2 + i},{int(i % 2 == 0)}')
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_markdown_image_histology_is_text_and_never_fetched(page, app_url, tmp_path):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    upload_cohort(page, app_url, hostile_csv(tmp_path), 8)
    nav(page, "Subtype across studies").click()
    wait_until_idle(page, "Showing 8 of 8 patients")
    # pick the image histology, then add its table to the deck (the toast repeats the title)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Histology or histology group").click()
    page.get_by_role("option").filter(has_text=IMAGE_HISTOLOGY).first.click()
    wait_until_idle(page, "Showing 8 of 8 patients")
    heading = page.locator('[data-testid="stMain"] h3').first.inner_text().replace("\u200b", "")
    assert heading.startswith(IMAGE_HISTOLOGY), heading  # shown as the characters of the file (shortcode colons
    # carry an invisible zero-width space)
    page.get_by_role("button", name=re.compile("Add to deck")).first.click()
    page.locator('[data-testid="stToast"]').first.wait_for()
    assert IMAGE_HISTOLOGY in page.locator('[data-testid="stToast"]').first.inner_text().replace("\u200b", "")
    wait_until_idle(page, "Showing 8 of 8 patients")
    screenshot(page, "hosted-subtype-markdown-histology")
    assert page.locator('[data-testid="stMain"] img[src*="127.0.0.1:9"], [data-testid="stToast"] img').count() == 0
    assert not [url for url in requests if IMAGE_HOST in url], "the browser fetched the URL chosen by the file"
    assert not dialogs


# --------------------------------------------------------------------------- #
# Servers of our own: cold, and restarted
# --------------------------------------------------------------------------- #
class Server:
    """``streamlit run app.py`` on a fixed port, stoppable and restartable (its own process group)."""

    def __init__(self, port: int, log: Path):
        self.port, self.log_path, self.process = port, log, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> "Server":
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_healthy(self.url, self.process, 90)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group this object started
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.process is not None:
            self.log.close()
        self.process = None


@pytest.fixture
def own_server(tmp_path):
    server = Server(free_port(), tmp_path / "server.log").start()
    yield server
    server.stop()


def test_a_link_opened_on_a_cold_server_keeps_its_filters_through_an_early_click(browser, own_server):
    """The 100,000-patient simulated cohort is not built yet; the user clicks a page while it is."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(120_000)
    try:
        page = context.new_page()
        page.goto(f"{own_server.url}/?source=simulated-100k&pazopanib=yes")
        nav(page, "Survival").wait_for()
        assert page.locator('[data-testid="stSidebar"]').get_by_text("Showing ", exact=False).count() == 0
        nav(page, "Survival").click()  # before the first run could finish
        wait_until_idle(page, timeout_ms=120_000)
        shown = sidebar_caption(page)
        assert shown.endswith("of 100,000 patients") and not shown.startswith("Showing 100,000"), shown
        assert parse_qs(urlparse(page.url).query).get("pazopanib") == ["yes"]
        assert page.locator("h1").first.inner_text().strip() == "Survival"
    finally:
        context.close()


def test_after_a_restart_the_lost_upload_is_stated(browser, own_server, tmp_path):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(90_000)
    try:
        page = context.new_page()
        upload_cohort(page, own_server.url, hostile_csv(tmp_path), 8)
        nav(page, "Response").click()
        wait_until_idle(page, "Showing 8 of 8 patients")
        own_server.stop()
        own_server.start()  # same port: the open tab reconnects to a server without its session
        page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]').wait_for(timeout=90_000)
        nav(page, "Survival").click()
        wait_until_idle(page, BUNDLED_CAPTION, timeout_ms=90_000)
        alerts = page.locator('[data-testid="stAlert"]')
        text = "\n".join(alerts.nth(i).inner_text() for i in range(alerts.count()))
        assert ("not on this server session" in text or "opened before the server restarted" in text), text
        assert "Upload a cohort" in text
        screenshot(page, "hosted-restart-notice")
    finally:
        context.close()


def test_a_shared_uploaded_link_says_to_upload_again(page, app_url):
    page.goto(f"{app_url}/survival?source=uploaded&pazopanib=yes")
    wait_until_idle(page)
    notice = page.locator('[data-testid="stAlert"]').filter(has_text="not on this server session")
    assert notice.count() == 1 and "Upload the file again" in notice.inner_text()
    assert page.get_by_role("link", name=re.compile("Upload a cohort")).count() >= 1
    assert parse_qs(urlparse(page.url).query).get("pazopanib") == ["yes"]
    screenshot(page, "hosted-uploaded-link-notice")
