"""Views follow the data, through the real app: no page offers a control whose column the active source lacks."""
from __future__ import annotations

import pandas as pd
import pytest

from data import registry
from sarcoma_app.views.covariates import COVARIATES
from tests.apptest_helpers import run_app
from tests.test_edge_cohorts_ui import page_text
from tests.test_upload_page import PAGES, UPLOADERS, caption, load_button

FIVE_COLUMNS = pd.DataFrame({
    "patient_id": [f"P{i}" for i in range(12)], "histology": ["Leiomyosarcoma", "Liposarcoma", "Synovial sarcoma"] * 4,
    "best_response": ["PR", "SD", "PD", "SD"] * 3, "pfs_months": [1.0 + i for i in range(12)],
    "pfs_event": [1, 0, 1, 1] * 3,
})
LABEL_OF_FILTER = {f.label: f for f in registry.FILTER_LIST}


def loaded(frame: pd.DataFrame, name: str):
    at = run_app(page="pages/upload.py")
    uploader = next(u for u in at.file_uploader if u.label == UPLOADERS["patients"])
    uploader.upload(name, frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == f"Showing {len(frame)} of {len(frame)} patients"
    return at


def offered_filters(at) -> set[str]:
    return {w.label for w in at.sidebar.multiselect if w.label in LABEL_OF_FILTER}


@pytest.mark.parametrize("page", PAGES)
def test_no_page_offers_a_control_the_upload_cannot_answer(page):
    at = loaded(FIVE_COLUMNS, "five.csv")
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    # the upload adds the study and derives the histology group; nothing else
    recorded = registry.recorded_counts(FIVE_COLUMNS.assign(study_id="u", histology_group=FIVE_COLUMNS["histology"]))
    for label in offered_filters(at):
        assert recorded[LABEL_OF_FILTER[label].variable][0] > 0, label
    assert offered_filters(at) == {"Study", "Histology group", "Specific histology", "Best response"}
    grouping_labels = {registry.GROUPINGS[g].label for g in registry.available_groupings(recorded) if g != "none"}
    for box in at.selectbox:
        if box.label in ("Curves by", "Group by"):
            shown = {o for o in box.options if o != "no grouping (all patients)"}
            assert shown <= grouping_labels, shown
    for box in at.multiselect:
        if box.label == "Covariates in the model":
            assert set(box.options) <= {COVARIATES["histology_group"].label}, box.options
    text = page_text(at)
    assert "nan" not in text.split() and "not estimable · 0 pts" not in text


def test_a_control_for_a_missing_column_fails_the_check():
    """The check above can fail: on the bundled data the same page offers a filter the upload lacks."""
    at = run_app(page="pages/survival.py")
    assert "Pazopanib co-treatment" in offered_filters(at)
    assert "Sex" in offered_filters(at)  # 9 of 56 patients have a recorded sex (seed 000 text)


def test_the_sex_filter_says_how_many_are_not_reported():
    at = run_app({"sex": "Female"}, page="pages/overview.py")
    box = next(w for w in at.sidebar.multiselect if w.label == "Sex")
    assert "Recorded for 9 of 56 patients" in box.help
    assert any(option.startswith("unknown (not reported) (") for option in box.options)
    assert caption(at).startswith("Showing ") and not caption(at).startswith("Showing 56 ")


def test_an_upload_with_sex_for_everyone_has_a_full_sex_filter():
    frame = FIVE_COLUMNS.assign(sex=["Female", "Male"] * 6)
    at = loaded(frame, "with_sex.csv")
    box = next(w for w in at.sidebar.multiselect if w.label == "Sex")
    assert not any(o.startswith("unknown") for o in box.options) and "Recorded for" not in box.help
    at.sidebar.multiselect(key=box.key).select("Female").run()
    assert caption(at) == "Showing 6 of 12 patients"
