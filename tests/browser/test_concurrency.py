"""Twenty sessions against one running app, each with its own filters; one uploads a cohort.

Each session's caption is checked against a count made with independent SQL on
the bundled database. The server's resident memory is printed (run with -s to
see it) and must stay bounded.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from data.build import ensure_database
from tests.browser.conftest import ROOT, free_port, wait_healthy, wait_until_idle
from tests.browser.test_upload import FIXTURES, choose_file

pytestmark = pytest.mark.browser

# (page path, query string, SQL condition on patients giving the expected N)
SESSIONS = [
    ("", "", "true"),
    ("", "pazopanib=yes", "pazopanib"),
    ("response", "pazopanib=no", "pazopanib = false"),
    ("survival", "pazopanib=unknown", "pazopanib IS NULL"),
    ("survival", "study=nab_paclitaxel_sintilimab", "study_id = 'nab_paclitaxel_sintilimab'"),
    ("response", "study=nivolumab_pazopanib", "study_id = 'nivolumab_pazopanib'"),
    ("hazard-ratios", "histology_group=Leiomyosarcoma", "histology_group = 'Leiomyosarcoma'"),
    ("patients", "histology_group=Angiosarcoma", "histology_group = 'Angiosarcoma'"),
    ("", "response=PD", "best_response = 'PD'"),
    ("response", "response=CR&response=PR", "best_response IN ('CR', 'PR')"),
    ("adverse-events", "ecog=0", "ecog = 0"),
    ("survival", "ecog=1", "ecog = 1"),
    ("data-methods", "prior_lines=2", "prior_lines = 2"),
    ("", "evaluable_only=true", "evaluable"),
    ("patients", "response=NE", "best_response IS NULL"),
    ("hazard-ratios", "study=nab_paclitaxel_sintilimab&histology_group=Angiosarcoma&histology_group=Epithelioid%20sarcoma",
     "study_id = 'nab_paclitaxel_sintilimab' AND histology_group IN ('Angiosarcoma', 'Epithelioid sarcoma')"),
    ("response", "primary_site=Extremity", "primary_site_group = 'Extremity'"),
    ("survival", "histology=Synovial%20sarcoma", "histology = 'Synovial sarcoma'"),
    ("", "pazopanib=yes&response=SD", "pazopanib AND best_response = 'SD'"),
    ("adverse-events", "ae_grade3=yes", "worst_ae_grade >= 3"),
]
UPLOADER = 2  # this session uploads tests/fixtures/uploads/good_patients.csv (12 patients) meanwhile
UPLOADED_CAPTION = "Showing 12 of 12 patients"


def expected_caption(condition: str) -> str:
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        shown = con.execute(f"SELECT count(*) FROM patients WHERE {condition}").fetchone()[0]
        total = con.execute("SELECT count(*) FROM patients").fetchone()[0]
    return f"Showing {shown} of {total} patients"


def resident_memory_mb(pid: int) -> float:
    """VmRSS of the process and its children (Linux /proc)."""
    total_kb = 0
    for task in [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        status = Path(f"/proc/{task}/status").read_text()
        total_kb += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return total_kb / 1024


@pytest.fixture(scope="module")
def measured_app(tmp_path_factory):
    """Our own server (not the shared one), so its memory is this test's alone."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("concurrency") / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, 90)
        yield url, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


def test_twenty_sessions_each_see_their_own_numbers(browser, measured_app):
    url, pid = measured_app
    contexts, pages = [], []
    baseline_mb = None
    try:
        for index, (path, query, _) in enumerate(SESSIONS):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(120_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, sink=errors: sink.append(str(error)))
            contexts.append(context)
            pages.append((page, errors))
            if index == 0:
                page.goto(f"{url}/{path}")
                wait_until_idle(page, expected_caption("true"), timeout_ms=120_000)
                baseline_mb = resident_memory_mb(pid)
        # All remaining sessions start at once: the server runs them concurrently.
        for (page, _), (path, query, _) in list(zip(pages, SESSIONS))[1:]:
            page.goto(f"{url}/{path}?{query}" if query else f"{url}/{path}", wait_until="commit")
        uploader, _ = pages[UPLOADER]
        wait_until_idle(uploader, expected_caption(SESSIONS[UPLOADER][2]), timeout_ms=180_000)
        uploader.goto(f"{url}/upload")
        wait_until_idle(uploader, expected_caption("true"), timeout_ms=180_000)
        choose_file(uploader, "Patients (required)", FIXTURES / "good_patients.csv")
        uploader.get_by_text("No problem found", exact=False).first.wait_for(timeout=120_000)
        wait_until_idle(uploader, expected_caption("true"), timeout_ms=180_000)
        uploader.get_by_role("button", name=re.compile("Load this cohort")).click()
        wait_until_idle(uploader, UPLOADED_CAPTION, timeout_ms=180_000)
        for index, ((page, errors), (path, query, condition)) in enumerate(zip(pages, SESSIONS)):
            if index == UPLOADER:
                continue
            wait_until_idle(page, expected_caption(condition), timeout_ms=180_000)
            assert page.locator('[data-testid="stException"]').count() == 0, f"exception on /{path}?{query}"
            assert errors == [], f"browser errors on /{path}?{query}: {errors}"
        # Each session still holds its own state after the others ran.
        for index, ((page, _), (path, query, condition)) in enumerate(zip(pages, SESSIONS)):
            caption = page.locator('[data-testid="stSidebar"]').get_by_text("Showing ", exact=False).first
            expected = UPLOADED_CAPTION if index == UPLOADER else expected_caption(condition)
            assert caption.inner_text().strip() == expected
            # a reload starts a new session: bundled data again for everyone, uploader included
            if index in (UPLOADER, UPLOADER + 1):
                page.reload()
                wait_until_idle(page, expected_caption("true") if index == UPLOADER else expected, timeout_ms=180_000)
        peak_mb = resident_memory_mb(pid)
    finally:
        for context in contexts:
            context.close()
    print(f"\nserver memory: {baseline_mb:.0f} MB with 1 session, {peak_mb:.0f} MB with {len(SESSIONS)} sessions")
    assert peak_mb < 1500, f"server memory {peak_mb:.0f} MB with {len(SESSIONS)} sessions"
