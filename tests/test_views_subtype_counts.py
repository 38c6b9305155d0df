"""Subtype across studies of a large source (counts from DuckDB) shows the same numbers as the patient-level page.

Both paths run on the same DuckDB data: the bundled database and a simulated registry of two studies, edited so
that it holds a subtype without any PFS event, a study where a subtype has no evaluable patient (an empty
denominator), PFS missing for one study and a selection in which the chosen subtype has no patient.
"""
from __future__ import annotations

import dataclasses
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest

from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import common, subtype, subtype_counts
from sarcoma_app.views.blocks import Note, Table, View, blocks_text, picks_of, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.conftest import count_source

#: The edited simulated registry: its second study, the subtype without events, the subtype never evaluable there.
OTHER_STUDY, NO_EVENTS, NEVER_EVALUABLE = "simulated_other", "Angiosarcoma", "Chondrosarcoma"


def simulated_registry() -> duckdb.DuckDBPyConnection:
    frame = simulate_cohort(5_000, seed=6, time_decimals=2)[0]
    rng = np.random.default_rng(6)
    other = rng.random(len(frame)) < 0.4
    frame.loc[other, "study_id"] = OTHER_STUDY
    no_events = frame["histology_group"].eq(NO_EVENTS)
    frame.loc[no_events, "pfs_event"] = 0
    never = other & frame["histology_group"].eq(NEVER_EVALUABLE)
    frame.loc[never, "best_response"] = None
    frame.loc[never, "evaluable"] = False
    frame.loc[never, "pfs_months"] = np.nan  # and no PFS for this subtype in that study
    frame.loc[rng.random(len(frame)) < 0.05, "pfs_event"] = pd.NA  # some events not recorded
    connection = duckdb.connect(":memory:")
    connection.register("frame", frame)
    connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
    return connection


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    connection = count_source("bundled", seed=0) if request.param == "bundled" else simulated_registry()
    yield connection
    connection.close()


def fetch(con, sql_parameters) -> pd.DataFrame:
    sql, parameters = sql_parameters
    return con.execute(sql, list(parameters)).df()


def table_or_none(con, name: str) -> pd.DataFrame | None:
    present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0]
    return con.execute(f"SELECT * FROM {name}").df() if present else None


def both(con, filters: FilterState, methods: MethodState, chosen: str | None, pooled: bool = False):
    """The page's blocks from the patients and from the counts, each as the page builds them."""
    selection = replace(filters, histology=(), histology_group=())
    tables = {name: table_or_none(con, name) for name in ("studies", "published_response_by_histology",
                                                          "source_conflicts")}
    options = dict(chosen=chosen, pooled=pooled, studies=tables["studies"],
                   printed=tables["published_response_by_histology"], conflicts=tables["source_conflicts"],
                   histology_filtered=bool(filters.histology or filters.histology_group))
    everyone = fetch(con, filter_sql.patients_sql(FilterState(), hide_simulated=False))
    patients = fetch(con, filter_sql.patients_sql(selection, hide_simulated=False))
    by_patients = subtype.build(patients, methods, every_patient=everyone, **options)
    menu = fetch(con, count_sql.pattern_counts_sql(FilterState(), subtype.MENU_COLUMNS, hide_simulated=False))
    choice = subtype_counts.chosen(menu, chosen)
    pfs = None if choice is None else fetch(con, count_sql.survival_counts_within_sql(
        selection, choice.column, choice.value, "pfs", "study", hide_simulated=False))
    asked = []

    def with_pfs():
        asked.append(True)
        return fetch(con, count_sql.studies_with_endpoint_sql(FilterState(), "pfs", hide_simulated=False))[
            "study_id"].astype(str).tolist()

    counted = fetch(con, count_sql.pattern_counts_sql(selection, subtype.COUNTED_COLUMNS, hide_simulated=False))
    by_counts = subtype_counts.build(menu, counted, pfs, methods, with_pfs=with_pfs, **options)
    return by_patients, by_counts, choice, asked


