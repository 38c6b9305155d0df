"""Tumour-board features in a real Chromium: deck to PPTX, presentation mode, the two new pages.

Screenshots go to tests/artifacts/screenshots/ (8-*, 9-*, 10-*).
"""
from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlparse

import pandas as pd
from pptx import Presentation

from sarcoma_app.exports import deck
from tests.browser.conftest import IDLE_JS, screenshot, wait_until_idle

NAB = "nab_paclitaxel_sintilimab"


def open_view(page, app_url: str, path: str, caption: str | None = None) -> None:
    page.goto(f"{app_url}/{path}")
    wait_until_idle(page, caption)


def main_button(page, label: str):
    return page.locator('[data-testid="stMain"] button').filter(has_text=label).first


def sidebar_download(page, label: str):
    return page.locator('[data-testid="stSidebar"] [data-testid="stDownloadButton"] button').filter(
        has_text=label).first


def test_add_two_views_to_the_deck_and_download_the_pptx(page, app_url, tmp_path):
    open_view(page, app_url, f"survival?study={NAB}&km_by=histology_group", "Showing 28 of 56 patients")
    medians = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').first
    medians.wait_for(state="visible")  # the table's canvas may be drawn just after the run ends
    main_button(page, "Add to deck").click()  # the Kaplan–Meier view
    wait_until_idle(page, "Showing 28 of 56 patients")
    page.locator('[data-testid="stSidebar"]').get_by_text("Slide deck (1)").wait_for()
    main_button(page, "Add to deck").click()  # the next view still offering it: the log-rank test
    wait_until_idle(page, "Showing 28 of 56 patients")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Slide deck (2)").wait_for()
    assert page.locator('[data-testid="stMain"] [data-testid="stButton"]').filter(has_text="In deck").count() == 2
    sidebar_download(page, "PPTX").scroll_into_view_if_needed()
    screenshot(page, "10-deck-in-sidebar")

    with page.expect_download() as download_info:
        sidebar_download(page, "PPTX").click()
    download = download_info.value
    assert download.suggested_filename == "tumour-board.pptx"
    presentation = Presentation(open(download.path(), "rb"))
    titles = [s.shapes.title.text for s in presentation.slides]
    # the KM chart has a slide of its own (the whole width), its table follows; then the log-rank test
    assert titles[0] == "Progression-free survival (Kaplan–Meier)"
    assert titles[1].startswith("Progression-free survival (Kaplan–Meier) — table")
    assert titles[-1] == "Log-rank test by histology group"
    km_slide, km_table_slide, logrank_slide = presentation.slides[0], presentation.slides[1], presentation.slides[-1]
    assert len([s for s in km_slide.shapes if s.shape_type == 13]) == 1  # the chart as a picture
    table = [s for s in km_table_slide.shapes if s.has_table][0].table
    header = [table.cell(0, c).text for c in range(len(table.columns))]
    assert header[:4] == ["Group", "Patients", "Events", "Median, months (95% CI)"]
    groups = {table.cell(r, 0).text: table.cell(r, 3).text for r in range(1, len(table.rows))}
    assert groups["Angiosarcoma"] == "4.50 (4.00–NR)"
    footnote = [s for s in km_slide.shapes if s.name == "Footnote"][0].text_frame.text
    assert "Filters: Study: Nab-paclitaxel + sintilimab" in footnote
    assert "n: 28 of 28 selected patients with PFS recorded, 28 events" in footnote
    assert "Methods:" in footnote and "Data: Nab-paclitaxel + sintilimab (published; 002_" in footnote
    assert [s for s in logrank_slide.shapes if s.has_table]

    # the slides of the deck's own layout: the deck's content (its file) laid out by build_pptx gives these titles
    with page.expect_download() as download_info:
        sidebar_download(page, "Deck file").click()
    slides, problems = deck.read_deck_file(open(download_info.value.path(), "rb").read())
    assert problems == [] and [s.title for s in slides] == ["Progression-free survival (Kaplan–Meier)",
                                                            "Log-rank test by histology group"]
    laid_out = Presentation(io.BytesIO(deck.build_pptx(slides)))
    assert titles == [s.shapes.title.text for s in laid_out.slides]

    with page.expect_download() as download_info:
        sidebar_download(page, "HTML").click()
    report = open(download_info.value.path(), encoding="utf-8").read()
    assert report.count("data:image/png;base64,") == 1 and "Log-rank test by histology group" in report
    # every table of every added view (the KM view's risk table among them when it goes on slides of its own)
    n_tables = sum((s.table is not None and not s.table.empty) + len(s.tables) for s in slides)
    assert n_tables >= 2 and len(pd.read_html(io.StringIO(report))) == n_tables


