"""Bayesian hierarchical response rates across subtypes (borrowing strength), computed deterministically.

Model (EX, Thall et al. 2003; Berry et al. 2013), for subtype j with y_j responders of n_j patients::

    y_j ~ Binomial(n_j, p_j),  theta_j = logit(p_j) ~ Normal(mu, tau^2)
    mu ~ Normal(mu_mean, mu_sd^2),  tau ~ Half-Normal(tau_scale)

EXNEX (Neuenschwander et al. 2016) is the robust variant: each theta_j is exchangeable (the line above)
with prior probability ``ex_weight``, or non-exchangeable with its own prior Normal(nex_mean, nex_sd^2).

Defaults and why
----------------
* mu ~ Normal(0, 2^2) and the NEX prior Normal(0, 2^2): on the logit scale a Normal(logit(0.5), 2^2) prior
  carries about one patient's information (variance 1 / (p (1 - p)) at p = 0.5; Neuenschwander et al. 2016,
  section 3) and spans rates from about 2% to 98%.
* tau ~ Half-Normal(scale) with scale 0.5 / 1 / 2 for small / moderate / large heterogeneity
  (:data:`analysis.methods.HETEROGENEITY_SCALES`; Neuenschwander et al. 2016 use scale 1 as moderate).
* EXNEX prior weight 0.5 for exchangeability.

Computation (no sampler)
------------------------
theta and mu live on one lattice of spacing h (at most 0.04 on the logit scale and a quarter of the smallest
standard error of a subtype's logit rate),
tau on a grid adapted to its posterior (a first pass over [0, 6 scale], widened while the posterior has
mass at its end, then a second pass over the region holding the mass). For each tau node, the
marginal likelihood of each subtype at every mu is the convolution of its binomial likelihood with the
Normal(0, tau^2) mass of each lattice cell (exact normal cell masses, so tau -> 0 is exact too), done by
FFT for all subtypes and tau nodes at once; mass beyond the lattice is lumped into its end cells, where
the likelihood is flat. The posterior of each theta_j is the same convolution applied to the posterior
weights of (mu, tau) divided by that subtype's own marginal likelihood. Quantiles invert the cumulative
cell masses (linear within a cell). The errors are of order h^2; ``tests/test_hierarchical.py`` checks the
results against JAGS (``tests/reference/hierarchical_reference.R``) within the Monte Carlo error.

Shrinkage of a subtype is ``(observed rate - hierarchical median) / (observed rate - pooled rate)``: 0 = its
own rate kept, 1 = moved all the way to the pooled rate (NaN when its rate is within
:data:`SHRINKAGE_MIN_DISTANCE` of the pooled rate). A posterior median is not an observed rate (even with no
borrowing, or full pooling), so values somewhat outside [0, 1] occur, most for a rate near the pooled one.

References
----------
Thall PF, Wathen JK, Bekele BN, Champlin RE, Baker LH, Benjamin RS. Hierarchical Bayesian approaches to
    phase II trials in diseases with multiple subtypes. Stat Med 2003;22:763-780.
Berry SM, Broglio KR, Groshen S, Berry DA. Bayesian hierarchical modeling of patient subpopulations:
    efficient designs of phase II oncology clinical trials. Clin Trials 2013;10:720-734.
Neuenschwander B, Wandel S, Roychoudhury S, Bailey S. Robust exchangeability designs for early phase
    clinical trials with multiple strata. Pharm Stat 2016;15:123-134.
Chugh R, Wathen JK, Maki RG, et al. Phase II multicenter trial of imatinib in 10 histologic subtypes of
    sarcoma using a Bayesian hierarchical statistical model. J Clin Oncol 2009;27:3148-3153.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy.special import expit, log_expit, ndtr
from scipy.stats import halfnorm

from analysis.methods import BORROWING_MODELS, HETEROGENEITY_SCALES
from analysis.response import proportion_ci

__all__ = ["HierarchicalResult", "hierarchical_rates", "BORROWING_MODELS", "HETEROGENEITY_SCALES",
           "CHUGH_2009", "MAX_SUBTYPES"]

#: Imatinib in 10 sarcoma subtypes (Chugh et al. 2009, Table 2): patients and responders per subtype.
CHUGH_2009 = {"n": (15, 13, 12, 28, 29, 29, 26, 5, 2, 20), "responders": (2, 0, 1, 6, 7, 3, 5, 1, 0, 3)}
#: Most subtypes one call accepts (the cost grows with each).
MAX_SUBTYPES = 200
#: Largest lattice spacing (logit scale) and most lattice cells.
_MAX_STEP, _MAX_CELLS = 0.04, 4000  # past 4,000 cells the step grows (registry-size subtypes)
_TAU_NODES = 40
#: Nodes of the first, locating pass over tau.
_FIRST_TAU_NODES = 16
#: Posterior mass below exp(-_CUT) of the largest is left out of the tau grid.
_CUT = 18.0
#: A posterior sd of tau above this share of the prior's means the data say little about heterogeneity.
PRIOR_DECIDES_SD_RATIO = 0.75
#: Shrinkage is not reported (NaN) for a subtype whose own rate is closer than this to the pooled rate (the ratio
#: of two small differences is unstable).
SHRINKAGE_MIN_DISTANCE = 0.01


@dataclass(frozen=True)
class HierarchicalResult:
    """Posterior summaries of :func:`hierarchical_rates`.

    Attributes
    ----------
    table : DataFrame
        One row per subtype: group, n, responders, rate, rate_lower, rate_upper (exact CI of the subtype
        alone), pooled, pooled_lower, pooled_upper (all subtypes added, exact CI), median, lower, upper
        (hierarchical posterior median and equal-tailed credible interval of the rate), mean, p_exceed
        (posterior P(rate > threshold)), shrinkage, p_exchangeable (posterior probability of the EX
        component; 1 under EX).
    tau : DataFrame
        Rows ``prior`` and ``posterior``: median, lower, upper, sd of tau.
    model, tau_scale, threshold, mu_mean, mu_sd, nex_mean, nex_sd, ex_weight, alpha
        The settings.
    prior_decides : bool
        True when the data say little about heterogeneity (see ``prior_decides_reason``).
    prior_decides_reason : str
    """

    table: pd.DataFrame
    tau: pd.DataFrame
    model: str
    tau_scale: float
    threshold: float
    mu_mean: float
    mu_sd: float
    nex_mean: float
    nex_sd: float
    ex_weight: float
    alpha: float
    prior_decides: bool
    prior_decides_reason: str

    @property
    def priors_text(self) -> str:
        """The priors in words (for a page and a slide footnote)."""
        text = (f"logit(rate_j) ~ Normal(μ, τ²); μ ~ Normal({self.mu_mean:g}, {self.mu_sd:g}²) "
                f"(centred on a rate of {expit(self.mu_mean):.0%}); τ ~ half-normal(scale {self.tau_scale:g})")
        if self.model == "exnex":
            text += (f"; EXNEX: each subtype exchangeable with prior probability {self.ex_weight:g}, otherwise "
                     f"logit(rate_j) ~ Normal({self.nex_mean:g}, {self.nex_sd:g}²) on its own")
        return text


def _check(responders, n):
    y = np.asarray(responders, dtype=float).ravel()
    m = np.asarray(n, dtype=float).ravel()
    if y.shape != m.shape:
        raise ValueError(f"responders ({y.size}) and n ({m.size}) differ in length")
    if y.size == 0:
        raise ValueError("no subtype given")
    if y.size > MAX_SUBTYPES:
        raise ValueError(f"{y.size} subtypes: at most {MAX_SUBTYPES} are modelled at once")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(m))) or np.any(y != np.round(y)) or np.any(
            m != np.round(m)):
        raise ValueError("responders and n must be whole numbers")
    if np.any(m < 1):
        raise ValueError("every subtype needs at least one patient in the denominator")
    if np.any(y < 0) or np.any(y > m):
        raise ValueError("responders must lie between 0 and n")
    return y, m


def _lattice(y, m, mu_mean, mu_sd, nex_mean, nex_sd):
    """Cell centres of the theta / mu lattice and its spacing."""
    a, b = y + 0.5, m - y + 0.5
    centre, se = np.log(a / b), np.sqrt(1 / a + 1 / b)
    # far enough that the likelihood has fallen by e^-20 (it is flat beyond the end only when y = 0 or y = n)
    with np.errstate(divide="ignore"):
        lo = float(np.min(centre - np.maximum(8 * se, np.where(y > 0, 20 / y, 0))))
        hi = float(np.max(centre + np.maximum(8 * se, np.where(y < m, 20 / (m - y), 0))))
    if np.any(y == 0):  # likelihood (1 - p)^n flat within 1e-4 below here
        lo = min(lo, float(np.log(1e-4 / m[y == 0].max())))
    if np.any(y == m):
        hi = max(hi, float(-np.log(1e-4 / m[y == m].max())))
    span_lo, span_hi = lo, hi
    for mean, sd in ((mu_mean, mu_sd), (nex_mean, nex_sd)):  # the priors' range, not far beyond the data
        lo = min(lo, max(mean - 5 * sd, span_lo - 5))
        hi = max(hi, min(mean + 5 * sd, span_hi + 5))
    lo, hi = max(lo, -40.0), min(hi, 40.0)
    step = min(_MAX_STEP, float(se.min()) / 4)  # h^2 errors: about 2e-4 on the rate scale at se / 4
    cells = int(math.ceil((hi - lo) / step))
    if cells > _MAX_CELLS:
        cells, step = _MAX_CELLS, (hi - lo) / _MAX_CELLS
    return lo + (np.arange(cells) + 0.5) * step, step


def _normal_cell_masses(centres, step, mean, sd):
    """Mass of Normal(mean, sd^2) in each lattice cell, the tails lumped into the end cells."""
    edges = np.concatenate([centres - step / 2, [centres[-1] + step / 2]])
    cdf = ndtr((edges - mean) / sd)
    cdf[0], cdf[-1] = 0.0, 1.0
    return np.diff(cdf)


class _Posterior:
    """Posterior of (mu, tau) on the lattice x a tau grid, for given subtype likelihoods."""

    def __init__(self, lik, centres, step, taus, tau_weights, log_prior_mu, ex_weight, nex_lik):
        cells = centres.size
        self.taus = taus
        sd = np.maximum(taus, 1e-12)[:, None]
        offsets = np.arange(-(cells - 1), cells) * step  # kernel of cell differences
        kernel = ndtr((offsets + step / 2) / sd) - ndtr((offsets - step / 2) / sd)
        # circular convolution of this length leaves the cells used untouched by wrap-around
        self.size = sp_fft.next_fast_len(2 * cells - 1, real=True)
        self.kernel_f = sp_fft.rfft(kernel, self.size, axis=-1)  # (B, F)
        # mass of N(mu_k, tau^2) below the first cell and above the last (lumped into the end cells)
        low_edge, high_edge = centres[0] - step / 2, centres[-1] + step / 2
        self.below = ndtr((low_edge - centres[None, :]) / sd)  # (B, K)
        self.above = ndtr((centres[None, :] - high_edge) / sd)
        self.cells = cells
        ex = self._convolve(lik)  # (J, B, K)
        ex += lik[:, 0, None, None] * self.below[None] + lik[:, -1, None, None] * self.above[None]
        self.ex_lik = np.maximum(ex, 1e-300)
        self.marginal = ex_weight * self.ex_lik + (1 - ex_weight) * nex_lik[:, None, None]
        log_post = (np.log(self.marginal).sum(axis=0) + log_prior_mu[None, :] + np.log(tau_weights)[:, None])
        log_post -= log_post.max()
        post = np.exp(log_post)
        self.post = post / post.sum()  # (B, K)

    def _convolve(self, values):
        """sum_t values[..., t] * kernel_b(t - k) for every tau node b and lattice cell k."""
        f = sp_fft.rfft(values, self.size, axis=-1)
        if f.ndim == 2:  # (J, F) -> (J, B, F)
            f = f[:, None, :]
        full = sp_fft.irfft(f * self.kernel_f[None], self.size, axis=-1)
        return full[..., self.cells - 1: 2 * self.cells - 1]

    def convolve_summed(self, values):
        """sum over tau nodes b of sum_t values[:, b, t] * kernel_b(t - k), shape (J, K)."""
        f = (sp_fft.rfft(values, self.size, axis=-1) * self.kernel_f[None]).sum(axis=1)
        return sp_fft.irfft(f, self.size, axis=-1)[..., self.cells - 1: 2 * self.cells - 1]

    def tau_marginal(self):
        return self.post.sum(axis=1)


def _tau_grid(low, high, nodes):
    taus = np.linspace(low, high, nodes)
    weights = np.full(nodes, taus[1] - taus[0])
    weights[[0, -1]] /= 2
    return taus, weights


def _quantile(cdf_edges, edges, q):
    """Inverse of a piecewise-linear CDF given at the cell edges."""
    return np.interp(q, cdf_edges, edges)


def hierarchical_rates(responders, n, groups=None, *, model: str = "ex", tau_scale: float | str = "moderate",
                       threshold: float = 0.2, mu_mean: float = 0.0, mu_sd: float = 2.0, nex_mean: float = 0.0,
                       nex_sd: float = 2.0, ex_weight: float = 0.5, alpha: float = 0.05,
                       tau_fixed: float | None = None) -> HierarchicalResult:
    """Independent, pooled and hierarchical (EX or EXNEX) response rates of several subtypes.

    Parameters
    ----------
    responders, n : array_like of int
        Responders and patients in the denominator of each subtype (n >= 1).
    groups : sequence, optional
        Subtype labels (default 1, 2, ...).
    model : {"ex", "exnex"}
        All subtypes exchangeable, or each exchangeable with prior probability ``ex_weight``.
    tau_scale : {"small", "moderate", "large"} or float
        Scale of the half-normal prior of tau (:data:`analysis.methods.HETEROGENEITY_SCALES`) or a number > 0.
    threshold : float
        Rate (0-1) whose posterior exceedance probability is reported.
    mu_mean, mu_sd : float
        Normal prior of mu (logit scale).
    nex_mean, nex_sd : float
        Normal prior of a non-exchangeable subtype's logit rate (EXNEX).
    ex_weight : float
        Prior probability that a subtype is exchangeable (EXNEX).
    alpha : float
        1 - level of the intervals (exact CIs and equal-tailed credible intervals).
    tau_fixed : float, optional
        Hold tau at this value instead of giving it a prior (the limiting cases: 0 pools the subtypes, a
        large value leaves each to its own data).

    Returns
    -------
    HierarchicalResult

    References
    ----------
    Thall et al. Stat Med 2003;22:763-780. Berry et al. Clin Trials 2013;10:720-734. Neuenschwander et al.
    Pharm Stat 2016;15:123-134. Chugh et al. J Clin Oncol 2009;27:3148-3153 (the validation data).

    Examples
    --------
    >>> r = hierarchical_rates(CHUGH_2009["responders"], CHUGH_2009["n"])
    >>> round(float(r.table["median"].iloc[3]), 2)
    0.17
    """
    y, m = _check(responders, n)
    if model not in BORROWING_MODELS:
        raise ValueError(f"model must be one of {', '.join(BORROWING_MODELS)}, not {model!r}")
    scale = HETEROGENEITY_SCALES.get(tau_scale, tau_scale) if isinstance(tau_scale, str) else tau_scale
    if isinstance(scale, str) or not (math.isfinite(float(scale)) and float(scale) > 0):
        raise ValueError(f"tau_scale must be one of {', '.join(HETEROGENEITY_SCALES)} or a number > 0")
    scale = float(scale)
    if not 0 <= threshold <= 1:
        raise ValueError("threshold must lie between 0 and 1")
    if not (mu_sd > 0 and nex_sd > 0 and 0 < ex_weight <= 1 and 0 < alpha < 1):
        raise ValueError("mu_sd and nex_sd must be > 0, ex_weight in (0, 1], alpha in (0, 1)")
    weight = 1.0 if model == "ex" else float(ex_weight)
    labels = list(groups) if groups is not None else [str(i + 1) for i in range(y.size)]
    if len(labels) != y.size:
        raise ValueError("groups and responders differ in length")

    centres, step = _lattice(y, m, mu_mean, mu_sd, nex_mean, nex_sd)
    log_lik = y[:, None] * centres[None, :] + m[:, None] * log_expit(-centres)[None, :]
    lik = np.exp(log_lik - log_lik.max(axis=1, keepdims=True))  # (J, K), each scaled to a maximum of 1
    nex_mass = _normal_cell_masses(centres, step, nex_mean, nex_sd)
    nex_lik = lik @ nex_mass
    log_prior_mu = -0.5 * ((centres - mu_mean) / mu_sd) ** 2

    def fit(low, high, nodes=_TAU_NODES):
        taus, weights = _tau_grid(low, high, nodes)
        prior_tau = np.exp(-0.5 * (taus / scale) ** 2)
        return _Posterior(lik, centres, step, taus, weights * prior_tau, log_prior_mu, weight, nex_lik)

    high = 6 * scale
    if tau_fixed is not None:
        if not (math.isfinite(tau_fixed) and tau_fixed >= 0):
            raise ValueError("tau_fixed must be a number >= 0")
        post = _Posterior(lik, centres, step, np.array([float(tau_fixed)]), np.ones(1), log_prior_mu, weight,
                          nex_lik)
    for _ in range(6 if tau_fixed is None else 0):  # widen while the posterior of tau has mass at the end of the grid
        first = fit(0.0, high, _FIRST_TAU_NODES)
        marginal = first.tau_marginal()
        if marginal[-1] < math.exp(-_CUT) * marginal.max():
            break
        high *= 2
    if tau_fixed is None:
        kept = np.flatnonzero(marginal >= math.exp(-_CUT) * marginal.max())
        spacing = first.taus[1] - first.taus[0]  # the final grid over the region holding the mass
        post = fit(max(0.0, first.taus[kept[0]] - spacing), first.taus[kept[-1]] + spacing)

    # posterior of each theta_j: cell masses on the lattice
    c = post.post[None] / post.marginal  # (J, B, K)
    ex_cells = post.convolve_summed(c)  # (J, K) over theta cells t
    ex_cells[:, 0] += (c * post.below[None]).sum(axis=(1, 2))
    ex_cells[:, -1] += (c * post.above[None]).sum(axis=(1, 2))
    cells = lik * (weight * ex_cells + (1 - weight) * nex_mass[None, :] * c.sum(axis=(1, 2))[:, None])
    cells = np.maximum(cells, 0.0)
    cells /= cells.sum(axis=1, keepdims=True)
    p_ex = weight * (c * post.ex_lik).sum(axis=(1, 2))
    edges = np.concatenate([centres - step / 2, [centres[-1] + step / 2]])
    cdf = np.concatenate([np.zeros((y.size, 1)), np.cumsum(cells, axis=1)], axis=1)
    cdf /= cdf[:, -1:]
    qs = (alpha / 2, 0.5, 1 - alpha / 2)
    theta_q = np.array([[_quantile(row, edges, q) for q in qs] for row in cdf])
    cut = -np.inf if threshold == 0 else np.inf if threshold == 1 else math.log(threshold / (1 - threshold))
    p_exceed = np.array([1.0 - float(np.interp(cut, edges, row)) if np.isfinite(cut) else float(cut < 0)
                         for row in cdf])
    mean = cells @ expit(centres)

    independent = [proportion_ci(int(k), int(t), alpha=alpha) for k, t in zip(y, m)]
    pooled = proportion_ci(int(y.sum()), int(m.sum()), alpha=alpha)
    rate = y / m
    median = expit(theta_q[:, 1])
    distance = rate - pooled[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        shrinkage = np.where(np.abs(distance) >= SHRINKAGE_MIN_DISTANCE, (rate - median) / distance, np.nan)
    table = pd.DataFrame({
        "group": labels, "n": m.astype(int), "responders": y.astype(int), "rate": rate,
        "rate_lower": [ci[1] for ci in independent], "rate_upper": [ci[2] for ci in independent],
        "pooled": pooled[0], "pooled_lower": pooled[1], "pooled_upper": pooled[2],
        "median": median, "lower": expit(theta_q[:, 0]), "upper": expit(theta_q[:, 2]), "mean": mean,
        "p_exceed": np.clip(p_exceed, 0.0, 1.0), "shrinkage": shrinkage, "p_exchangeable": np.clip(p_ex, 0.0, 1.0),
    })

    tau_post = post.tau_marginal()
    tau_post = tau_post / tau_post.sum()
    post_mean = float(tau_post @ post.taus)
    post_sd = math.sqrt(max(float(tau_post @ post.taus ** 2) - post_mean ** 2, 0.0))
    lo_q, med_q, hi_q = _grid_quantiles(post.taus, tau_post, qs) if post.taus.size > 1 else [post.taus[0]] * 3
    prior_sd = float(halfnorm.std(scale=scale))
    tau = pd.DataFrame({"median": [float(halfnorm.median(scale=scale)), med_q],
                        "lower": [float(halfnorm.ppf(alpha / 2, scale=scale)), lo_q],
                        "upper": [float(halfnorm.ppf(1 - alpha / 2, scale=scale)), hi_q],
                        "sd": [prior_sd, post_sd]}, index=pd.Index(["prior", "posterior"], name="tau"))
    reasons = []
    if tau_fixed is not None:
        reasons.append(f"τ held at {tau_fixed:g}")
    if y.size < 3:
        reasons.append(f"only {y.size} subtypes")
    if tau_fixed is None and post_sd >= PRIOR_DECIDES_SD_RATIO * prior_sd:
        reasons.append(f"the posterior sd of τ ({post_sd:.2f}) is {post_sd / prior_sd:.0%} of the prior's "
                       f"({prior_sd:.2f})")
    if y.sum() < 3 or (m - y).sum() < 3:
        reasons.append(f"{int(y.sum())} responders and {int((m - y).sum())} non-responders in all")
    return HierarchicalResult(table, tau, model, scale, float(threshold), float(mu_mean), float(mu_sd),
                              float(nex_mean), float(nex_sd), weight, float(alpha), bool(reasons),
                              "; ".join(reasons))


def _grid_quantiles(nodes, masses, qs):
    """Quantiles of a density known at equally spaced ``nodes`` (through its trapezoid masses), the density
    taken as piecewise linear between the nodes."""
    density = masses / np.where(np.arange(nodes.size) % (nodes.size - 1) == 0, 0.5, 1.0)
    fine = np.linspace(nodes[0], nodes[-1], 20 * (nodes.size - 1) + 1)
    values = np.interp(fine, nodes, density)
    cdf = np.concatenate([[0.0], np.cumsum((values[1:] + values[:-1]) / 2)])
    cdf /= cdf[-1]
    return np.interp(qs, cdf, fine)
