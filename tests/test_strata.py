"""Stratified methods against R: survdiff / coxph with strata() and mantelhaen.test(exact = TRUE).

Reference values come from tests/reference/strata_reference.json, written by
``Rscript tests/reference/strata_reference.R`` (data sets included).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import fit_cox
from analysis.stratified import drop_missing_strata, mantelhaen_exact, mantelhaen_exact_from_data
from analysis.survival import logrank_table, logrank_test
from tests.test_survival import _decode  # R's JSON: null -> nan, "Inf" -> inf

RTOL = 1e-6
REFERENCE = json.loads((Path(__file__).parent / "reference" / "strata_reference.json").read_text())
DATASETS = {dataset["name"]: dataset for dataset in REFERENCE["datasets"]}
MH_CASES = {case["name"]: case for case in REFERENCE["mantelhaen"]}




def assert_close(actual, expected, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(_decode(expected), dtype=float),
                               rtol=RTOL, atol=0, equal_nan=True, err_msg=what)


def _frame(dataset) -> pd.DataFrame:
    return pd.DataFrame({
        "time": dataset["time"], "status": dataset["status"], "group": dataset["group"],
        "stratum": pd.Series(dataset["stratum"], dtype=object), "x": dataset["x"],
    })


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_stratified_logrank_matches_survdiff(name):
    dataset = DATASETS[name]
    expected = dataset["logrank"]
    frame = _frame(dataset)
    result = logrank_table(frame["time"], frame["status"], frame["group"], strata=frame["stratum"])
    assert list(result.table["group"]) == expected["levels"]
    assert_close(result.table["observed"], expected["observed"], "observed")
    assert_close(result.table["expected"], expected["expected"], "expected")
    assert_close(result.table["n"], expected["n"], "n")
    assert_close(result.variance, expected["var"] if isinstance(expected["var"][0], list) else [expected["var"]],
                 "variance")
    assert_close(result.statistic, expected["chisq"], "chisq")
    assert_close(result.p_value, expected["p"], "p")
    assert result.df == expected["df"]
    assert result.n_dropped_strata == dataset["n_missing_stratum"]
    assert logrank_test(frame["time"], frame["status"], frame["group"], strata=frame["stratum"]) == (
        result.statistic, result.p_value)


CASES = [(name, index) for name in sorted(DATASETS) for index in range(2)]


@pytest.mark.parametrize("name,index", CASES)
def test_stratified_cox_matches_coxph(name, index):
    dataset = DATASETS[name]
    expected = dataset["cox"][index]
    table = fit_cox(_frame(dataset), "time", "status", ["group", "x"], ties=expected["ties"], strata="stratum")
    names = [term.replace("[", "").replace("]", "") for term in table.index]
    assert names == expected["terms"]
    assert_close(table["coef"], expected["coef"], "coef")
    assert_close(table["se"], expected["se"], "se")
    assert_close(table["hr_lower"], expected["hr_lower"], "HR lower")
    assert_close(table["hr_upper"], expected["hr_upper"], "HR upper")
    assert_close(table.attrs["loglik"], expected["loglik"], "loglik")
    assert table.attrs["n"] == expected["n"]
    assert table.attrs["events"] == expected["nevent"]
    assert table.attrs["n_dropped_strata"] == dataset["n_missing_stratum"]


def test_stratified_results_differ_from_unstratified():
    """The strata matter: a test that ignored them would fail the R comparison."""
    frame = _frame(DATASETS["sim_n300_g4_s3"])
    plain = logrank_table(frame["time"], frame["status"], frame["group"])
    stratified = logrank_table(frame["time"], frame["status"], frame["group"], strata=frame["stratum"])
    assert abs(plain.statistic - stratified.statistic) > 1e-3
    plain_cox = fit_cox(frame, "time", "status", ["group", "x"])
    stratified_cox = fit_cox(frame, "time", "status", ["group", "x"], strata="stratum")
    assert np.max(np.abs(plain_cox["coef"] - stratified_cox["coef"])) > 1e-3


def test_one_stratum_equals_unstratified():
    frame = _frame(DATASETS["sim_n80_g2_s2"]).assign(stratum="only")
    plain = logrank_table(frame["time"], frame["status"], frame["group"])
    stratified = logrank_table(frame["time"], frame["status"], frame["group"], strata=frame["stratum"])
    assert stratified.statistic == pytest.approx(plain.statistic, rel=1e-12)
    plain_cox = fit_cox(frame, "time", "status", ["group", "x"])
    stratified_cox = fit_cox(frame, "time", "status", ["group", "x"], strata="stratum")
    np.testing.assert_allclose(stratified_cox["coef"], plain_cox["coef"], rtol=1e-9)


@pytest.mark.parametrize("name", sorted(MH_CASES))
def test_mantelhaen_exact_matches_r(name):
    case = MH_CASES[name]
    x = np.asarray(case["counts"], dtype=float).reshape([int(k) for k in case["dim"]], order="F")
    result = mantelhaen_exact(x)
    assert_close(result.p_value, case["p"], "p")
    assert_close(result.statistic, case["statistic"], "S")
    assert_close(result.estimate, case["estimate"], "estimate")
    assert_close(result.conf_int, [case["lower"], case["upper"]], "conf.int")


def test_mantelhaen_from_data_counts_tables_and_drops_missing():
    case = MH_CASES["two_studies_orr"]
    x = np.asarray(case["counts"], dtype=int).reshape((2, 2, 2), order="F")
    rows = []
    for k, study in enumerate(["A", "B"]):
        for i, exposed in enumerate([True, False]):
            for j, outcome in enumerate([True, False]):
                rows += [(exposed, outcome, study)] * int(x[i, j, k])
    rows += [(True, True, None), (False, True, np.nan)]
    frame = pd.DataFrame(rows, columns=["exposed", "outcome", "study"])
    result, dropped = mantelhaen_exact_from_data(frame["exposed"], frame["outcome"], frame["study"])
    assert dropped == 2
    assert_close(result.p_value, case["p"])
    assert_close(result.estimate, case["estimate"])


def test_mantelhaen_tiny_strata_are_left_out_not_raised():
    result = mantelhaen_exact(np.array([[[2, 5], [3, 1]], [[1, 0], [0, 0]], [[1, 0], [4, 2]]]))
    assert result.n_strata == 2 and result.n_strata_dropped == 1
    with pytest.raises(ValueError):
        mantelhaen_exact(np.zeros((2, 2, 2)))


def test_drop_missing_strata():
    keep, dropped = drop_missing_strata(["a", None, np.nan, "b", pd.NA])
    assert dropped == 3 and keep.tolist() == [True, False, False, True, False]


def _response_cohort(seed=5, n=90):
    rng = np.random.default_rng(seed)
    study = rng.choice(["A", "B", "C"], n)
    histology = np.where(study == "C", rng.choice(["only-C", "x"], n), rng.choice(["x", "y"], n))
    response = rng.choice(["CR", "PR", "SD", "PD", "NE"], n, p=[0.1, 0.25, 0.3, 0.3, 0.05])
    return pd.DataFrame({"study_id": study, "histology": histology, "sex": rng.choice(["F", "M", None], n),
                         "best_response": response})


def test_subgroup_rates_stratified_uses_the_exact_test_per_level():
    from analysis.response import subgroup_rates
    from analysis.stratified import subgroup_rates_stratified
    df = _response_cohort()
    df.loc[[0, 1], "study_id"] = None
    rates = subgroup_rates_stratified(df, ["histology", "sex"], "study_id")
    assert rates.attrs["n_dropped_strata"] == 2 and rates.attrs["n_strata"] == 3
    plain = subgroup_rates(df.iloc[2:], ["histology", "sex"])
    np.testing.assert_array_equal(rates["rate"], plain["rate"])
    kept = df.iloc[2:]
    responder = kept["best_response"].isin(["CR", "PR"]).to_numpy()
    n_untested = 0
    for row in rates.itertuples():
        values = kept[row.subgroup]
        if row.level == "Missing" and values.isna().any():  # shown, not tested, not part of the rest (na.omit)
            assert np.isnan(row.p_value) and not row.stratified
            n_untested += 1
            continue
        level = values.fillna("Missing").to_numpy() == row.level
        rest = ~level & values.notna().to_numpy()
        tables = [[[np.sum(level & responder & (kept["study_id"] == s)), np.sum(level & ~responder & (kept["study_id"] == s))],
                   [np.sum(rest & responder & (kept["study_id"] == s)), np.sum(rest & ~responder & (kept["study_id"] == s))]]
                  for s in ["A", "B", "C"]]
        tables = np.array(tables)
        informative = (tables[:, 0].sum(axis=1) > 0) & (tables[:, 1].sum(axis=1) > 0)
        expected = mantelhaen_exact(np.moveaxis(tables[informative], 0, 2))
        assert row.stratified
        assert row.p_value == pytest.approx(expected.p_value, rel=1e-12)
        assert row.odds_ratio == pytest.approx(expected.estimate, rel=1e-12)
    assert n_untested == sum(kept[c].isna().any() for c in ("histology", "sex"))
    # the level present in study C only is compared within study C
    only_c = rates[rates["level"] == "only-C"].iloc[0]
    assert np.isfinite(only_c["p_value"])


def test_subgroup_rates_stratified_one_stratum_is_fisher():
    from analysis.response import subgroup_rates
    from analysis.stratified import subgroup_rates_stratified
    df = _response_cohort().assign(study_id="A")
    rates = subgroup_rates_stratified(df, ["histology", "sex"], "study_id")
    plain = subgroup_rates(df, ["histology", "sex"])
    np.testing.assert_allclose(rates["p_value"], plain["p_value"], rtol=1e-9)


def test_subgroup_that_is_the_stratum_keeps_fisher_with_a_note():
    from analysis.response import subgroup_rates
    from analysis.stratified import subgroup_rates_stratified
    df = _response_cohort()
    rates = subgroup_rates_stratified(df, ["study_id"], "study_id")
    plain = subgroup_rates(df, ["study_id"])
    np.testing.assert_allclose(rates["p_value"], plain["p_value"], rtol=1e-12)
    assert not rates["stratified"].any()
    assert rates["note"].str.contains("not stratified").all()


def test_univariate_cox_stratified_is_fit_cox_per_covariate():
    from analysis.cox import univariate_cox
    frame = _frame(DATASETS["missing_strata"])
    screen = univariate_cox(frame, "time", "status", ["group", "x"], strata="stratum")
    assert screen.attrs["n_dropped_strata"] == 3
    for covariate in ["group", "x"]:
        alone = fit_cox(frame, "time", "status", [covariate], strata="stratum")
        rows = screen[screen["covariate"] == covariate]
        np.testing.assert_allclose(rows["coef"].astype(float), alone["coef"], rtol=1e-12)
