"""The Published vs recomputed and Data & methods pages' pure view builders, called directly."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis.reconcile import reconcile
from sarcoma_app.views import data_methods, published
from sarcoma_app.views.blocks import Columns, Expander, Metrics, PageLink, Table, Tabs, blocks_text, picks_of, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.test_snippets import load_patients, read_table


@pytest.fixture(scope="module")
def inputs() -> dict:
    tables = {name: read_table(name) for name in ("published_results", "source_conflicts", "patient_value_sources",
                                                  "studies", "data_dictionary", "histology_glossary")}
    patients = load_patients(FilterState())
    comparison = reconcile(tables["published_results"], patients, studies=tables["studies"],
                           assumptions=tables["patient_value_sources"])
    return {"patients": patients, "comparison": comparison, **tables}


def published_blocks(inputs, status=None, detail=None):
    return published.build(inputs["patients"], MethodState(), comparison=inputs["comparison"],
                           published_results=inputs["published_results"], conflicts=inputs["source_conflicts"],
                           value_sources=inputs["patient_value_sources"], studies=inputs["studies"], status=status,
                           detail=detail)


def test_published_headline_metrics_and_one_table_per_paper(inputs):
    blocks = published_blocks(inputs)
    assert blocks[0].text == "Of 20 published numbers: 14 reproduced, 3 under an assumption, 0 differ, 3 not computable"
    metrics = {m.label: m.value for m in blocks[1].items} if isinstance(blocks[1], Metrics) else {}
    assert metrics["Published numbers"] == 20 and metrics["✔ reproduced"] == 14 and metrics["○ not computable"] == 3
    view, = views_of(blocks)
    tables = [p for p in view.parts if isinstance(p, Table)]
    assert [len(t.frame) for t in tables] == [12, 8] and len(view.slide_table) == 20
    assert tables[0].column_config["Status"] == {"width": 235}
    assert "**Nab\\-paclitaxel \\+ sintilimab** · 002\\_e13a0ade5dd2a04e\\.txt — 12 numbers: 8 reproduced" in \
        blocks_text([view])
    # the open readings: the patients come from patient_value_sources, not from code
    assert "NAB\\-08 (15 months) and NAB\\-09 (7.8 months) are the only patients" in blocks_text(blocks)
    assert isinstance(blocks[-1], PageLink) and blocks[-1].page == "pages/data-methods.py"


def test_published_status_filter_and_detail(inputs):
    blocks = published_blocks(inputs, status="not computable", detail="nab_hr_head")
    view, = views_of(blocks)
    assert len(view.slide_table) == 3 and set(view.slide_table["Status"]) == {"○ not computable"}
    assert picks_of(blocks)[published.STATUS_KEY].value == "not computable"
    assert picks_of(blocks)[published.DETAIL_KEY].value == "nab_hr_head"
    assert [e.label[:6] for e in blocks if isinstance(e, Expander)] == ["C13 — ", "C18 — "]
    assert any(isinstance(b, Columns) and b.border for b in blocks)
    assert "Recorded conflicts that concern this number:** C13, C18" in blocks_text(blocks)
    fallback = published_blocks(inputs, status="nonsense", detail="nonsense")
    assert picks_of(fallback)[published.STATUS_KEY].value == "all"
    detail_pick = picks_of(fallback)[published.DETAIL_KEY]
    assert detail_pick.value == detail_pick.options[0] and len(detail_pick.options) == 20
    assert len(views_of(fallback)[0].slide_table) == 20


def test_data_methods_tabs_hold_the_tables(inputs):
    blocks = data_methods.build(MethodState(ci="wilson", landmarks=()), studies=inputs["studies"],
                                conflicts=inputs["source_conflicts"], dictionary=inputs["data_dictionary"],
                                glossary=inputs["histology_glossary"])
    tabs, = blocks
    assert isinstance(tabs, Tabs) and [label for label, _ in tabs.tabs] == list(data_methods.TAB_LABELS)
    methods_text = tabs.tabs[0][1][0].text
    assert "Wilson" in methods_text and "landmark times — none months" in methods_text
    conflicts = [t for t in tabs.tabs[2][1] if isinstance(t, Table)][0]
    assert len(conflicts.frame) == len(inputs["source_conflicts"]) and "Value used" in conflicts.frame.columns
    assert conflicts.frame.columns[1] == "Study"
    studies = tabs.tabs[1][1][0]
    assert studies.frame["Study"].tolist()[0] in ("Nivolumab ± pazopanib", "Nab-paclitaxel + sintilimab")
    other = data_methods.build(MethodState(), studies=inputs["studies"], conflicts=inputs["source_conflicts"].iloc[0:0],
                               dictionary=inputs["data_dictionary"], glossary=inputs["histology_glossary"],
                               bundled=False, published_tables=False)
    text = blocks_text(other)
    assert "Source conflicts (statements of a paper that disagree) exist for the two published papers only" in text
    assert "The cohort(s) of the selected data source" in text
    assert "All 0 places" in text


def test_methods_tab_describes_the_hierarchical_model_with_its_prior_scales():
    from analysis.methods import HETEROGENEITY_SCALES
    from sarcoma_app.views.data_methods import methods_text
    text = methods_text(MethodState())
    assert "**Borrowing across subtypes (exploratory).**" in text and "JAGS" in text and "exchangeable" in text
    for name, scale in HETEROGENEITY_SCALES.items():
        assert f"{name} heterogeneity scale {scale:g}" in text
