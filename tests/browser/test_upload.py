"""Uploads and data sources in a real Chromium: one session's upload is invisible to another.

Run: ``.venv/bin/python -m pytest tests/browser/test_upload.py -q``. Screenshots of the
upload page (before, with a validation error, after loading) and of the overview of the
100,000-patient simulated registry go to tests/artifacts/screenshots/.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import screenshot, wait_until_idle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "uploads"
BUNDLED_CAPTION = "Showing 56 of 56 patients"
PAGES = [("", "Overview"), ("response", "Response"), ("survival", "Survival"), ("hazard-ratios", "Hazard ratios"),
         ("adverse-events", "Adverse events"), ("patients", "Patients"), ("data-methods", "Data & methods")]


def sidebar_caption(page) -> str:
    return page.locator('[data-testid="stSidebar"]').get_by_text(
        re.compile(r"^Showing [\d,]+ of [\d,]+ patients$")).inner_text()


def choose_file(page, label: str, path: Path) -> None:
    """Put a file into the uploader with this label, as a user picking it would."""
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    uploader.locator('input[type="file"]').set_input_files(str(path))


def open_upload_page(page, app_url: str) -> None:
    page.goto(f"{app_url}/upload")
    wait_until_idle(page, BUNDLED_CAPTION)
    assert page.locator("h1").first.inner_text().strip() == "Upload a cohort"


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_an_upload_is_seen_by_its_session_only(browser, app_url):
    first = browser.new_context(viewport={"width": 1440, "height": 1000})
    second = browser.new_context(viewport={"width": 1440, "height": 1000})
    first.set_default_timeout(60_000)
    second.set_default_timeout(60_000)
    try:
        mine, theirs = first.new_page(), second.new_page()
        open_upload_page(mine, app_url)
        screenshot(mine, "upload-1-before")
        # a file with a problem: its message names file, row and column; nothing is loaded
        choose_file(mine, "Patients (required)", FIXTURES / "negative_times.csv")
        mine.get_by_text("nothing was loaded", exact=False).first.wait_for()
        wait_until_idle(mine, BUNDLED_CAPTION)
        body = mine.inner_text('[data-testid="stMain"]')
        assert "negative_times.csv" in body and "is negative" in body
        no_exception(mine)
        screenshot(mine, "upload-2-validation-error")

        # the good file: recognised values are shown, then loaded on request
        choose_file(mine, "Patients (required)", FIXTURES / "good_patients.csv")
        choose_file(mine, "Adverse events (optional)", FIXTURES / "good_adverse_events.csv")
        choose_file(mine, "Tumour assessments (optional)", FIXTURES / "good_assessments.csv")
        mine.get_by_text("No problem found", exact=False).first.wait_for()
        wait_until_idle(mine, BUNDLED_CAPTION)
        mine.get_by_role("button", name=re.compile("Load this cohort")).click()
        wait_until_idle(mine, "Showing 12 of 12 patients")
        mine.wait_for_function("() => window.location.search.includes('source=uploaded')")
        assert mine.get_by_text("Loaded:", exact=False).count() >= 1
        no_exception(mine)
        screenshot(mine, "upload-3-after")

        # every page of the uploading session shows the upload
        mine.locator('[data-testid="stSidebarNav"] a').filter(has_text="Overview").first.click()
        wait_until_idle(mine, "Showing 12 of 12 patients")
        assert "Your uploaded cohort" in mine.inner_text('[data-testid="stMain"]')
        metrics = mine.locator('[data-testid="stMetric"]')
        assert any("12" in metrics.nth(i).inner_text() for i in range(metrics.count()))

        # another session (another browser context) sees the published cohorts only ...
        theirs.goto(app_url)
        wait_until_idle(theirs, BUNDLED_CAPTION)
        assert sidebar_caption(theirs) == BUNDLED_CAPTION
        assert "good patients" not in theirs.inner_text("body")
        # ... even with a link that asks for the upload
        theirs.goto(f"{app_url}/?source=uploaded")
        wait_until_idle(theirs, BUNDLED_CAPTION)
        assert sidebar_caption(theirs) == BUNDLED_CAPTION
        notice = theirs.locator('[data-testid="stAlert"]').filter(has_text="not on this server session")
        assert notice.count() == 1 and "Upload the file again" in notice.inner_text()
        assert "INST-0" not in theirs.inner_text("body")

        # the uploading session still has its cohort
        mine.reload()
        wait_until_idle(mine)
        assert sidebar_caption(mine) in ("Showing 12 of 12 patients", BUNDLED_CAPTION)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("slug, title", PAGES)
def test_simulated_source_is_labelled_and_works_on_every_page(page, app_url, slug, title):
    page.goto(f"{app_url}/{slug}?source=simulated-10k")
    wait_until_idle(page, "Showing 10,000 of 10,000 patients", timeout_ms=180_000)
    assert page.locator("h1").first.inner_text().strip() == title
    no_exception(page)
    main = page.inner_text('[data-testid="stMain"]')
    assert "Simulated data — not real patients" in main
    sidebar = page.inner_text('[data-testid="stSidebar"]')
    assert "Simulated — not real patients" in sidebar
    assert parse_qs(urlparse(page.url).query).get("source") == ["simulated-10k"]


def test_overview_of_the_100k_simulated_registry(page, app_url):
    page.goto(f"{app_url}/?source=simulated-100k")
    wait_until_idle(page, "Showing 100,000 of 100,000 patients", timeout_ms=240_000)
    no_exception(page)
    page.wait_for_timeout(1000)
    screenshot(page, "simulated-100k-overview")
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Survival").first.click()
    wait_until_idle(page, "Showing 100,000 of 100,000 patients", timeout_ms=240_000)
    no_exception(page)
    page.wait_for_timeout(1000)
    screenshot(page, "simulated-100k-survival")
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Patients").first.click()
    wait_until_idle(page, "Showing 100,000 of 100,000 patients", timeout_ms=240_000)
    no_exception(page)
    assert "60 drawn" in page.inner_text('[data-testid="stMain"]')
    page.wait_for_timeout(1000)
    screenshot(page, "simulated-100k-patients")


def test_a_hostile_file_gets_its_message_and_the_page_still_works(page, app_url, tmp_path):
    """The 7.9 MB CSV of 1,000,000 column names crashed the tab (31 dropdowns listing every column)."""
    from sarcoma_app.limits import LIMITS
    from tests import hostile_uploads

    page.set_default_timeout(60_000)
    open_upload_page(page, app_url)
    name, data = hostile_uploads.csv_many_columns(1_000_000)
    (tmp_path / name).write_bytes(data)
    choose_file(page, "Patients (required)", tmp_path / name)
    page.get_by_text("nothing was loaded", exact=False).first.wait_for()
    wait_until_idle(page, BUNDLED_CAPTION)
    body = page.inner_text('[data-testid="stMain"]')
    assert f"{name}, row 1: the header has more than {LIMITS.columns.amount} ({LIMITS.columns.text})" in body, \
        body[-2000:]
    assert page.locator('[data-testid="stSelectbox"]').count() <= 2  # no mapping dropdowns (sidebar only)
    no_exception(page)
    screenshot(page, "upload-4-hostile-file")

    # a file over the size limit: the uploader says so itself (the server would answer 413)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * ((LIMITS.file_mb.value << 20) // 4 + 1000))
    choose_file(page, "Patients (required)", big)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Patients (required)")
    refused = uploader.locator('[data-testid="stFileChip"][aria-invalid="true"]').filter(has_text="big.csv")
    refused.wait_for()
    alert = uploader.locator('[role="alert"]').first.text_content()
    assert alert == f"Error: File must be {LIMITS.file_mb.value:.1f}MB or smaller.", alert
    assert "AxiosError" not in page.inner_text("body") and "413" not in page.inner_text("body")
    screenshot(page, "upload-5-too-large")

    # the same session goes on: the good file is read and checked
    choose_file(page, "Patients (required)", FIXTURES / "good_patients.csv")
    page.get_by_text("No problem found", exact=False).first.wait_for()
    wait_until_idle(page, BUNDLED_CAPTION)
    no_exception(page)
