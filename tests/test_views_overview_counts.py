"""The Overview of a large source (counts from DuckDB) shows the same numbers as the patient-level page."""
from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.reconcile import reconcile
from data.build import ensure_database
from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import overview, overview_counts
from sarcoma_app.views.blocks import Cards, Note, Table, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState


def read(con, name: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {name}").df()


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def source(request):
    """A connection, its studies table and its reconciliation (None for the simulated source)."""
    if request.param == "bundled":
        connection = duckdb.connect(str(ensure_database()), read_only=True)
        patients = read(connection, "patients")
        published = reconcile(read(connection, "published_results"), patients, studies=read(connection, "studies"),
                              assumptions=read(connection, "patient_value_sources"))
        yield connection, read(connection, "studies"), published
    else:
        connection = duckdb.connect(":memory:")
        frame = simulate_cohort(5_000, seed=5, time_decimals=2)[0]
        connection.register("frame", frame)
        connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
        studies = pd.DataFrame({"study_id": sorted(frame["study_id"].unique())})
        yield connection, studies, None
    connection.close()


def counted(con, filters: FilterState) -> dict[str, pd.DataFrame]:
    out = {}
    for part, columns in overview_counts.QUERIES.items():
        sql, parameters = count_sql.pattern_counts_sql(filters, columns, hide_simulated=False)
        out[part] = con.execute(sql, list(parameters)).df()
    return out


def close(a, b, what):
    if isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), what
    else:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), what


@pytest.mark.parametrize("methods", [MethodState(), MethodState(denominator="evaluable", ci="wilson",
                                                                 conf_type="log-log")])
def test_count_overview_shows_the_patient_numbers(source, methods):
    con, studies, published = source
    filters = FilterState()
    sql, parameters = filter_sql.patients_sql(filters, hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    by_patients = overview.build(patients, methods, studies, published)
    by_counts = overview_counts.build(counted(con, filters), methods, studies, published)
    assert isinstance(by_counts[-1], Note) and by_counts[-1].text.startswith("Large source")
    by_counts = by_counts[:-1]
    (expected,), (shown,) = views_of(by_patients), views_of(by_counts)
    pd.testing.assert_frame_equal(shown.table.frame, expected.table.frame)
    assert [b for b in by_counts if isinstance(b, Cards)] == [b for b in by_patients if isinstance(b, Cards)]
    assert [b.text for b in by_counts if isinstance(b, Note)] == [b.text for b in by_patients if isinstance(b, Note)]
    assert [b.frame.to_dict() for b in by_counts if isinstance(b, Table)] == \
        [b.frame.to_dict() for b in by_patients if isinstance(b, Table)]
    assert list(shown.result) == list(expected.result)
    for study_id, summary in shown.result.items():
        other = expected.result[study_id]
        pd.testing.assert_series_equal(summary["rates"], other["rates"], rtol=1e-12, atol=1e-12)
        assert summary["reason"] == other["reason"] and summary["denominator"] == other["denominator"]
        assert (summary["km"] is None) == (other["km"] is None)
        if summary["km"] is not None:
            km, km_patients = summary["km"], other["km"]
            for name in ("median", "n", "n_events"):
                close(getattr(km, name), getattr(km_patients, name), name)
            for a, b in zip(km.median_ci, km_patients.median_ci):
                close(a, b, "median CI")
            for name in ("median", "lower", "upper", "n"):
                close(getattr(summary["follow_up"], name), getattr(other["follow_up"], name), name)


def test_no_selected_patient():
    empty = {"responses": pd.DataFrame({"study_id": [], "best_response": [], "n": []}),
             "pfs": pd.DataFrame({"study_id": [], "pfs_months": [], "pfs_event": [], "n": []})}
    assert overview_counts.build(empty, MethodState(), pd.DataFrame({"study_id": []}))[0].text.startswith(
        "No patient matches")


def test_registry_numbers_have_thousands_separators(source):
    """A 5,000-patient source reads '5,000' in the cards and the headline table, never '5000'."""
    con, studies, published = source
    blocks = overview_counts.build(counted(con, FilterState()), MethodState(), studies, published)
    cards = next(b for b in blocks if isinstance(b, Cards))
    texts = [f"{m.value} {m.caption}" for card in cards.cards for m in card.metrics]
    table = views_of(blocks)[0].table.frame
    texts += [str(v) for v in table.to_numpy().ravel()]
    big = [t for t in texts if re.search(r"(?<![\d.,])\d{4,}(?![\d.])", t)]
    assert not big, big
    if len(cards.cards) == 1:  # the simulated source
        assert any("5,000" in t for t in texts)
