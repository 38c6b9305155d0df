"""A registry above limits.SCALE read in place (SARCOMA_REGISTRY): Survival, Adverse events, Response,
Hazard ratios and Overview pages counted by the database, in a real Chromium. Screenshots go to tests/artifacts/screenshots/registry-*.png."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from data.simulate import simulate_cohort, write_cohort
from sarcoma_app import limits
from sarcoma_app.sources import registry_files
from tests.browser.conftest import ROOT, STARTUP_TIMEOUT_S, free_port, screenshot, wait_healthy, wait_until_idle

pytestmark = pytest.mark.browser
N = limits.SCALE.patients_loaded.value + 1_000
FIRTH_HISTOLOGY = "Intimal sarcoma"


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    patients, events = simulate_cohort(N, seed=12, time_decimals=2)
    # no progression among pazopanib-treated intimal sarcomas: a hazard ratio of 0, for Firth's fit
    treated = patients["pazopanib"].eq(True).fillna(False).astype(bool)
    patients.loc[patients["histology"].eq(FIRTH_HISTOLOGY).to_numpy() & treated.to_numpy(), "pfs_event"] = 0
    write_cohort(patients, events, folder, "parquet")
    del patients, events
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, registry_files.REGISTRY_ENV: str(folder)})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, STARTUP_TIMEOUT_S)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def open_counted(page, registry_url: str, path: str):
    """Open ``path`` and wait for the page's note that the database counted it; the main area."""
    page.goto(f"{registry_url}/{path}")
    wait_until_idle(page, timeout_ms=120_000)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Large source: counted by the database", exact=False).first.wait_for(timeout=60_000)
    return main


@pytest.mark.parametrize("path, expected", [
    ("survival?source=registry&km_by=pazopanib", "Log-rank test"),
    ("adverse-events?source=registry&pazopanib=yes", "Patients with at least one event"),
    ("response?source=registry&response_by=pazopanib", "Do the rates differ between groups?"),
    ("?source=registry", "Headline numbers"),  # the Overview is the main page
    ("hazard-ratios?source=registry&cox_terms=histology_group,pazopanib,sex", "events per term"),
])
def test_large_registry_pages_are_counted_by_the_database(page, registry_url, path, expected):
    main = open_counted(page, registry_url, path)
    main.get_by_text(expected, exact=False).first.wait_for(timeout=60_000)
    screenshot(page, f"registry-{path.split('?')[0] or 'overview'}")
    assert not page.locator('[data-testid="stException"]').count()
    assert not page.get_by_text("Page not found").count()


def test_large_registry_survival_page_has_pairwise_tests_and_the_rmst(page, registry_url):
    main = open_counted(page, registry_url, "survival?source=registry&km_by=histology_group&p_adjust=holm")
    heading = main.get_by_text("Pairwise log-rank tests", exact=True).first
    heading.wait_for(timeout=60_000)
    main.get_by_text("p adjusted with Holm", exact=False).first.wait_for(timeout=60_000)
    main.get_by_text("Restricted mean survival time (PFS)", exact=True).first.wait_for(timeout=60_000)
    heading.scroll_into_view_if_needed()
    screenshot(page, "registry-survival-pairwise")
    assert not page.locator('[data-testid="stException"]').count()


def test_large_registry_hazard_ratios_have_the_proportional_hazards_check(page, registry_url):
    main = open_counted(page, registry_url, "hazard-ratios?source=registry&cox_terms=pazopanib,sex")
    heading = main.get_by_text("Proportional hazards (cox.zph)", exact=True).first
    heading.wait_for(timeout=60_000)
    main.get_by_text("Global (all terms)", exact=True).first.wait_for(state="attached", timeout=60_000)  # a grid cell
    heading.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    screenshot(page, "registry-hazard-ratios-cox-zph")
    # the residual plot: one panel per term, from a residual per event (thinned to the points drawn)
    assert main.locator('[data-testid="stVegaLiteChart"]').count() >= 3  # two forests and the residuals
    assert not page.get_by_text("proportional-hazards check (a residual per event)", exact=False).count()
    assert not page.locator('[data-testid="stException"]').count()


def test_large_registry_lists_the_first_adverse_events_and_says_there_are_more(page, registry_url):
    main = open_counted(page, registry_url, "adverse-events?source=registry&pazopanib=yes")
    caption = main.get_by_text("The first 1,000 events of the selected patients", exact=False).first
    caption.wait_for(timeout=60_000)
    assert "narrow the filters to list the others" in caption.inner_text()
    listing = main.locator('[data-testid="stDataFrame"]').last
    listing.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    screenshot(page, "registry-adverse-events-listing")
    with page.expect_download() as download:
        caption.locator("xpath=ancestor::*[@data-testid='stHorizontalBlock' or "
                        "@data-testid='stLayoutWrapper'][1]").get_by_role("button", name="CSV").click()
    lines = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Study,Patient") and len(lines) == 1 + 1_000  # the rows shown
    assert not page.locator('[data-testid="stException"]').count()


