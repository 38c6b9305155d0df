"""Borrowing across subtypes (exploratory): independent, pooled and hierarchical response rates side by side.

Shared by the Response page (its grouping) and Subtype across studies (the histologies of the selection).
The numbers come from :func:`analysis.hierarchical.hierarchical_rates`; this module only words them.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

import charts
from analysis.hierarchical import hierarchical_rates
from analysis.methods import (
    BORROWING_MODEL_LABELS, BORROWING_MODELS, HETEROGENEITY_LABELS, HETEROGENEITY_PRIORS,
)
from analysis.response import response_table
from charts.response import BORROWING_ESTIMATES
from data import registry
from sarcoma_app.exports import snippets
from sarcoma_app.text import DENOMINATOR_LABELS, ENDPOINT_LABELS, escape_markdown, fmt_count, fmt_rate_ci
from sarcoma_app.views import common, prepare
from sarcoma_app.views.blocks import Block, Chart, Choice, Controls, Heading, Note, Table, View
from sarcoma_app.viewstate.url_state import ENDPOINTS, MethodState, parse_threshold_text

SECTION = "Borrowing across subtypes (exploratory)"
INDEPENDENT, POOLED, HIERARCHICAL = BORROWING_ESTIMATES


def threshold_choice(value: float) -> Choice:
    """The threshold of P(rate > threshold), a percentage typed by the user."""
    return Choice("borrow_threshold", "Threshold rate (%)", kind="text", value=value,
                  to_text=lambda v: f"{v:g}", parse=parse_threshold_text,
                  help="The page gives each subtype's posterior probability that its true rate exceeds this.",
                  invalid_hint="give one percentage from 0 to 100; the earlier value is kept.")


def choices(methods: MethodState) -> list[Choice]:
    """Endpoint, threshold, heterogeneity prior and model of the section."""
    return [
        common.selected("borrow_endpoint", "Endpoint", ENDPOINTS, methods.borrow_endpoint, ENDPOINT_LABELS.get),
        threshold_choice(methods.borrow_threshold),
        common.selected("heterogeneity", "Heterogeneity prior", HETEROGENEITY_PRIORS, methods.heterogeneity,
                        HETEROGENEITY_LABELS.get,
                        help="How much the subtypes' true rates are expected to differ before seeing the data: "
                             "the prior of τ, the standard deviation of the subtypes' logit rates. A smaller "
                             "scale borrows more."),
        common.selected("borrow_model", "Model", BORROWING_MODELS, methods.borrow_model, BORROWING_MODEL_LABELS.get,
                        help="EX: every subtype's rate is drawn from one common distribution. EXNEX (Neuenschwander "
                             "et al. 2016): each subtype either is (prior probability 0.5) or stands on its own, so "
                             "an outlying subtype borrows little."),
    ]


def _counts(patients: pd.DataFrame, groups: pd.Series, denominator: str, endpoint: str,
            missing: str, count_col: str | None = None) -> pd.DataFrame:
    """Responders and denominator per group (groups without a denominator, and ``missing``, left out)."""
    table = response_table(patients.assign(group=groups), group_col="group", denominator=denominator,
                           count_col=count_col)
    table = table[table["group"].astype(str) != "All"]
    table = table[(table["denominator"] > 0) & ~table["group"].astype(str).eq(missing)]
    return pd.DataFrame({"group": table["group"].astype(str).to_numpy(),
                         "k": table[f"{endpoint}_count"].astype(int).to_numpy(),
                         "n": table["denominator"].astype(int).to_numpy()})


@lru_cache(maxsize=32)
def _fit(k: tuple, n: tuple, groups: tuple, model: str, prior: str, threshold: float):
    """The model for these counts (kept: a rerun of the page for another control does not recompute it)."""
    return hierarchical_rates(list(k), list(n), list(groups), model=model, tau_scale=prior, threshold=threshold)


def chart_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Long form of a result table for :func:`charts.borrowing_intervals` (three rows per subtype)."""
    rows = []
    for r in table.itertuples():
        label = f"{r.group} ({fmt_count(r.responders, r.n)})"
        for estimate, (rate, low, high) in ((INDEPENDENT, (r.rate, r.rate_lower, r.rate_upper)),
                                            (POOLED, (r.pooled, r.pooled_lower, r.pooled_upper)),
                                            (HIERARCHICAL, (r.median, r.lower, r.upper))):
            rows.append({"group": label, "estimate": estimate, "rate": rate, "lower": low, "upper": high,
                         "text": fmt_rate_ci(rate, low, high)})
    return pd.DataFrame(rows)


