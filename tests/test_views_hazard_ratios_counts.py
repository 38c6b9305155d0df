"""The Hazard ratios page of a large source (counts from DuckDB) shows the same numbers as the patient page."""
from __future__ import annotations

from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import firth
from data import registry
from data.simulate import simulate_cohort

from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import hazard_ratios, hazard_ratios_counts
from sarcoma_app.views.blocks import Controls, Note, Table, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.conftest import count_source
from tests.test_zph_counts import per_event


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    connection = count_source(request.param, seed=11)
    yield connection
    connection.close()


def recorded(con) -> dict[str, tuple[int, int]]:
    row = con.execute(filter_sql.recorded_counts_sql()).df().iloc[0]
    return {c: (int(row[f"{c}__n"]), int(row[f"{c}__d"])) for c in filter_sql.PATIENT_COLUMNS}


def patients_of(con, filters: FilterState) -> pd.DataFrame:
    sql, parameters = filter_sql.patients_sql(filters, hide_simulated=False)
    return con.execute(sql, list(parameters)).df()


def count_page(con, filters: FilterState, methods: MethodState, queries: list | None = None):
    def fetch(columns):
        if queries is not None:
            queries.append(columns)
        sql, parameters = count_sql.cox_counts_sql(filters, methods.survival_endpoint, list(columns),
                                                   hide_simulated=False)
        return con.execute(sql, list(parameters)).df()
    patients = patients_of(con, filters)
    return hazard_ratios_counts.page(fetch, recorded(con), patients["study_id"].nunique(), len(patients), methods)


def results(blocks) -> dict[str, pd.DataFrame]:
    out = {}
    for view in views_of(blocks):
        if isinstance(view.result, dict):  # the proportional-hazards check: its table, and its residuals sorted
            out[view.key + "-result"], out[view.key + "-residuals"] = view.result["table"], per_event(view.result)
        else:
            out[view.key + "-result"] = view.result
        for part in view.parts:
            if isinstance(part, Table):
                out[part.name] = part.frame
    return out


def assert_same_tables(shown: dict, expected: dict):
    assert set(shown) <= set(expected) and {"cox_univariate-result", "cox-univariate"} <= set(shown)
    for name, table in shown.items():
        left, right = table.reset_index(drop=name.endswith("-result")), expected[name]
        right = right.reset_index(drop=name.endswith("-result"))
        left = left.drop(columns=["warnings"], errors="ignore")
        right = right.drop(columns=["warnings"], errors="ignore")
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-10, atol=1e-10, check_dtype=False)


@pytest.mark.parametrize("methods", [
    MethodState(),
    MethodState(ties="breslow", p_adjust="holm", cox_terms=("histology_group", "pazopanib", "sex")),
    MethodState(stratify="none", cox_terms=("ecog", "prior_lines")),
    MethodState(survival_endpoint="os", cox_terms=("angiosarcoma",)),
])
def test_count_page_shows_the_patient_page_hazard_ratios(con, methods):
    filters = FilterState()
    patients = patients_of(con, filters)
    resolved = replace(methods, **{c.field: c.value for c in hazard_ratios.choices(patients, methods)})
    if resolved.survival_endpoint != methods.survival_endpoint:
        pytest.skip("the source does not record this endpoint")
    expected = results(hazard_ratios.build(patients, resolved))
    shown = results(count_page(con, filters, resolved))
    assert_same_tables(shown, expected)
    assert ("cox_multivariable-result" in shown) == ("cox_multivariable-result" in expected)
    assert ("cox_zph-result" in shown) == ("cox_zph-result" in expected)  # the check, where the patients have it


@pytest.fixture(scope="module")
def three_studies():
    """Three simulated studies of different sizes and follow-up (times rounded: tied within and across)."""
    connection = duckdb.connect(":memory:")
    parts = [simulate_cohort(n, seed=seed, label=label, time_decimals=1)[0]
             for n, seed, label in ((1500, 1, "a"), (900, 2, "b"), (400, 3, "c"))]
    connection.register("frame", pd.concat(parts, ignore_index=True))
    connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
    yield connection
    connection.close()


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_the_stratified_count_page_is_stratified_like_the_patient_page(three_studies, ties):
    patients = patients_of(three_studies, FilterState())
    methods = MethodState(stratify="study", ties=ties, cox_terms=("histology_group", "ecog", "pazopanib"))
    shown = results(count_page(three_studies, FilterState(), methods))
    assert shown["cox_multivariable-result"].attrs["strata"] == 3
    assert shown["cox_univariate-result"].attrs["strata_column"] == "study_id"
    assert_same_tables(shown, results(hazard_ratios.build(patients, methods)))
    unstratified = results(count_page(three_studies, FilterState(), replace(methods, stratify="none")))
    assert not unstratified["cox_univariate-result"]["hr"].equals(shown["cox_univariate-result"]["hr"])


