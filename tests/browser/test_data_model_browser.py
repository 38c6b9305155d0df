"""Views follow the data, in a real Chromium: a five-column upload and an upload with PFS, OS and sex.

Screenshots (tests/artifacts/screenshots/): data-model-five-columns-{hazard-ratios,survival},
data-model-pfs-os-{survival-os,hazard-ratios-os}.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tests.browser.conftest import screenshot, wait_until_idle
from tests.browser.test_upload import choose_file, no_exception, open_upload_page


def five_column_file(path) -> None:
    rng = np.random.default_rng(3)
    n = 40
    pd.DataFrame({
        "patient_id": [f"P{i:02d}" for i in range(n)],
        "histology": rng.choice(["Leiomyosarcoma", "Liposarcoma", "Synovial sarcoma"], n),
        "best_response": rng.choice(["PR", "SD", "PD"], n),
        "pfs_months": np.round(rng.exponential(5, n) + 0.1, 1),
        "pfs_event": rng.choice([0, 1], n, p=[0.2, 0.8]),
    }).to_csv(path, index=False)


def pfs_os_file(path) -> None:
    rng = np.random.default_rng(4)
    n = 60
    pfs = np.round(rng.exponential(5, n) + 0.1, 1)
    pd.DataFrame({
        "patient_id": [f"Q{i:02d}" for i in range(n)],
        "histology": rng.choice(["Leiomyosarcoma", "Angiosarcoma", "Undifferentiated pleomorphic sarcoma"], n),
        "best_response": rng.choice(["CR", "PR", "SD", "PD"], n),
        "sex": rng.choice(["Female", "Male"], n),
        "ecog": rng.choice([0, 1, 2], n),
        "PFS (months)": pfs, "PFS event": rng.choice([0, 1], n, p=[0.25, 0.75]),
        "OS (months)": np.round(pfs + rng.exponential(8, n), 1), "OS event": rng.choice([0, 1], n, p=[0.4, 0.6]),
    }).to_csv(path, index=False)


def load(page, app_url, path, n: int) -> None:
    open_upload_page(page, app_url)
    choose_file(page, "Patients (required)", path)
    page.get_by_text("No problem found", exact=False).first.wait_for()
    page.get_by_role("button", name=re.compile("Load this cohort")).click()
    wait_until_idle(page, f"Showing {n} of {n} patients")
    page.wait_for_function("() => window.location.search.includes('source=uploaded')")


def go(page, title: str, n: int) -> str:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    wait_until_idle(page, f"Showing {n} of {n} patients")
    no_exception(page)
    return page.inner_text('[data-testid="stMain"]')


def test_a_five_column_upload_offers_only_what_it_has(page, app_url, tmp_path):
    path = tmp_path / "five_columns.csv"
    five_column_file(path)
    load(page, app_url, path, 40)
    sidebar = page.inner_text('[data-testid="stSidebar"]')
    for absent in ("Pazopanib co-treatment", "ECOG performance status", "Number of adverse events", "Sex"):
        assert absent not in sidebar, absent  # a filter only where the data record the variable
    body = go(page, "Hazard ratios", 40)
    assert "nan" not in body.split() and "0 pts" not in body
    assert "Histology group" in body and "Angiosarcoma vs other subtypes" not in body.split("Not offered")[0]
    assert "The model cannot be fitted" not in body
    screenshot(page, "data-model-five-columns-hazard-ratios")
    body = go(page, "Survival", 40)
    assert "Kaplan–Meier curves of progression-free survival" in body and "nan" not in body.split()
    screenshot(page, "data-model-five-columns-survival")


def test_an_upload_with_pfs_and_os_switches_endpoints(page, app_url, tmp_path):
    path = tmp_path / "pfs_os.csv"
    pfs_os_file(path)
    load(page, app_url, path, 60)
    sidebar = page.inner_text('[data-testid="stSidebar"]')
    assert "Sex" in sidebar  # recorded for everyone: a full filter
    go(page, "Survival", 60)
    page.get_by_role("combobox", name="Endpoint").click()
    page.get_by_role("option", name="Overall survival").click()
    wait_until_idle(page, "Showing 60 of 60 patients")
    page.wait_for_function("() => window.location.search.includes('survival_endpoint=os')")
    body = page.inner_text('[data-testid="stMain"]')
    assert "Kaplan–Meier curves of overall survival" in body and "Median OS and landmark rates" in body
    no_exception(page)
    screenshot(page, "data-model-pfs-os-survival-os")
    body = go(page, "Hazard ratios", 60)
    assert "HR < 1 = longer OS" in body and "Female vs male" in body
    screenshot(page, "data-model-pfs-os-hazard-ratios-os")
