"""cox.zph from events and censorings per (covariate pattern, time): the patients' test (1e-9), and R's (1e-6)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cox import InsufficientDataError, fit_cox_from_counts
from analysis.proportional_hazards import ZPH_TRANSFORMS, cox_zph, cox_zph_from_counts
from tests.test_cox_counts import many_pattern_counts
from tests.test_proportional_hazards import CASES, TOL, close, frame


def counted(patients: pd.DataFrame, covariates: list[str], time: str = "time", event: str = "event") -> pd.DataFrame:
    """The patients' events and censorings per (covariates, time), as a database GROUP BY gives them."""
    return (patients.assign(n_event=patients[event], n_censor=1 - patients[event])
            .groupby([*covariates, time], as_index=False, dropna=False)[["n_event", "n_censor"]].sum())


def per_event(result: dict) -> pd.DataFrame:
    """The residuals with their times, in an order that does not depend on the order of tied events."""
    frame_ = result["residuals"].assign(__time=result["time"], __x=result["x"])
    return frame_.sort_values(["__time", *result["terms"]], kind="stable", ignore_index=True)


def assert_same_test(from_counts: dict, expected: dict, rtol: float = 1e-9):
    assert list(from_counts["table"].index) == list(expected["table"].index)
    assert list(from_counts["table"]["df"]) == list(expected["table"]["df"])
    np.testing.assert_allclose(from_counts["table"][["chisq", "p"]], expected["table"][["chisq", "p"]],
                               rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(from_counts["coef"], expected["coef"], rtol=rtol, atol=1e-12)
    assert from_counts["events"] == expected["events"] == len(from_counts["residuals"])
    np.testing.assert_allclose(per_event(from_counts).to_numpy(float), per_event(expected).to_numpy(float),
                               rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['dataset']}-{c['ties']}-{c['transform']}" for c in CASES])
def test_counted_check_is_r_cox_zph(case):
    df, covariates = frame(case["dataset"])
    result = cox_zph_from_counts(counted(df, covariates), covariates, ties=case["ties"],
                                 transform=case["transform"])
    assert list(result["table"].index) == case["terms"]
    assert close(result["table"]["chisq"], case["chisq"]) < TOL
    assert close(result["table"]["p"], case["p"]) < TOL
    assert close(np.sort(result["x"]), np.sort(case["x"])) < TOL
    for term, expected in case["y"].items():  # the same residuals, tied events perhaps in another order
        assert close(np.sort(result["residuals"][term]), np.sort(np.asarray(expected, float))) < TOL, term
    assert_same_test(result, cox_zph(df, "time", "event", covariates, ties=case["ties"],
                                     transform=case["transform"]))


@pytest.mark.parametrize("transform", ZPH_TRANSFORMS)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_counted_check_of_many_patterns_with_ties_is_the_patients(ties, transform):
    patients, counts = many_pattern_counts()
    covariates = ["a", "b", "c", "flag"]
    assert (counts[["n_event", "n_censor"]].sum(axis=1) > 1).mean() > 0.15  # rows of several patients
    assert (counts["n_event"] > 1).any()  # tied events of one pattern, and of several patterns at each time
    assert_same_test(cox_zph_from_counts(counts, covariates, ties=ties, transform=transform),
                     cox_zph(patients, "time", "event", covariates, ties=ties, transform=transform))


def test_a_fitted_model_passed_in_gives_the_same_check_and_a_wrong_one_another():
    _, counts = many_pattern_counts(seed=8, n=2000)
    covariates = ["a", "flag"]
    expected = cox_zph_from_counts(counts, covariates)
    assert_same_test(cox_zph_from_counts(counts, covariates, fitted=fit_cox_from_counts(counts, covariates)),
                     expected, rtol=0)
    other = cox_zph_from_counts(counts, covariates, fitted=fit_cox_from_counts(counts, covariates, ties="breslow"))
    assert not np.allclose(other["table"]["chisq"], expected["table"]["chisq"], rtol=1e-9)


def test_counts_in_any_order_split_rows_and_empty_rows_give_the_same_check():
    patients, counts = many_pattern_counts(seed=9, n=3000)
    covariates = ["a", "b", "c", "flag"]
    expected = cox_zph_from_counts(counts, covariates)
    split = pd.concat([counts.assign(n_event=counts["n_event"] // 2, n_censor=counts["n_censor"] // 2),
                       counts.assign(n_event=counts["n_event"] - counts["n_event"] // 2,
                                     n_censor=counts["n_censor"] - counts["n_censor"] // 2)],
                      ignore_index=True).sample(frac=1.0, random_state=3)
    assert (split[["n_event", "n_censor"]].sum(axis=1) == 0).any()  # rows of no patient are left out
    assert_same_test(cox_zph_from_counts(split, covariates), expected, rtol=1e-11)


def test_rows_with_a_missing_covariate_are_dropped_as_the_patients():
    patients, _ = many_pattern_counts(seed=5, n=2000)
    patients = patients.astype({"c": float})
    patients.loc[patients.index[::7], "c"] = np.nan
    covariates = ["a", "c"]
    assert_same_test(cox_zph_from_counts(counted(patients, covariates), covariates),
                     cox_zph(patients, "time", "event", covariates))


def test_a_wrong_count_changes_the_check():
    patients, counts = many_pattern_counts(seed=2, n=2000)
    covariates = ["a", "flag"]
    counts = counted(patients, covariates)
    expected = cox_zph_from_counts(counts, covariates)["table"]["chisq"]
    moved = counts.copy()
    moved.loc[moved.index[0], "n_event"] += 1  # one more event than the patients had
    assert not np.allclose(cox_zph_from_counts(moved, covariates)["table"]["chisq"], expected, rtol=1e-6)


def test_bad_counts_and_transforms_are_refused_by_name():
    counts = pd.DataFrame({"time": [1.0, 2, 3, 4], "n_event": [1, 1, 0, 1], "n_censor": [0, 1, 2, 0],
                           "x": [0, 1, 0, 1]})
    with pytest.raises(ValueError, match="transform"):
        cox_zph_from_counts(counts, ["x"], transform="nope")
    with pytest.raises(ValueError, match="n_event"):
        cox_zph_from_counts(counts.assign(n_event=[1.5, 0, 0, 1]), ["x"])
    with pytest.raises(InsufficientDataError):
        cox_zph_from_counts(counts.assign(n_event=0), ["x"])