@pytest.fixture(scope="module")
def no_events_in_a_group():
    """A simulated study in which the patients on pazopanib have no PFS event (its ordinary HR is 0)."""
    connection = duckdb.connect(":memory:")
    patients = simulate_cohort(3000, seed=4, time_decimals=1)[0]
    patients.loc[patients["pazopanib"].fillna(False).to_numpy(bool), "pfs_event"] = 0
    connection.register("frame", patients)
    connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
    yield connection
    connection.close()


@pytest.mark.parametrize("cox_terms", [("pazopanib",), ("pazopanib", "sex")])
def test_the_count_page_fits_firth_where_the_hazard_ratio_is_zero_like_the_patient_page(no_events_in_a_group,
                                                                                      cox_terms):
    methods = MethodState(stratify="none", cox_terms=cox_terms)
    patients = patients_of(no_events_in_a_group, FilterState())
    expected = results(hazard_ratios.build(patients, methods))
    shown = results(count_page(no_events_in_a_group, FilterState(), methods))
    for name in ("cox_univariate_firth-result", "cox_multivariable_firth-result"):
        assert name in expected and name in shown  # both the screening's and the model's
    for name in ("cox-univariate-firth", "cox-multivariable-firth"):  # the tables as shown, every digit
        pd.testing.assert_frame_equal(shown[name], expected[name])
    for name in ("cox_univariate_firth-result", "cox_multivariable_firth-result"):
        np.testing.assert_allclose(shown[name].select_dtypes("number").to_numpy(float),
                                   expected[name].select_dtypes("number").to_numpy(float), rtol=1e-7)


def test_a_firth_fit_that_does_not_converge_says_so(no_events_in_a_group, monkeypatch):
    monkeypatch.setattr(firth, "MAX_ITER", 1)
    blocks = count_page(no_events_in_a_group, FilterState(), MethodState(stratify="none", cox_terms=("pazopanib",)))
    texts = [b.text for b in blocks if isinstance(b, Note)]
    assert any("Firth-penalised model: penalised likelihood did not converge" in t for t in texts), texts


def test_the_firth_fits_of_a_page_share_one_budget(no_events_in_a_group):
    patients = patients_of(no_events_in_a_group, FilterState())
    screen = results(hazard_ratios.build(patients, MethodState(stratify="none", cox_terms=("pazopanib",))))
    terms = screen["cox_univariate-result"]
    assert hazard_ratios.monotone(terms).any()
    fitted = []
    budget = hazard_ratios.FirthBudget()  # three fits of the largest size, then none
    for _ in range(4):
        blocks = hazard_ratios.firth_blocks(
            terms, registry.ENDPOINTS["pfs"], separately=True, budget=budget,
            fit=lambda group: fitted.append(group) or screen["cox_univariate_firth-result"],
            size=lambda group: (hazard_ratios.FIRTH_MAX_SIZE, "rows"))
        texts = [b.text for b in blocks if isinstance(b, Note)]
    assert len(fitted) == 3 == hazard_ratios.FIRTH_PAGE_SIZE // hazard_ratios.FIRTH_MAX_SIZE
    assert any("has fitted as many Firth models as it fits on the fly" in t for t in texts), texts


def test_covariates_on_one_column_share_one_query(con):
    queries = []
    count_page(con, FilterState(), MethodState(cox_terms=("angiosarcoma", "histology_group")), queries)
    # angiosarcoma and the histology groups are both on histology_group, and so is the model of the two:
    # its query comes first and serves both screening tables and the model; every column is counted once
    columns = [c for q in queries for c in q if c != "study_id"]
    assert len(queries) == len(set(queries)) and len(columns) == len(set(columns))
    assert len(columns) == len(hazard_ratios_counts.recorded_covariates(recorded(con))) - 1
    assert queries[0][0] == "histology_group" and sum("histology_group" in q for q in queries) == 1


def test_a_filtered_selection_and_an_empty_one(con):
    filters = FilterState(pazopanib=("yes",))
    patients = patients_of(con, filters)
    methods = replace(MethodState(), stratify="none")
    if not patients.empty and patients["pfs_event"].sum() > 0:
        assert_same_tables(results(count_page(con, filters, methods)),
                           results(hazard_ratios.build(patients, methods)))
    nobody = FilterState(histology=("no such histology",))
    blocks = count_page(con, nobody, methods)
    assert isinstance(blocks[0], Note) and blocks[0].text.startswith("No patient matches")