def assert_same(result, expected, where="result"):
    """Equal to 1e-12 (numbers), exactly (text, structure), recursively through frames, dicts and dataclasses."""
    if isinstance(result, pd.DataFrame):
        pd.testing.assert_frame_equal(result.reset_index(drop=True), expected.reset_index(drop=True),
                                      check_exact=False, rtol=1e-12, atol=1e-12, check_dtype=False,
                                      obj=where)
    elif isinstance(result, pd.Series):
        pd.testing.assert_series_equal(result.reset_index(drop=True), expected.reset_index(drop=True),
                                       check_exact=False, rtol=1e-12, atol=1e-12, check_dtype=False)
    elif isinstance(result, np.ndarray):
        assert result.shape == np.asarray(expected).shape, where
        if result.dtype.kind in "fiub":
            np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=where)
        else:
            assert result.tolist() == np.asarray(expected).tolist(), where
    elif isinstance(result, dict):
        assert list(result) == list(expected), where
        for key in result:
            assert_same(result[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(result, (list, tuple)):
        assert len(result) == len(expected), where
        for i, (a, b) in enumerate(zip(result, expected)):
            assert_same(a, b, f"{where}[{i}]")
    elif dataclasses.is_dataclass(result) or hasattr(result, "__dict__"):
        assert type(result) is type(expected), where
        left = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)} if dataclasses.is_dataclass(
            result) else vars(result)
        right = {f.name: getattr(expected, f.name) for f in dataclasses.fields(expected)} if \
            dataclasses.is_dataclass(expected) else vars(expected)
        assert_same(left, right, where)
    elif isinstance(result, float) and np.isnan(result):
        assert isinstance(expected, float) and np.isnan(expected), where
    elif isinstance(result, (int, float, np.number)) and not isinstance(result, bool):
        assert result == pytest.approx(expected, rel=1e-12, abs=1e-12), where
    else:
        assert result == expected, where


def shown(blocks) -> dict[str, object]:
    """Every table, slide table and result of the views, and the chart data, by name."""
    out = {}
    for view in views_of(blocks):
        for part in view.parts:
            if isinstance(part, Table):
                out[f"{view.key}:{part.name}"] = part.frame
        if view.slide_table is not None:
            out[view.key + ":slide"] = view.slide_table
        out[view.key + ":result"] = view.result
        out[view.key + ":n_text"] = (view.n_text if view.n_text is not None else
                                     None if view.patients is None else f"{len(view.patients):,} patients")
        if view.chart is not None:
            out[view.key + ":chart"] = view.chart.chart.to_dict()
    return out


def assert_pages_agree(by_patients, by_counts):
    assert [v.key for v in views_of(by_counts)] == [v.key for v in views_of(by_patients)]
    expected, result = shown(by_patients), shown(by_counts)
    listing = "subtype_km:subtype-"  # a short PFS listing: patient ids on the patient page only
    assert [k for k in result if not k.endswith("-pfs-patients")] == \
        [k for k in expected if not k.endswith("-pfs-patients")]
    for name, value in result.items():
        if name.startswith(listing) and name.endswith("-pfs-patients"):
            continue
        assert_same(value, expected[name], name)
    # a short PFS listing: the patient page lists each patient, the count page patients per study, time, status
    listed = {name: value for name, value in result.items() if name.endswith("-pfs-patients")}
    for name, value in listed.items():
        per_patient = expected[name].groupby(["Study", "PFS, months", "Status"]).size().reset_index(name="Patients")
        assert_same(value.sort_values(["Study", "PFS, months", "Status"]), per_patient, name)
    # every text the patient page shows, in order; the count page adds its closing note only
    last = by_counts[-1]
    assert isinstance(last, Note) and last.text.startswith("Large source")
    assert blocks_text(without_listing(by_counts[:-1])) == blocks_text(without_listing(by_patients))
    assert {k: (p.value, p.options) for k, p in picks_of(by_counts).items()} == \
        {k: (p.value, p.options) for k, p in picks_of(by_patients).items()}
    menu = picks_of(by_counts).get(subtype.CHOICE_KEY)
    if menu is not None:
        assert [menu.format(o) for o in menu.options] == \
            [picks_of(by_patients)[subtype.CHOICE_KEY].format(o) for o in menu.options]


def without_listing(blocks) -> list:
    return [replace(b, parts=[p for p in b.parts if not (isinstance(p, Table) and p.name.endswith("-pfs-patients"))])
            if isinstance(b, View) else b for b in blocks]


def every_choice(con) -> list[str]:
    menu = fetch(con, count_sql.pattern_counts_sql(FilterState(), subtype.MENU_COLUMNS, hide_simulated=False))
    return [choice.key for choice in subtype.subtype_choices(menu)]