def test_large_registry_hazard_ratios_fit_firth_where_a_level_has_no_events(page, registry_url):
    main = open_counted(page, registry_url, f"hazard-ratios?source=registry&histology={FIRTH_HISTOLOGY}"
                                            "&cox_terms=pazopanib,sex")
    heading = main.get_by_text("Firth-penalised estimates for the terms that are not estimable", exact=True).first
    heading.wait_for(timeout=60_000)
    main.get_by_text("Firth-penalised HR (95% profile CI)", exact=True).first.wait_for(state="attached",
                                                                                        timeout=60_000)
    assert main.get_by_text("not estimable · ", exact=False).count()  # the ordinary forest row, without a bar
    heading.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    screenshot(page, "registry-hazard-ratios-firth")
    assert not page.locator('[data-testid="stException"]').count()


def test_large_registry_subtype_page_is_counted_and_changes_subtype(page, registry_url):
    main = open_counted(page, registry_url, "subtype?source=registry")
    # the default is the subtype with the most patients (Leiomyosarcoma in the simulation), from a count query
    main.get_by_text("Leiomyosarcoma: response and PFS in each study", exact=False).first.wait_for(timeout=60_000)
    main.locator('[data-testid="stSelectbox"]').filter(has_text="Histology or histology group").click()
    page.get_by_role("option").filter(has_text="Angiosarcoma · group").first.click()
    wait_until_idle(page, timeout_ms=120_000)
    main.get_by_text("Angiosarcoma: response and PFS in each study", exact=False).first.wait_for(timeout=60_000)
    main.get_by_text("Progression-free survival where published", exact=False).first.wait_for(timeout=60_000)
    main.get_by_text("Borrowing across subtypes (exploratory)", exact=False).first.wait_for(timeout=60_000)
    assert not page.locator('[data-testid="stException"]').count()
    assert not page.get_by_text("This page needs each patient").count()
    screenshot(page, "registry-subtype-angiosarcoma")


def test_patients_page_refuses_a_large_selection_and_says_how_to_narrow_it(page, registry_url):
    page.goto(f"{registry_url}/patients?source=registry")
    wait_until_idle(page, timeout_ms=120_000)
    main = page.locator('[data-testid="stMain"]')
    warning = main.locator('[data-testid="stAlert"]').filter(has_text="This page needs each patient")
    warning.first.wait_for(timeout=60_000)
    text = warning.first.inner_text()
    assert f"the selection has {N:,} patients" in text
    assert limits.SCALE.patients_loaded.amount in text and "Histology group" in text and "another page" in text
    assert not page.locator('[data-testid="stException"]').count()
    screenshot(page, "registry-patients-refused")


def test_large_registry_code_loads_the_selected_patients_when_opened(page, registry_url):
    """A counted page's "Show the code": for the whole registry (more than a page may load) it says how to narrow
    the selection; for one histology it shows the code and downloads the CSV of those patients."""
    main = open_counted(page, registry_url, "survival?source=registry")
    main.locator('[data-testid="stExpander"] summary').filter(has_text="Show the code").first.click()
    main.get_by_text("The code reads each patient's row, and the selection has", exact=False).first.wait_for(
        timeout=60_000)
    assert not main.locator('[data-testid="stCode"]').count()
    main = open_counted(page, registry_url, "survival?source=registry&histology=Angiosarcoma")
    caption = page.locator('[data-testid="stSidebar"]').get_by_text("Showing ", exact=False).first.inner_text()
    n_selected = int(caption.split()[1].replace(",", ""))
    assert 0 < n_selected <= limits.SCALE.patients_loaded.value
    main.locator('[data-testid="stExpander"] summary').filter(has_text="Show the code").first.click()
    main.locator('[data-testid="stCode"]').first.wait_for(timeout=60_000)
    assert "kaplan_meier" in main.locator('[data-testid="stCode"]').first.inner_text()
    with page.expect_download(timeout=60_000) as download_info:
        main.get_by_role("button", name="patients.csv").first.click()
    rows = download_info.value.path().read_text(encoding="utf-8").splitlines()
    assert len(rows) == n_selected + 1  # a header and each selected patient
    page.wait_for_timeout(1000)
    main.locator('[data-testid="stCode"]').first.scroll_into_view_if_needed()
    screenshot(page, "registry-survival-show-the-code")
    assert not page.locator('[data-testid="stException"]').count()