def shown_table(result, endpoint: str) -> pd.DataFrame:
    """The section's table: the three estimates side by side, text cells."""
    table = result.table
    short = endpoint.upper()
    shown = pd.DataFrame({
        "Subtype": table["group"],
        "n/N": [fmt_count(k, n) for k, n in zip(table["responders"], table["n"])],
        f"Independent {short} (exact CI)": [fmt_rate_ci(*v) for v in
                                                 zip(table["rate"], table["rate_lower"], table["rate_upper"])],
        f"Pooled {short} (exact CI)": [fmt_rate_ci(*v) for v in
                                            zip(table["pooled"], table["pooled_lower"], table["pooled_upper"])],
        f"Hierarchical {short} (95% CrI)": [fmt_rate_ci(*v) for v in
                                                     zip(table["median"], table["lower"], table["upper"])],
        f"P({short} > {100 * result.threshold:g}%)": [f"{p:.2f}" for p in table["p_exceed"]],
        "Shrinkage": ["–" if pd.isna(s) else f"{s:.0%}" for s in table["shrinkage"]],
    })
    if result.model == "exnex":
        shown["P(EX)"] = [f"{p:.2f}" for p in table["p_exchangeable"]]
    return shown


def _tau_text(result) -> str:
    tau = result.tau
    prior, post = tau.loc["prior"], tau.loc["posterior"]
    return (f"Between-subtype standard deviation τ (logit scale): prior median {prior['median']:.2f} (95% "
            f"{prior['lower']:.2f}–{prior['upper']:.2f}), posterior median {post['median']:.2f} (95% "
            f"{post['lower']:.2f}–{post['upper']:.2f}).")


def methods_text(result, denominator: str) -> str:
    """The priors and the caveats in one sentence (the slide's footnote)."""
    return (f"Bayesian hierarchical model, exploratory, assumes exchangeable subtypes: {result.priors_text}. "
            f"Denominator = {DENOMINATOR_LABELS[denominator]}. Independent and pooled: exact (Clopper–Pearson) CIs. "
            "Posterior by quadrature (checked against JAGS).")