@pytest.mark.parametrize("methods, pooled", [
    (MethodState(), False),
    (MethodState(denominator="evaluable", ci="wilson", conf_type="log-log", landmarks=(3.0, 6.0)), True),
    (MethodState(ci="jeffreys", borrow_endpoint="dcr", borrow_model="exnex", heterogeneity="large"), True),
])
def test_every_subtype_shows_the_patient_page_numbers(con, methods, pooled):
    for chosen in [None, *every_choice(con)]:
        by_patients, by_counts, _, _ = both(con, FilterState(), methods, chosen, pooled)
        assert_pages_agree(by_patients, by_counts)


def test_the_default_is_the_subtype_with_most_patients_from_a_count_query(con):
    menu = fetch(con, count_sql.pattern_counts_sql(FilterState(), subtype.MENU_COLUMNS, hide_simulated=False))
    everyone = fetch(con, filter_sql.patients_sql(FilterState(), hide_simulated=False))
    largest = everyone["histology_group"].value_counts()
    choice = subtype_counts.chosen(menu, None)
    assert choice == subtype.SubtypeChoice("group", largest.index[0]) and largest.iloc[0] > largest.iloc[1]
    assert subtype_counts.chosen(menu, "group:No such group") == choice
    assert int(menu["n"].sum()) == len(everyone)  # every patient counted once


def test_edge_cases_of_the_simulated_registry():
    con = simulated_registry()
    try:
        # a subtype without any PFS event: median not reached, curves flat, the same on both pages
        by_patients, by_counts, choice, _ = both(con, FilterState(), MethodState(), f"group:{NO_EVENTS}", True)
        assert_pages_agree(by_patients, by_counts)
        summaries = {v.key: v for v in views_of(by_counts)}["subtype_table"].result
        assert summaries["pfs_events"].eq(0).all() and summaries["pfs_n"].gt(0).all()
        assert summaries["median"].isna().all()
        # a study where the subtype has no evaluable patient and no PFS: empty denominator, no curve of it
        by_patients, by_counts, _, _ = both(con, FilterState(), MethodState(denominator="evaluable"),
                                            f"group:{NEVER_EVALUABLE}")
        assert_pages_agree(by_patients, by_counts)
        row = {v.key: v for v in views_of(by_counts)}["subtype_table"].result.set_index("study_id").loc[OTHER_STUDY]
        assert row["denominator"] == 0 and np.isnan(row["orr"]) and row["pfs_n"] == 0
        # the sidebar selects no patient of the chosen subtype: the message, on both pages
        filters = FilterState(study=(OTHER_STUDY,), evaluable_only=True)
        by_patients, by_counts, _, asked = both(con, filters, MethodState(), f"group:{NEVER_EVALUABLE}")
        assert common.NO_PATIENTS in by_counts and not views_of(by_counts)
        assert_pages_agree(by_patients, by_counts)
        # none of the subtype's patients has PFS: the studies recording it are asked for, once
        filters = FilterState(study=(OTHER_STUDY,))
        by_patients, by_counts, _, asked = both(con, filters, MethodState(), f"group:{NEVER_EVALUABLE}")
        assert_pages_agree(by_patients, by_counts)
        assert asked == [True] and "subtype_km" not in [v.key for v in views_of(by_counts)]
    finally:
        con.close()


def test_a_subtype_named_like_the_unknown_option_matches_exactly():
    """The PFS count query compares the histology itself: a missing histology is not the value 'unknown'."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE patients (study_id VARCHAR, histology VARCHAR, pfs_months DOUBLE, pfs_event INTEGER)")
    con.execute("INSERT INTO patients VALUES ('a', 'unknown', 1, 1), ('a', NULL, 2, 1), ('a', 'x', 3, 0)")
    counts = fetch(con, count_sql.survival_counts_within_sql(FilterState(), "histology", "unknown", "pfs", "study",
                                                             hide_simulated=False))
    assert counts["time"].tolist() == [1.0] and counts["n_event"].tolist() == [1]
    with pytest.raises(ValueError, match="not patient columns"):
        count_sql.survival_counts_within_sql(FilterState(), "histology; DROP TABLE patients", "x", "pfs")
    studies = fetch(con, count_sql.studies_with_endpoint_sql(FilterState(study=("a",)), "pfs"))
    assert studies["study_id"].tolist() == ["a"]
    con.close()