def test_a_shared_link_carries_the_deck(page, app_url, browser):
    """Two slides added in one browser; the page's URL opened in a new browser context shows the same deck."""
    open_view(page, app_url, f"survival?study={NAB}&km_by=histology_group", "Showing 28 of 56 patients")
    page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').first.wait_for(state="visible")
    main_button(page, "Add to deck").click()  # the Kaplan–Meier view
    wait_until_idle(page, "Showing 28 of 56 patients")
    page.locator('[data-testid="stSidebar"]').get_by_text("Slide deck (1)").wait_for()
    main_button(page, "Add to deck").click()  # the log-rank test
    wait_until_idle(page, "Showing 28 of 56 patients")
    page.locator('[data-testid="stSidebar"]').get_by_text("Slide deck (2)").wait_for()
    page.wait_for_function("() => new URL(location.href).searchParams.has('deck')")
    link = page.url
    assert parse_qs(urlparse(link).query)["deck"][0].startswith("1.") and len(link) < 2_000

    context = browser.new_context(viewport={"width": 1440, "height": 1000})  # another browser: nothing shared
    context.set_default_timeout(45_000)
    try:
        other = context.new_page()
        other.goto(link)
        wait_until_idle(other, "Showing 28 of 56 patients")
        sidebar = other.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Slide deck (2)").wait_for(timeout=60_000)
        wait_until_idle(other, "Showing 28 of 56 patients")
        assert sidebar.get_by_text("Progression-free survival (Kaplan–Meier)").first.is_visible()
        assert sidebar.get_by_text("Log-rank test by histology group").first.is_visible()
        assert sidebar.get_by_text("The page's link (the address bar) carries this deck").first.is_visible()
        assert other.locator('[data-testid="stMain"] [data-testid="stButton"]').filter(
            has_text="In deck").count() == 2  # the same views in the same state
        assert parse_qs(urlparse(other.url).query)["deck"] == parse_qs(urlparse(link).query)["deck"]
        screenshot(other, "12-deck-from-shared-link")
    finally:
        context.close()


def test_a_deck_survives_a_reload_through_its_file(page, app_url, tmp_path):
    open_view(page, app_url, f"survival?study={NAB}", "Showing 28 of 56 patients")
    page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').first.wait_for(state="visible")
    main_button(page, "Add to deck").click()
    wait_until_idle(page, "Showing 28 of 56 patients")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Slide deck (1)").wait_for()
    with page.expect_download() as download_info:
        sidebar_download(page, "Deck file").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    assert saved.name == "tumour-board.deck.json"
    page.reload()  # a new browser session: its link brings the deck back...
    wait_until_idle(page, "Showing 28 of 56 patients")
    sidebar.get_by_text("Slide deck (1)").wait_for(timeout=60_000)
    open_view(page, app_url, f"survival?study={NAB}", "Showing 28 of 56 patients")  # ...a link without it does not
    sidebar.get_by_text("Slide deck (0)").wait_for()
    sidebar.get_by_text("Slide deck (0)").click()
    sidebar.locator('input[type="file"]').set_input_files(str(saved))  # ...until its file is loaded
    sidebar.get_by_text("Slide deck (1)").wait_for(timeout=30_000)
    wait_until_idle(page, "Showing 28 of 56 patients")
    assert sidebar.get_by_text("Progression-free survival (Kaplan–Meier)").first.is_visible()
    assert page.locator('[data-testid="stMain"] [data-testid="stButton"]').filter(has_text="In deck").count() == 1
    screenshot(page, "10-deck-loaded-after-reload")


def wait_presenting(page, timeout_ms: int = 45_000) -> None:
    """Idle wait for presentation mode (the sidebar is hidden, so wait_until_idle cannot look at it)."""
    for _ in range(2):
        page.wait_for_function(IDLE_JS, timeout=timeout_ms)
        page.wait_for_timeout(500)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def test_present_link_hides_the_sidebar_and_can_be_left(page, app_url):
    page.goto(f"{app_url}/survival?study={NAB}&present=1")
    wait_presenting(page)
    page.locator('[data-testid="stMain"] h1').filter(has_text="Survival").wait_for()
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert parse_qs(urlparse(page.url).query) == {"study": [NAB], "present": ["1"]}
    assert page.locator('[data-testid="stMain"] [data-testid="stVegaLiteChart"]').first.is_visible()
    # the key table (medians) is on screen; the method controls are not, a line says what they are
    assert page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').first.is_visible()
    assert page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').count() == 0
    assert page.locator('[data-testid="stMain"]').get_by_text("Endpoint:").first.is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_timeout(1000)
    screenshot(page, "9-presentation-mode-survival")
    main_button(page, "Leave presentation").click()
    wait_until_idle(page, "Showing 28 of 56 patients")
    assert page.locator('[data-testid="stSidebar"]').is_visible()
    page.wait_for_function("() => !window.location.search.includes('present')")
    assert parse_qs(urlparse(page.url).query) == {"study": [NAB]}


