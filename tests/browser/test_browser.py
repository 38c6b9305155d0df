"""What a user does in a real Chromium: open a shared link, change a filter, switch page, download.

Run: ``.venv/bin/python -m pytest tests/browser -q``. Screenshots of every page
(default and filtered) go to tests/artifacts/screenshots/.
"""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from data.build import ensure_database
from tests.browser.conftest import screenshot, wait_until_idle

PAGES = [("overview", "Overview"), ("response", "Response"), ("survival", "Survival"),
         ("hazard-ratios", "Hazard ratios"), ("adverse-events", "Adverse events"), ("patients", "Patients"),
         ("data-methods", "Data & methods")]
FILTERED_VIEWS = {
    "overview": "study=nab_paclitaxel_sintilimab",
    "response": "pazopanib=yes&response_by=study",
    "survival": "study=nab_paclitaxel_sintilimab&km_by=histology_group&conf_type=log-log",
    "hazard-ratios": "study=nab_paclitaxel_sintilimab&cox_terms=angiosarcoma,primary_site&ties=breslow",
    "adverse-events": "pazopanib=yes",
    "patients": "histology_group=Angiosarcoma,Leiomyosarcoma",
    "data-methods": "ci=wilson&landmarks=3,6,9",
}


def published(result_id: str) -> dict:
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        frame = con.execute("SELECT * FROM published_results WHERE result_id = ?", [result_id]).df()
    return frame.iloc[0].to_dict()


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def sidebar_caption(page) -> str:
    return page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"^Showing [\d,]+ of [\d,]+ patients$")).inner_text()


def download_button(page, label: str):
    """The first download button of the main area with this label (PNG, SVG, CSV)."""
    return page.locator('[data-testid="stMain"] [data-testid="stDownloadButton"] button').filter(has_text=label).first


def open_view(page, app_url: str, path: str, caption: str | None = None) -> None:
    page.goto(f"{app_url}/{path}")
    wait_until_idle(page, caption)


def test_shared_link_restores_the_view(page, app_url):
    open_view(page, app_url, "?pazopanib=yes", "Showing 18 of 56 patients")
    assert sidebar_caption(page) == "Showing 18 of 56 patients"
    assert query_of(page.url) == {"pazopanib": ["yes"]}
    chip = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
        has_text="Pazopanib co-treatment")
    assert "yes (18)" in chip.inner_text()  # the widget shows the restored choice


def test_shared_link_shows_the_same_numbers(page, app_url):
    orr = published("nab_orr")
    median = published("nab_median_pfs")
    open_view(page, app_url, "?study=nab_paclitaxel_sintilimab", "Showing 28 of 56 patients")
    metrics = page.locator('[data-testid="stMetric"]')
    texts = [metrics.nth(i).inner_text() for i in range(metrics.count())]
    assert any("ORR" in t and f"{100 * orr['estimate']:.1f}%" in t for t in texts), texts
    assert any("Median PFS" in t and f"{median['estimate']:.2f}" in t for t in texts), texts
    body = page.inner_text("body")
    assert f"CI {100 * orr['ci_lower']:.1f}–{100 * orr['ci_upper']:.1f}%" in body


def test_changing_a_filter_updates_url_and_caption(page, app_url):
    open_view(page, app_url, "", "Showing 56 of 56 patients")
    assert urlparse(page.url).query == ""  # defaults: clean URL
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Pazopanib co-treatment").click()
    page.get_by_role("option", name=re.compile(r"^yes \(18\)")).click()
    page.keyboard.press("Escape")
    wait_until_idle(page, "Showing 18 of 56 patients")
    page.wait_for_function("() => window.location.search.includes('pazopanib=yes')")
    assert query_of(page.url) == {"pazopanib": ["yes"]}


def test_switching_pages_keeps_the_query_string(page, app_url):
    open_view(page, app_url, "?pazopanib=yes&ci=wilson", "Showing 18 of 56 patients")
    for slug, title in [("survival", "Survival"), ("patients", "Patients"), ("", "Overview")]:
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
        page.wait_for_function("slug => window.location.pathname.replace(/\\/$/, '').endsWith('/' + slug) "
                               "|| (slug === '' && window.location.pathname === '/')", arg=slug)
        wait_until_idle(page, "Showing 18 of 56 patients")
        page.wait_for_function("() => window.location.search.includes('pazopanib=yes')")
        assert query_of(page.url) == {"pazopanib": ["yes"], "ci": ["wilson"]}
        assert page.locator("h1").first.inner_text().strip() == title


def test_download_chart_png_and_svg(page, app_url):
    open_view(page, app_url, "response?study=nab_paclitaxel_sintilimab", "Showing 28 of 56 patients")
    with page.expect_download() as download_info:
        download_button(page, "PNG").click()
    download = download_info.value
    assert download.suggested_filename == "best-response-by-histology.png"
    content = open(download.path(), "rb").read()
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) > 10_000
    with page.expect_download() as download_info:
        download_button(page, "SVG").click()
    svg = open(download_info.value.path(), encoding="utf-8").read()
    assert svg.lstrip().startswith("<svg") and "Best response" in svg


def test_download_table_csv(page, app_url):
    orr = published("nab_orr")
    open_view(page, app_url, "?study=nab_paclitaxel_sintilimab", "Showing 28 of 56 patients")
    with page.expect_download() as download_info:
        download_button(page, "CSV").click()
    download = download_info.value
    assert download.suggested_filename == "overview-headline.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert rows[0] == ["Per study", "Nab-paclitaxel + sintilimab"]
    by_quantity = {row[0]: row[1] for row in rows[1:]}
    expected = f"{100 * orr['estimate']:.1f}% ({100 * orr['ci_lower']:.1f}–{100 * orr['ci_upper']:.1f})"
    assert by_quantity["ORR % (95% CI)"] == expected
    assert by_quantity["ORR n/N"] == f"{orr['numerator']}/{orr['denominator']}"


@pytest.mark.parametrize("path, parameter, value", [
    ("?pazopanib=maybe", "pazopanib", "maybe"),
    ("survival?conf_type=%3Cscript%3E", "conf_type", "<script>"),
])
def test_tampered_link_shows_a_notice(page, app_url, path, parameter, value):
    open_view(page, app_url, path, "Showing 56 of 56 patients")
    alerts = page.locator('[data-testid="stAlert"]')
    notice = alerts.filter(has_text=f"Link parameter {parameter}")
    assert notice.count() == 1
    assert value in notice.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert parameter not in query_of(page.url)


@pytest.mark.parametrize("slug, title", PAGES)
def test_screenshot_every_page(page, app_url, slug, title):
    for variant, query in [("default", ""), ("filtered", FILTERED_VIEWS[slug])]:
        path = "" if slug == "overview" else slug  # the default page lives at the root URL
        open_view(page, app_url, f"{path}?{query}" if query else path)
        assert page.locator("h1").first.inner_text().strip() == title
        assert page.locator('[data-testid="stException"]').count() == 0
        page.wait_for_timeout(1000)  # let the charts finish drawing
        index = [s for s, _ in PAGES].index(slug) + 1
        saved = screenshot(page, f"{index}-{slug}-{variant}")
        assert saved.stat().st_size > 20_000
