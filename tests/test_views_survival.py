"""The Survival page's pure builder: endpoints, groupings and messages follow the data it is given."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.survival import kaplan_meier
from sarcoma_app.views import common, survival
from sarcoma_app.views.blocks import Chart, Note, Table, blocks_text, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.test_snippets import NAB, load_patients
from tests.test_views_hr_overview import upload_like


def with_os(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return upload_like(n).assign(os_months=lambda f: f["pfs_months"] + np.round(rng.exponential(6.0, len(f)), 2),
                                 os_event=lambda f: (rng.random(len(f)) < 0.6).astype(int))


def km_view(blocks):
    return {v.key: v for v in views_of(blocks)}["survival_km"]


def test_bundled_pfs_median_is_the_papers_and_the_chart_names_the_endpoint():
    patients = load_patients(FilterState())
    blocks = survival.build(patients, MethodState())
    view = km_view(blocks)
    assert view.result.fits["All patients"].median == pytest.approx(2.25)
    assert view.n_text == "28 of 56 selected patients with PFS recorded, 28 events"
    chart = next(p for p in view.parts if isinstance(p, Chart))
    assert "Progression-free survival" in str(chart.chart.to_dict())
    # the 28 patients without PFS are said to be left out, by study and reason
    assert any(isinstance(b, Note) and "28 of 56 selected patients are analysable" in b.text for b in blocks)


def test_os_is_a_choice_and_the_view_follows_it():
    patients = with_os()
    endpoint = {c.field: c for c in survival.choices(patients, MethodState(survival_endpoint="os"))}["survival_endpoint"]
    assert endpoint.options == ("pfs", "os") and endpoint.value == "os"
    view = km_view(survival.build(patients, MethodState(survival_endpoint="os")))
    expected = kaplan_meier(patients["os_months"], patients["os_event"])
    assert view.result.fits["All patients"].median == pytest.approx(expected.median)
    chart_text = str(next(p for p in view.parts if isinstance(p, Chart)).chart.to_dict())
    assert "Overall survival" in chart_text and "Progression-free" not in chart_text
    table = next(p for p in view.parts if isinstance(p, Table)).frame
    assert "OS at 4 mo (95% CI) · at risk" in table.columns
    assert view.title == "Overall survival (Kaplan–Meier)"


def test_groupings_offered_are_those_the_data_record():
    patients = upload_like()
    grouping = {c.field: c for c in survival.choices(patients, MethodState(km_by="ecog"))}["km_by"]
    assert "ecog" not in grouping.options and grouping.value == grouping.options[0]
    assert "cannot be shown here" in grouping.note
    assert "histology_group" in grouping.options


def test_messages_instead_of_errors():
    patients = load_patients(FilterState(study=(NAB,)))
    assert survival.build(patients.iloc[:0], MethodState()) == [common.NO_PATIENTS]
    assert survival.choices(patients.iloc[:0], MethodState()) == []
    no_endpoint = patients.assign(pfs_months=np.nan)
    assert survival.build(no_endpoint, MethodState()) == [common.no_endpoint()]
    no_events = upload_like().assign(pfs_event=0)
    text = blocks_text(survival.build(no_events, MethodState(km_by="histology_group")))
    assert "No events, so the median is not reached" in text
    assert "there is no event in the compared groups" in text


def test_a_grouping_with_too_many_levels_shows_all_patients_and_says_why():
    patients = upload_like(90).assign(histology=lambda f: [f"H{i}" for i in range(len(f))])
    blocks = survival.build(patients, MethodState(km_by="histology"))
    assert any(isinstance(b, Note) and "90 levels" in b.text for b in blocks)
    assert list(km_view(blocks).result.fits) == ["All patients"]


def _has_band(view) -> bool:
    chart = next(p for p in view.parts if isinstance(p, Chart)).chart.to_dict()
    return "'area'" in str(chart) or '"area"' in str(chart)


@pytest.mark.parametrize("bands, km_by, drawn", [("auto", "none", True), ("auto", "histology_group", False),
                                                 ("on", "histology_group", True), ("off", "none", False)])
def test_ci_bands_follow_the_choice_and_the_number_of_curves(bands, km_by, drawn):
    patients = load_patients(FilterState())
    choice = {c.field: c for c in survival.choices(patients, MethodState(bands=bands))}["bands"]
    assert choice.value == bands and choice.options == ("auto", "on", "off")
    view = km_view(survival.build(patients, MethodState(km_by=km_by, bands=bands)))
    assert _has_band(view) == drawn
    caption = next(p for p in view.parts if isinstance(p, Chart)).caption
    assert ("band = pointwise 95% CI" in caption) == drawn and ("CI bands hidden" in caption) == (not drawn)


def test_km_time_axis_ticks_are_whole_round_months():
    view = km_view(survival.build(load_patients(FilterState()), MethodState()))
    spec = next(p for p in view.parts if isinstance(p, Chart)).chart.to_dict()
    values = spec["vconcat"][0]["layer"][0]["encoding"]["x"]["axis"]["values"]
    assert values == [0, 3, 6, 9, 12, 15]


def test_the_km_slide_fallback_is_built_only_when_a_slide_asks_for_it(monkeypatch):
    built = []
    original = survival.km_slide_fallback
    monkeypatch.setattr(survival, "km_slide_fallback", lambda *args: built.append(args) or original(*args))
    view = km_view(survival.build(load_patients(FilterState()), MethodState(km_by="histology_group")))
    assert built == [] and callable(view.slide_fallback)  # a page run draws the screen's chart only
    fallback = view.slide_fallback()
    assert len(built) == 1 and fallback.name == "risk table" and fallback.note == survival.KM_SLIDE_NOTE
    screen_risk = next(t for t in view.parts if isinstance(t, Table) and t.name.startswith("pfs-risk-table"))
    pd.testing.assert_frame_equal(fallback.table, screen_risk.frame)  # the slide's risk table is the screen's
    assert "Progression-free survival" in str(fallback.chart.to_dict())