def test_present_overview_shows_the_headline_numbers_largest(page, app_url):
    page.goto(f"{app_url}/?present=1")
    wait_presenting(page)
    page.locator('[data-testid="stMain"] h1').filter(has_text="Overview").wait_for()
    value = page.locator('[data-testid="stMetricValue"]').first
    value.wait_for()
    metric_px = float(value.evaluate("e => parseFloat(getComputedStyle(e.querySelector('*') || e).fontSize)"))
    title_px = float(page.locator('[data-testid="stMain"] h1').first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"))
    assert metric_px >= 36 and metric_px >= title_px, (metric_px, title_px)  # the numbers are the biggest text
    page.wait_for_timeout(1000)
    screenshot(page, "9-presentation-mode-overview")


def test_presentation_toggle_in_the_sidebar(page, app_url):
    open_view(page, app_url, "response?study=nab_paclitaxel_sintilimab", "Showing 28 of 56 patients")
    page.locator('[data-testid="stSidebar"]').get_by_text("Presentation mode").click()
    page.wait_for_function("() => window.location.search.includes('present=1')")
    wait_presenting(page)
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    page.wait_for_timeout(1000)
    screenshot(page, "9-presentation-mode-response")


def test_screenshot_the_new_pages(page, app_url):
    open_view(page, app_url, "published", "Showing 56 of 56 patients")
    assert page.locator("h1").first.inner_text().strip() == "Published vs recomputed"
    headline = page.locator('[data-testid="stMain"] h3').first.inner_text()
    assert re.match(r"^Of \d+ published numbers: \d+ reproduced, \d+ under an assumption, \d+ differ, "
                    r"\d+ not computable$", headline)
    page.wait_for_timeout(1000)
    screenshot(page, "8-published-vs-recomputed")

    open_view(page, app_url, "subtype", "Showing 56 of 56 patients")
    assert page.locator("h1").first.inner_text().strip() == "Subtype across studies"
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_timeout(1500)
    screenshot(page, "8-subtype-leiomyosarcoma")

    open_view(page, app_url, "survival?study=nab_paclitaxel_sintilimab", "Showing 28 of 56 patients")
    page.locator('[data-testid="stMain"] [data-testid="stExpander"] summary').filter(
        has_text="Show the code").first.click()
    page.locator('[data-testid="stMain"] [data-testid="stCode"]').first.wait_for()
    page.wait_for_timeout(1000)
    screenshot(page, "8-survival-show-the-code")


def test_screenshot_readable_charts_and_tables(page, app_url):
    """Issue 17 (charts and tables that read well): the Overview with each paper's denominator, KM by histology
    (whole-month ticks, bands off for 8 curves), hazard ratios (sides named, text inside), adverse events as
    published (every arm on the page), Response at 100,000 patients (separated axis labels)."""
    open_view(page, app_url, "", "Showing 56 of 56 patients")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("12/24 evaluable = 50.0%; 12/28 all treated = 42.9%").first.wait_for(state="attached")  # a grid cell
    screenshot(page, "11-overview-published-denominators")
    open_view(page, app_url, "survival?km_by=histology_group", "Showing 56 of 56 patients")
    main.get_by_text("CI bands hidden", exact=False).first.wait_for()
    screenshot(page, "11-survival-by-histology")
    open_view(page, app_url, f"hazard-ratios?study={NAB}", "Showing 28 of 56 patients")
    screenshot(page, "11-hazard-ratios")
    open_view(page, app_url, "adverse-events", "Showing 56 of 56 patients")
    screenshot(page, "11-adverse-events")
    open_view(page, app_url, "response?source=simulated-100k", None)
    screenshot(page, "11-response-100k")
    open_view(page, app_url, "survival?source=simulated-100k", None)
    screenshot(page, "11-survival-100k")


def test_a_reload_with_a_deck_asks_first(page, app_url):
    """With a slide in the deck the browser asks before leaving (beforeunload); without one it does not."""
    open_view(page, app_url, f"survival?study={NAB}", "Showing 28 of 56 patients")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    main_button(page, "Add to deck").click()
    wait_until_idle(page, "Showing 28 of 56 patients")
    page.locator('[data-testid="stSidebar"]').get_by_text("Slide deck (1)").wait_for()
    page.wait_for_timeout(1000)  # the guard's frame runs
    assert page.evaluate("() => window.__sarcomaGuardOn === true")
    page.close(run_before_unload=True)
    page.wait_for_timeout(1500)
    assert asked == ["beforeunload"]