def test_no_events_and_no_chosen_covariate_are_said_not_fitted():
    counts = pd.DataFrame({"ecog": [0, 1, 0], "time": [1.0, 2.0, None], "n_event": [0, 0, 0],
                           "n_censor": [3, 4, 1]})
    blocks = hazard_ratios_counts.build({"ecog": counts}, counts, 8, MethodState(stratify="none"))
    texts = [b.text for b in blocks if isinstance(b, Note)]
    assert any("7 of 8 selected patients are analysable" in t for t in texts)
    assert any("hazard ratios cannot be estimated" in t for t in texts)
    with_events = counts.assign(n_event=[1, 2, 0])
    blocks = hazard_ratios_counts.build({"ecog": with_events}, None, 11, MethodState(stratify="none", cox_terms=()))
    assert any(isinstance(b, Controls) for b in blocks)
    assert not any(v.key == "cox_multivariable" for v in views_of(blocks))
    assert any(isinstance(b, Note) and "Choose at least one covariate" in b.text for b in blocks)


def test_an_endpoint_the_source_lacks_is_not_queried():
    blocks = hazard_ratios_counts.page(lambda columns: pytest.fail("queried"), {"pfs_months": (0, 0)}, 1, 10,
                                       MethodState())
    assert isinstance(blocks[0], Note) and "No selected patient has a recorded" in blocks[0].text


def test_count_tables_that_do_not_compress_the_patients_are_refused_before_any_fit(monkeypatch):
    from dataclasses import replace as replace_field

    from sarcoma_app import limits
    monkeypatch.setattr(limits, "SCALE", replace_field(limits.SCALE, cox_count_rows=limits.Limit(5, "rows", "test")))
    small = pd.DataFrame({"ecog": [0, 1] * 3, "time": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "n_event": [1] * 6,
                          "n_censor": [0] * 6})
    fetched = []
    blocks = hazard_ratios_counts.page(lambda columns: fetched.append(columns) or small,
                                       {"pfs_months": (6, 6), "pfs_event": (6, 2), "ecog": (6, 2)}, 1, 6,
                                       MethodState())
    assert len(blocks) == 1 and "Hazard ratios are not fitted for these 6 patients" in blocks[0].text
    assert "ecog" in blocks[0].text and len(fetched) == 1  # refused at the first table, nothing fitted
    sql, parameters = count_sql.cox_counts_sql(FilterState(), "pfs", ["ecog"], max_rows=5)
    assert sql.endswith("LIMIT ?") and parameters[-1] == 6


def test_a_refused_model_table_keeps_the_screening(monkeypatch):
    from dataclasses import replace as replace_field

    from sarcoma_app import limits
    rng = np.random.default_rng(4)
    patients = pd.DataFrame({"ecog": rng.integers(0, 2, 80), "sex": rng.choice(["Female", "Male"], 80),
                             "time": np.round(rng.exponential(10, 80)), "event": rng.integers(0, 2, 80)})

    def fetch(columns):  # one row per (columns, time)
        grouped = patients.groupby([*[c for c in columns if c != hazard_ratios_counts.STRATUM], "time"])["event"]
        return pd.concat([grouped.sum().rename("n_event"), (grouped.size() - grouped.sum()).rename("n_censor")],
                         axis=1).reset_index()

    one_column = max(len(fetch(("ecog",))), len(fetch(("sex",))))
    assert len(fetch(("ecog", "sex"))) > one_column
    monkeypatch.setattr(limits, "SCALE", replace_field(limits.SCALE, cox_count_rows=limits.Limit(one_column, "rows",
                                                                                                  "test")))
    recorded = {"pfs_months": (80, 40), "pfs_event": (80, 2), "ecog": (80, 2), "sex": (80, 2)}
    blocks = hazard_ratios_counts.page(fetch, recorded, 1, 80, MethodState(stratify="none", cox_terms=("ecog", "sex")))
    assert "cox_univariate" in {v.key for v in views_of(blocks)}  # the screening stands
    assert "cox_multivariable" not in {v.key for v in views_of(blocks)}
    refused = [b for b in blocks if isinstance(b, Note) and "multivariable model is not fitted" in b.text]
    assert len(refused) == 1 and "ecog, sex" in refused[0].text


def direct_counts(con, columns, endpoint="pfs"):
    sql, parameters = count_sql.cox_counts_sql(FilterState(), endpoint, list(columns), hide_simulated=False)
    return con.execute(sql, list(parameters)).df()


