"""analysis.hierarchical against JAGS, in its limiting cases, and on bad input.

JAGS reference: tests/reference/hierarchical_reference.json, written by ``Rscript
tests/reference/hierarchical_reference.R`` (rjags, 4 chains x 50,000 draws after 5,000 burn-in; data included):
the imatinib basket trial of Chugh et al. 2009 under every heterogeneity prior and both models, and three random
sets. A deterministic result must lie within 4 Monte Carlo standard errors (batch means) of JAGS, or within an
absolute tolerance where the MCSE is (near) zero.

Limiting cases, exact under a flat prior on the logit scale: tau = 0 (or a tiny tau prior) makes every subtype's
posterior the pooled Beta(sum y, sum (n - y)); a huge tau leaves each to its own Beta(y, n - y).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import beta

from analysis.hierarchical import CHUGH_2009, MAX_SUBTYPES, hierarchical_rates
from analysis.methods import HETEROGENEITY_SCALES
from analysis.response import proportion_ci

REFERENCE = json.loads((Path(__file__).parent / "reference" / "hierarchical_reference.json").read_text())
#: Below this the Monte Carlo error of 200,000 draws does not decide (a rate or a probability).
ABS_TOL = 0.003
#: tau's median is read off a 40-node grid: a looser absolute floor.
TAU_ABS_TOL = 0.01
QUANTITIES = ("median", "lower", "upper", "mean", "p_exceed")
CASES = [pytest.param(case, id=f"{case['dataset']}-{case['model']}-{case['tau_scale']}") for case in REFERENCE["cases"]]


def _ours(case):
    prior = REFERENCE["prior"]
    return hierarchical_rates(case["y"], case["n"], model=case["model"], tau_scale=case["tau_scale"],
                              threshold=case["threshold"], mu_mean=prior["mu_mean"], mu_sd=prior["mu_sd"],
                              nex_mean=prior["nex_mean"], nex_sd=prior["nex_sd"], ex_weight=prior["w"])


def test_reference_uses_the_app_scales_and_the_chugh_data():
    assert REFERENCE["scales"] == HETEROGENEITY_SCALES
    chugh = [c for c in REFERENCE["cases"] if c["dataset"] == "chugh2009"]
    assert {(c["model"], c["tau_scale"]) for c in chugh} == {(m, s) for m in ("ex", "exnex") for s in HETEROGENEITY_SCALES}
    assert all(tuple(c["n"]) == CHUGH_2009["n"] and tuple(c["y"]) == CHUGH_2009["responders"] for c in chugh)


@pytest.mark.parametrize("case", CASES)
def test_posterior_rates_against_JAGS(case):
    table = _ours(case).table
    names = QUANTITIES + (("p_exchangeable",) if case["model"] == "exnex" else ())
    for name in names:
        ours, jags, mcse = table[name].to_numpy(), np.array(case[name]), np.array(case[f"{name}_mcse"])
        allowed = np.maximum(4 * mcse, ABS_TOL)
        assert np.all(np.abs(ours - jags) <= allowed), (name, ours, jags, mcse)


@pytest.mark.parametrize("case", CASES)
def test_tau_median_against_JAGS(case):
    ours = _ours(case).tau.loc["posterior", "median"]
    assert abs(ours - case["tau_median"]) <= max(4 * case["tau_median_mcse"], TAU_ABS_TOL)


Y = np.array([2, 1, 6, 7, 3, 5, 1, 3])
N = np.array([15, 12, 28, 29, 29, 26, 5, 20])


@pytest.mark.parametrize("kwargs", [{"tau_fixed": 0.0}, {"tau_scale": 1e-4}], ids=["tau-0", "tiny-tau-prior"])
def test_tau_to_zero_gives_the_pooled_posterior(kwargs):
    table = hierarchical_rates(Y, N, mu_sd=100.0, **kwargs).table
    expected = beta.ppf([0.5, 0.025, 0.975], Y.sum(), (N - Y).sum())
    for name, value in zip(("median", "lower", "upper"), expected):
        np.testing.assert_allclose(table[name], value, atol=5e-4)
    far = (Y / N - Y.sum() / N.sum()) ** 2 > 0.05 ** 2  # a ratio of larger distances: a posterior median is no rate
    assert np.allclose(table["shrinkage"][far], 1.0, atol=0.1)


def test_tau_large_gives_the_independent_posteriors():
    table = hierarchical_rates(Y, N, tau_fixed=50.0).table
    for name, q in (("median", 0.5), ("lower", 0.025), ("upper", 0.975)):
        np.testing.assert_allclose(table[name], beta.ppf(q, Y, N - Y), atol=5e-4)
    np.testing.assert_allclose(table["p_exceed"], beta.sf(0.2, Y, N - Y), atol=1e-3)


def test_independent_and_pooled_are_the_exact_intervals():
    table = hierarchical_rates(CHUGH_2009["responders"], CHUGH_2009["n"]).table
    for row in table.itertuples():
        assert (row.rate, row.rate_lower, row.rate_upper) == pytest.approx(proportion_ci(row.responders, row.n))
    assert (table["pooled"].iloc[0], table["pooled_lower"].iloc[0], table["pooled_upper"].iloc[0]) == pytest.approx(
        proportion_ci(sum(CHUGH_2009["responders"]), sum(CHUGH_2009["n"])))


def test_smaller_heterogeneity_prior_borrows_more():
    y, n = np.array(CHUGH_2009["responders"]), np.array(CHUGH_2009["n"])
    far = np.abs(y / n - y.sum() / n.sum()) > 0.05
    shrink = {s: hierarchical_rates(y, n, tau_scale=s).table["shrinkage"][far] for s in ("small", "moderate", "large")}
    assert far.sum() >= 4
    assert (shrink["small"] > shrink["moderate"]).all() and (shrink["moderate"] > shrink["large"]).all()


def test_exnex_shrinks_an_outlier_less_than_ex():
    y, n = [1, 2, 1, 2, 18], [20, 20, 20, 20, 20]
    ex, exnex = (hierarchical_rates(y, n, model=m).table.iloc[-1] for m in ("ex", "exnex"))
    assert exnex["shrinkage"] < ex["shrinkage"]
    assert exnex["p_exchangeable"] < 0.5


def test_subtype_order_does_not_change_the_result():
    first = hierarchical_rates(Y, N, groups=list("abcdefgh"), model="exnex").table.set_index("group")
    order = [3, 0, 7, 5, 1, 6, 2, 4]
    second = hierarchical_rates(Y[order], N[order], groups=[list("abcdefgh")[i] for i in order],
                                model="exnex").table.set_index("group").loc[first.index]
    np.testing.assert_allclose(first[["median", "lower", "upper", "p_exceed"]],
                               second[["median", "lower", "upper", "p_exceed"]], atol=1e-9)


def test_threshold_extremes_and_two_subtypes_say_the_prior_decides():
    result = hierarchical_rates([1, 0], [3, 2], threshold=0.0)
    assert result.prior_decides and "only 2 subtypes" in result.prior_decides_reason
    assert (result.table["p_exceed"] == 1.0).all()
    assert (hierarchical_rates([1, 0], [3, 2], threshold=1.0).table["p_exceed"] == 0.0).all()


def test_many_large_subtypes_inform_tau():
    rng = np.random.default_rng(3)
    n = np.full(15, 400)
    y = rng.binomial(n, 1 / (1 + np.exp(-rng.normal(-1.0, 0.8, 15))))
    result = hierarchical_rates(y, n)
    assert not result.prior_decides
    assert result.tau.loc["posterior", "sd"] < 0.5 * result.tau.loc["prior", "sd"]
    assert np.all(result.table["lower"] < result.table["median"]) and np.all(result.table["median"] < result.table["upper"])


@pytest.mark.parametrize("args, kwargs, message", [
    (([1, 2], [3]), {}, "differ in length"),
    (([], []), {}, "no subtype"),
    (([4], [3]), {}, "between 0 and n"),
    (([0], [0]), {}, "at least one patient"),
    (([0.5], [3]), {}, "whole numbers"),
    (([1, 1], [3, 3]), {"model": "bogus"}, "model must be"),
    (([1, 1], [3, 3]), {"tau_scale": "huge"}, "tau_scale"),
    (([1, 1], [3, 3]), {"tau_scale": -1.0}, "tau_scale"),
    (([1, 1], [3, 3]), {"threshold": 1.5}, "threshold"),
    (([1] * (MAX_SUBTYPES + 1), [3] * (MAX_SUBTYPES + 1)), {}, "at most"),
])
def test_bad_input_is_refused_with_a_message(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        hierarchical_rates(*args, **kwargs)