def section(patients: pd.DataFrame, groups: pd.Series, what: str, methods: MethodState, *, key: str,
            highlight: str | None = None, missing: str = registry.NOT_REPORTED,
            grouping: str | None = None, count_col: str | None = None) -> list[Block]:
    """The section's blocks.

    Parameters
    ----------
    patients : DataFrame
    groups : Series
        Each patient's subtype label (aligned with ``patients``).
    what : str
        What the groups are, e.g. "histology group" (project text).
    methods : MethodState
    key : str
        The view's key (unique on its page).
    highlight : str, optional
        A group shown first (Subtype across studies: the chosen histology).
    missing : str
        The label of a missing value among ``groups`` (left out: not a subtype).
    grouping : str, optional
        The registry grouping behind ``groups`` (for "Show the code"; no code without it).
    count_col : str, optional
        Each row of ``patients`` stands for that many patients (a database count per group and best
        response): the same numbers, without the code (which reads each patient).

    Returns
    -------
    list of Block
        Empty when fewer than two groups have patients in the denominator.
    """
    section_choices = choices(methods)
    endpoint, threshold, prior, model = (c.value for c in section_choices)
    n_levels = prepare.n_levels(groups)
    if n_levels > prepare.MAX_COMPARED_LEVELS:  # bounded before the counts and the model
        return [Heading(SECTION), common.too_many_levels(what, n_levels, "Filter the patients first.")]
    counts = _counts(patients, groups, methods.denominator, endpoint, missing, count_col)
    if len(counts) < 2:  # offered only where there is something to borrow from
        return []
    blocks: list[Block] = [Heading(SECTION), Controls(section_choices)]
    if highlight is not None and highlight in set(counts["group"]):
        counts = pd.concat([counts[counts["group"] == highlight], counts[counts["group"] != highlight]])
    result = _fit(tuple(counts["k"].tolist()), tuple(counts["n"].tolist()), tuple(counts["group"].tolist()), model,
                  prior, threshold / 100)
    short = endpoint.upper()
    chart = Chart(charts.borrowing_intervals(chart_frame(result.table), threshold=threshold / 100,
                                             endpoint_label=short),
                  f"{key}-{endpoint}-borrowing", title=f"{short} by {what}: independent, pooled and hierarchical",
                  caption=f"Per {escape_markdown(what)}: its own rate with the exact 95% CI (grey), all groups "
                          "pooled (orange) and the hierarchical posterior median with the 95% credible interval "
                          f"(blue). Dashed line: the threshold {threshold:g}%.")
    shown = shown_table(result, endpoint)
    narrow = [c for c in shown.columns if c in ("n/N", "Shrinkage", "P(EX)")]
    table = Table(shown, f"{key}-{endpoint}-borrowing",
                  column_config={"Subtype": {"width": "medium"}, **{c: {"width": "small"} for c in narrow}},
                  caption="Rates in % with 95% intervals; hierarchical = posterior median. Shrinkage = how far the hierarchical median moved from the group's own rate toward the "
                          "pooled rate (0% = not at all, 100% = all the way). CrI = equal-tailed credible interval. "
                          + ("P(EX) = posterior probability that the group is exchangeable with the others. "
                             if model == "exnex" else "") + _tau_text(result))
    priors = Note(f"**Model and priors.** {escape_markdown(result.priors_text)}. Heterogeneity prior: "
                  f"{prior}. The priors of μ and of a non-exchangeable subtype are weakly "
                  "informative (about one patient's worth of information). Thall et al. 2003; Berry et al. 2013; "
                  "Neuenschwander et al. 2016 (EXNEX).", kind="caption")
    caveat = Note("**Exploratory.** The model assumes the subtypes are *exchangeable*: before the data, no subtype "
                  "is expected to respond better than another. Each subtype's estimate then borrows from the others, "
                  "most where it has few patients; a subtype that truly differs is pulled toward the rest too "
                  "(EXNEX limits this). Not a test, and no substitute for a trial in that subtype.",
                  kind="info", icon=":material/science:")
    parts: list = [chart, table, priors, caveat]
    weights = 1 if count_col is None else patients[count_col].to_numpy()
    n_unknown = int((groups.astype(str).eq(missing).to_numpy() * weights).sum())
    if n_unknown:
        parts.append(Note(f"{n_unknown} patient{'s' if n_unknown != 1 else ''} whose {escape_markdown(what)} is not "
                          "reported are left out (not a subtype).", kind="caption"))
    if common.n_studies(patients) > 1:
        parts.append(Note(f"The selection holds {common.n_studies(patients)} studies with different regimens: each "
                          "group adds its patients from every study.", kind="caption"))
    if result.prior_decides:
        parts.append(Note(f"**The data say little about how much the groups ({escape_markdown(what)}) differ** "
                          f"({escape_markdown(result.prior_decides_reason)}): the heterogeneity prior, not the data, "
                          "decides how much is borrowed. Compare the small, moderate and large priors before "
                          "reading the hierarchical column.", kind="warning", icon=":material/balance:"))
    n_patients = int(counts["n"].sum())
    view = View(key, f"{short} by {what}: borrowing across subtypes (exploratory)", parts,
                patients=patients if count_col is None else None,
                n_text=f"{len(counts)} groups ({what}), {n_patients:,} patients, {int(counts['k'].sum()):,} with {short}",
                methods_text=methods_text(result, methods.denominator), result=result,
                code=None if grouping is None or count_col is not None else snippets.borrowing(
                    grouping, methods.denominator, endpoint, model, prior, threshold / 100))
    return blocks + [view]