@pytest.mark.parametrize("with_stratum", [False, True])
@pytest.mark.parametrize("wanted", [MethodState().cox_terms, ("histology_group", "pazopanib", "sex"), ()])
def test_a_joint_count_table_gives_each_column_the_table_of_its_own_query(con, with_stratum, wanted):
    # the screening tables come from fewer queries: each must be exactly the query of its column
    # (same rows, order, values, missing values and types), including columns with missing values
    recorded_columns = recorded(con)
    groups = hazard_ratios_counts.joint_queries(recorded_columns, with_stratum, wanted)
    stratum = ("study_id",) if with_stratum else ()
    covered = [c for group in groups for c in group if c not in stratum]
    screened = {columns[0] for columns in hazard_ratios_counts.queries(recorded_columns, with_stratum).values()}
    assert sorted(covered) == sorted(screened)  # every screening column once
    assert len(groups) < len(screened)  # and fewer queries than columns
    with_missing = 0
    for group in groups:
        joint = direct_counts(con, group)
        for column in group[:len(group) - len(stratum)]:
            expected = direct_counts(con, (column, *stratum))
            with_missing += int(expected[column].isna().any())
            found = hazard_ratios_counts.marginal(joint, (column, *stratum))
            pd.testing.assert_frame_equal(found, expected, check_exact=True)
            # and missing as the query gives it (None in a text column, not NaN)
            assert [type(v) for v in found[column]] == [type(v) for v in expected[column]]
    assert with_missing  # the sources leave some covariate unrecorded for some patients


def test_the_screening_from_joint_tables_equals_one_query_per_column(con):
    # the whole page: from the joint queries, and from one query per column as before
    methods = MethodState(stratify="none", cox_terms=("histology_group", "pazopanib", "sex"))
    patients = patients_of(con, FilterState())

    def one_per_column(columns):
        return direct_counts(con, columns)

    single = dict(hazard_ratios_counts.queries(recorded(con), False))
    separate = hazard_ratios_counts.build({key: one_per_column(columns) for key, columns in single.items()},
                                          one_per_column(hazard_ratios_counts.variables(methods.cox_terms, False)),
                                          len(patients), methods)
    queried = []
    joint = count_page(con, FilterState(), methods, queried)
    assert len(queried) < len(set(single.values()))
    for name, table in results(joint).items():
        pd.testing.assert_frame_equal(table, results(separate)[name], check_exact=True)


def test_a_joint_table_too_long_falls_back_to_each_column_alone(con, monkeypatch):
    from dataclasses import replace as replace_field

    from sarcoma_app import limits
    methods = MethodState(stratify="none", cox_terms=("ecog",))
    expected = results(count_page(con, FilterState(), methods))
    singles = hazard_ratios_counts.queries(recorded(con), False).values()
    longest = max(len(direct_counts(con, columns)) for columns in singles)
    groups = hazard_ratios_counts.joint_queries(recorded(con), False, methods.cox_terms)
    too_long = [group for group in groups if len(direct_counts(con, group)) > longest]
    if not too_long:
        pytest.skip("every joint table of this source is as short as a column's")
    monkeypatch.setattr(limits, "SCALE", replace_field(limits.SCALE, cox_count_rows=limits.Limit(
        longest, "rows", "test")))
    queried = []
    shown = results(count_page(con, FilterState(), methods, queried))
    # the too-long joint tables were replaced by one query per column
    assert {(column,) for group in too_long for column in group} <= set(queried)
    assert shown.keys() == expected.keys()
    for name, table in shown.items():
        pd.testing.assert_frame_equal(table, expected[name], check_exact=True)


def test_a_refused_model_table_is_queried_again_in_packed_groups(con, monkeypatch):
    from dataclasses import replace as replace_field

    from sarcoma_app import limits
    methods = MethodState(stratify="none", cox_terms=("ecog", "pazopanib", "sex", "prior_lines", "histology_group"))
    recorded_columns = recorded(con)
    model, *others = hazard_ratios_counts.joint_queries(recorded_columns, False, methods.cox_terms)
    repacked = [tuple(g) for g in hazard_ratios_counts.packed(model, recorded_columns)]
    fitting = max(len(direct_counts(con, g)) for g in [*repacked, *others])
    if len(repacked) < 2 or len(direct_counts(con, model)) <= fitting:
        pytest.skip("this source's model table is no longer than its packed groups")
    expected = results(count_page(con, FilterState(), replace(methods, cox_terms=())))
    monkeypatch.setattr(limits, "SCALE", replace_field(limits.SCALE, cox_count_rows=limits.Limit(fitting, "rows",
                                                                                                  "test")))
    queried = []
    blocks = count_page(con, FilterState(), methods, queried)
    assert queried[0] == model and set(repacked) <= set(queried[1:])  # packed again, not one query per column
    assert not any((column,) in queried for group in repacked if len(group) > 1 for column in group)
    pd.testing.assert_frame_equal(results(blocks)["cox_univariate-result"], expected["cox_univariate-result"],
                                  check_exact=True)
