"""One delivery per standard format in a real Chromium: upload, check, load, then Survival and Response against R.

Run: ``.venv/bin/python -m pytest tests/browser/test_formats_browser.py -q``. The R values come
from tests/reference/formats_reference.R (formats_reference.json). Screenshots of the upload
result and of the Survival page per format go to tests/artifacts/screenshots/formats-*.png.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sarcoma_app.text import fmt_median_ci, fmt_rate_ci
from tests.browser.conftest import screenshot, wait_until_idle

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "formats_reference.json").read_text())
BUNDLED_CAPTION = "Showing 56 of 56 patients"
DELIVERIES = {"adam": ("adam", None, 32), "cbioportal": ("cbioportal", None, 30),
              "redcap": ("redcap", ("export_raw.csv", "data_dictionary.csv"), 30)}


def nav(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=label).first.click()


@pytest.mark.parametrize("name", list(DELIVERIES))
def test_each_format_draws_the_numbers_R_draws(browser, app_url, name):
    folder, names, n = DELIVERIES[name]
    files = [str(p) for p in sorted((FIXTURES / folder).iterdir()) if names is None or p.name in names]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/upload")
        wait_until_idle(page, BUNDLED_CAPTION)
        page.get_by_text("Or a standard format", exact=False).first.click()
        uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Standard-format files")
        uploader.locator('input[type="file"]').set_input_files(files)
        page.get_by_text("No problem found", exact=False).first.wait_for()
        wait_until_idle(page, BUNDLED_CAPTION)
        body = page.inner_text('[data-testid="stMain"]')
        assert "Recognised:" in body and page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, f"formats-{name}-1-upload")
        page.get_by_role("button", name=re.compile("Load this cohort")).click()
        wait_until_idle(page, f"Showing {n} of {n} patients")

        nav(page, "Survival")
        wait_until_idle(page, f"Showing {n} of {n} patients")
        pfs = REFERENCE[name]["pfs"]
        expected = fmt_median_ci(pfs["median"], pfs["median_lower"] if pfs["median_lower"] is not None else float("nan"),
                                 pfs["median_upper"] if pfs["median_upper"] is not None else float("nan"))
        page.get_by_text(expected, exact=False).first.wait_for(state="attached")  # a data-grid cell
        landmark = fmt_rate_ci(pfs["s6"], pfs["s6_lower"], pfs["s6_upper"])  # S(6 months), a default landmark
        page.get_by_text(landmark, exact=False).first.wait_for(state="attached")
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, f"formats-{name}-2-survival")

        nav(page, "Response")
        wait_until_idle(page, f"Showing {n} of {n} patients")
        orr = REFERENCE[name]["orr"]
        text = fmt_rate_ci(orr["rate"], orr["lower"], orr["upper"])
        page.get_by_text(text, exact=False).first.wait_for(state="attached")
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
