"""Statistical edge cases through the UI: uploaded cohorts with all censored, perfect separation, one patient.

Each cohort is uploaded in a session and every page must run without an exception and
say clearly what cannot be estimated.
"""
from __future__ import annotations

import pandas as pd
import pytest

from tests.test_upload_page import PAGES, UPLOADERS, caption, load_button, run_app

HISTOLOGIES = ["Leiomyosarcoma", "Angiosarcoma"]


def cohort(kind: str) -> pd.DataFrame:
    if kind == "all_censored":
        return pd.DataFrame({"patient_id": [f"P{i}" for i in range(8)], "histology": HISTOLOGIES * 4,
                             "best_response": ["SD", "PD"] * 4, "pfs_months": [1, 2, 3, 4, 5, 6, 7, 8],
                             "pfs_event": [0] * 8})
    if kind == "perfect_separation":  # every Angiosarcoma patient progresses before any Leiomyosarcoma patient is censored
        return pd.DataFrame({"patient_id": [f"P{i}" for i in range(10)], "histology": ["Angiosarcoma"] * 5 + ["Leiomyosarcoma"] * 5,
                             "best_response": ["PD"] * 5 + ["SD"] * 5, "pfs_months": [1, 1.5, 2, 2.5, 3, 6, 7, 8, 9, 10],
                             "pfs_event": [1] * 5 + [0] * 5})
    return pd.DataFrame({"patient_id": ["P1"], "histology": ["Leiomyosarcoma"], "best_response": ["PR"],
                         "pfs_months": [4.5], "pfs_event": [1]})


def page_text(at) -> str:
    parts = [e.value for kind in ("markdown", "info", "warning", "caption", "error", "success") for e in getattr(at, kind)]
    parts += [frame.value.to_string() for frame in at.dataframe]
    parts += [str(m.value) for m in at.metric]
    return "\n".join(str(p) for p in parts)


def loaded(kind: str):
    at = run_app(page="pages/upload.py")
    uploader = next(u for u in at.file_uploader if u.label == UPLOADERS["patients"])
    uploader.upload(f"{kind}.csv", cohort(kind).to_csv(index=False).encode(), "text/csv")
    at.run()
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    n = len(cohort(kind))
    assert caption(at) == f"Showing {n} of {n} patients"
    return at


@pytest.mark.parametrize("kind", ["all_censored", "perfect_separation", "one_patient"])
@pytest.mark.parametrize("page", PAGES)
def test_edge_cohort_runs_on_every_page(kind, page):
    at = loaded(kind)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]


def test_all_censored_median_is_not_reached():
    at = loaded("all_censored")
    at.switch_page("pages/survival.py").run()
    text = page_text(at)
    assert "NR" in text and "nan" not in text.lower().replace("nann", "")


def test_all_censored_cox_says_there_are_no_events():
    at = loaded("all_censored")
    at.switch_page("pages/hazard-ratios.py").run()
    text = page_text(at).lower()
    assert "with an event (progression or death)" in text and "cannot be estimated" in text


def test_perfect_separation_is_not_estimable_not_an_absurd_hr():
    at = loaded("perfect_separation")
    at.switch_page("pages/hazard-ratios.py").run()
    text = page_text(at).lower()
    assert "not estimable" in text
