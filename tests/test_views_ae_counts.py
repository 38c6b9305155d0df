"""The Adverse events page of a large source (counts from DuckDB) shows the patient-level page's numbers."""
from __future__ import annotations

import pandas as pd
import pytest

from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import adverse_events, adverse_events_counts, prepare
from sarcoma_app.views.blocks import Chart, Table, views_of
from sarcoma_app.viewstate.url_state import FilterState
from tests.test_adverse_events_counts import bundled_or_simulated


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    connection = bundled_or_simulated(request.param, 3_000, 8)
    yield connection
    connection.close()


@pytest.mark.parametrize("filters", [FilterState(), FilterState(pazopanib=("yes",))])
def test_count_page_equals_patient_page(con, filters):
    patients = con.execute(*map(lambda x: x if isinstance(x, str) else list(x),
                                filter_sql.patients_sql(filters, hide_simulated=False))).df()
    where, parameters = filter_sql.where_clause(filters, hide_simulated=False)
    events = con.execute("SELECT a.study_id, a.patient_id, a.patient_ref, a.term, a.term_group, a.grade, a.source, "
                         f"a.note FROM adverse_events a WHERE a.patient_id IN (SELECT patient_id FROM patients {where})",
                         list(parameters)).df()
    sql, p = count_sql.adverse_event_counts_sql(filters, hide_simulated=False)
    counts = count_sql.split_ae_counts(con.execute(sql, list(p)).df())
    blocks = adverse_events_counts.build(counts, len(patients))
    if events.empty:
        assert "None of the selected patients" in blocks[-1].text
        return
    view = {v.key: v for v in views_of(blocks)}["ae_patient_chart"]
    pd.testing.assert_frame_equal(view.result, adverse_events.patient_counts(patients, events))
    expected_bars = prepare.events_by_term_and_grade(events)
    pd.testing.assert_frame_equal(counts["bars"].reset_index(drop=True), expected_bars, check_dtype=False)
    assert any(isinstance(part, Chart) for part in view.parts) and any(isinstance(p, Table) for p in view.parts)


def test_no_patient():
    assert adverse_events_counts.build({}, 0)[-1].text.startswith("No patient matches")


@pytest.mark.parametrize("limit", [5, 100_000])
def test_a_counted_page_lists_the_first_events_as_the_patient_page_does(con, monkeypatch, limit):
    """The first rows of the patient page's list, saying so when there are more; the whole list when it fits."""
    from sarcoma_app.sources import db

    monkeypatch.setattr(db, "query", lambda sql, parameters=(), copy=True: con.execute(sql, list(parameters)).df())
    monkeypatch.setattr(db, "_hide_simulated", lambda: False)
    filters = FilterState()
    every = db.load_adverse_events(filters)
    first, more = db.first_adverse_events(filters, limit)
    assert more == (len(every) > limit) and len(every) > 0
    pd.testing.assert_frame_equal(first, every.head(limit))
    sql, p = count_sql.adverse_event_counts_sql(filters, hide_simulated=False)
    counts = count_sql.split_ae_counts(con.execute(sql, list(p)).df())
    n_selected = int(con.execute("SELECT count(*) FROM patients").fetchone()[0])
    listing = [b for b in adverse_events_counts.build(counts, n_selected, first, more)
               if isinstance(b, Table) and b.name == "patient-ae-events"]
    assert len(listing) == 1
    pd.testing.assert_frame_equal(listing[0].frame, adverse_events.event_listing(every.head(limit)))
    if more:
        charted = int(every["term"].notna().sum())
        assert listing[0].caption.startswith(f"The first {limit:,} events of the selected patients")
        assert f"the chart counts all {charted:,} with a term" in listing[0].caption
    else:
        assert listing[0].caption == ""
