"""Data & methods page: the exact methods (constant prose with the current choices), the studies, the source
conflicts, the data dictionary and the glossaries (pure, no streamlit)."""
from __future__ import annotations

from dataclasses import fields

import pandas as pd

from analysis.methods import HETEROGENEITY_SCALES
from data import registry
from sarcoma_app import limits

from sarcoma_app.text import (
    CI_METHOD_LABELS, CONF_TYPE_LABELS, DENOMINATOR_LABELS, GLOSSARY, P_ADJUST_LABELS, TIES_LABELS, study_label,
)
from sarcoma_app.views import common
from sarcoma_app.views.blocks import Block, Note, Table, Tabs
from sarcoma_app.viewstate.url_state import MethodState

TITLE = "Data & methods"
QUESTION = "Where do the data come from, and exactly how is every number computed?"
TAB_LABELS = ("Methods", "Studies", "Source conflicts", "Data dictionary", "Histology glossary", "Abbreviations")

#: The methods tab (Markdown written by the project); the fields are the current method choices.
METHODS_TEXT = """
**Current choices** (they are part of the URL): confidence intervals for rates — {ci};
Kaplan–Meier CI transformation — {conf_type}; Cox ties — {ties};
landmark times — {landmarks} months; response denominator — {denominator};
multiplicity adjustment — {p_adjust}.

**Reference implementation.** Every estimate is meant to equal R's (`survival` 3.5, `stats`); the
analysis code is tested against values produced by R scripts kept in `tests/reference/`.

**Response rates.** ORR = (CR + PR) / denominator, DCR = (CR + PR + SD) / denominator, best overall
response by RECIST 1.1. Denominator *all treated* counts a not-evaluable patient as a non-responder;
*evaluable* leaves them out (seed 000 reports 12/24 evaluable, seed 002 uses all 28). 95% intervals:
Clopper–Pearson exact (R `binom.test`), Wilson score without continuity correction (R `prop.test(correct =
FALSE)`), or Jeffreys (Beta(k + ½, n − k + ½) quantiles, 0 / 1 at the boundaries).

**Comparisons of rates.** Two-sided Fisher's exact test (R `fisher.test`): 2 × 2 with the conditional
maximum-likelihood odds ratio and its exact interval, r × 2 by exact enumeration. Subgroup tests compare
each level with all other selected patients; p values are adjusted across all tests shown
(Benjamini–Hochberg by default, R `p.adjust`).

**Kaplan–Meier.** Product-limit estimate with Greenwood variance; censorings tied with events are at
risk at that time; times closer than √ε are merged (R `timefix`). Pointwise CI on the log scale
(`conf.type = "log"`, R's default), or {other_conf_types}, as R `survfit`.

**Median and its CI.** R's rule (`print.survfit`): the first time S(t) ≤ 0.5; when S(t) equals 0.5
exactly over an interval, the midpoint of that interval (why seed 002 reports 2.25 months, not 2.0).
The CI limits apply the same rule to the lower and upper CI curves (Brookmeyer–Crowley). NR = not
reached: the curve (or a CI curve) never falls to 0.5.

**What seed 002 leaves open.** Table 1 marks no censoring and PFS is defined as time to documented
progression. Table 3 fixes that the 26 patients with PFS < 6 months progressed; that NAB-08 (15 months) and
NAB-09 (7.8 months) progressed is an assumption. Table 3 and the angiosarcoma HR are the same with either or both
censored; the head HR (as Head vs Extremities) needs NAB-09 to have progressed. **Published vs recomputed**
shows every number under every reading.

**Landmark rates.** S(t) and its CI at each landmark time as R `summary(fit, times = t, extend = TRUE)`:
the value at the last observed time ≤ t; after the last follow-up the last value is carried forward and
the number at risk is 0.

**Log-rank test.** R `survdiff` (rho = 0), k groups, χ² with (groups with expected events − 1) df.
Rows with a missing time, event or group are left out and counted, as R `na.omit`. With three or more
groups, each pair is also tested on its own patients (as survminer `pairwise_survdiff`), p adjusted across
the pairs with the chosen multiplicity adjustment.

**Several studies.** When the selection spans more than one study, comparisons are stratified by study by
default (`stratify=study`; `stratify=none` pools them): the log-rank test as R `survdiff(... + strata(study))`,
Cox models with one baseline hazard per study (`coxph(... + strata(study))`), and each response subgroup
level against the rest by the exact conditional test of a common odds ratio (R `mantelhaen.test(exact =
TRUE)`), with its conditional-MLE odds ratio and exact CI.

**Follow-up, RMST and the risk table.** Median follow-up is the reverse Kaplan–Meier median (the event
indicator flipped; R `survfit(Surv(time, 1 − status) ~ 1)`). The restricted mean survival time up to τ is
the area under the KM curve, with R's variance (`print(survfit, rmean = τ)`); τ defaults to the shortest
group's last follow-up (survRM2), and two groups get the difference and ratio with CI and p as survRM2
`rmst2`. Under each KM plot, the KMunicate table gives at risk, cumulative events and cumulative censored
(Morris et al. 2019), or at risk only.

**Cox models.** Partial likelihood with Efron ties (R `coxph` default) or Breslow; Newton–Raphson as
`coxph.fit`; HR = exp(coef) with Wald 95% CI and Wald p; likelihood-ratio and score tests of the whole
model. Booleans enter as 1 vs 0, factors with treatment contrasts against the most frequent level.
A term is *not estimable* when a level has no events or a covariate separates events perfectly (the
maximum-likelihood HR is 0 or infinite; R would print a huge coefficient). We warn below 10 events per
covariate term (Peduzzi et al. 1995). Rows with a missing covariate are left out (complete cases).
A level R drops because its HR is infinite or 0 (one patient, no events, all events) is described as such
(monotone likelihood), and gets a Firth-penalised estimate (as R `coxphf`: penalised partial likelihood,
profile-likelihood CI and penalised likelihood-ratio p). Proportional hazards are checked with R `cox.zph`
(survival 3.5 score test, transform "km"), per term and globally, with scaled Schoenfeld residuals.

**Two groups' response rates.** The difference of ORR (and DCR) with Newcombe's hybrid-score CI (Newcombe
1998, method 10), beside Fisher's p and the conditional-MLE odds ratio.

**Borrowing across subtypes (exploratory).** On Response and Subtype across studies, each group's ORR or DCR is
shown three ways: its own rate (exact CI), all groups pooled, and a Bayesian hierarchical estimate: logit
rates Normal(μ, τ²) around a common mean (EX; Thall et al. 2003, Berry et al. 2013), or EXNEX, where each group
may instead stand on its own (Neuenschwander et al. 2016). The heterogeneity prior on τ is half-normal, with
{heterogeneity_scales}. The posterior (median, 95% credible interval, P(rate > threshold)) is computed by
quadrature, with no sampler, and agrees with JAGS within its Monte Carlo error
(`tests/reference/hierarchical_reference.R`). The priors in numbers are stated with each result and in the
deck footnote. The model assumes the groups are exchangeable; with few groups or few responders the prior,
not the data, decides how much is borrowed, and the page says so.

**Sharing a view.** The URL holds every filter and method choice with readable names, e.g.
`?pazopanib=yes&histology=Angiosarcoma&ci=wilson`. Several values of one parameter are written as
repeated keys (`?response=CR&response=PR`); when typing a link, comma-separated values
(`?response=CR,PR`, `?landmarks=3,6,9`) work too. Choices left at their default are not written,
so the default view has a clean URL. A parameter or value that is not allowed is ignored with a notice.
Parameters: filters {filter_parameters}, `evaluable_only`; methods {method_parameters}; `present`
(presentation mode) and `source` (the data source, below).

**Data sources.** *Data source* at the top of the sidebar (`?source=`) chooses the patients every page
shows: the two published cohorts (default, no parameter); `uploaded`, a cohort loaded on the *Upload a
cohort* page, which exists only in the browser session that loaded it (kept in memory, never written to
disk or to the shared database, never visible to another user, so a link with `source=uploaded` opens
the published cohorts in any other session); or `simulated-1k`, `simulated-10k`, `simulated-100k`,
registries generated by `data/simulate.py` (seeded, so the same every time) to try the app at scale —
**not real patients**, never selected by default and never pooled with real patients. Published
tables, source conflicts and per-value provenance exist for the two papers only. A source of more than
{patients_counted} is counted: the database groups the selected patients by time, group or covariate
pattern and every analysis is computed exactly from those counts (the same numbers as from each patient);
"Show the code" then loads the selected patients (up to {patients_loaded}) when it is opened. With large
sources, tables show their first 1,000 rows (the CSV has all), the swimmer plot draws 60 patients evenly spread
over the ranked times, and Kaplan–Meier curves are drawn at screen resolution; every number uses all
patients.

**Filters.** A filter keeps patients whose value is among those chosen. Patients whose value is not
reported (NULL) are kept only if 'unknown' is chosen; the page says so when this drops patients.
Option counts are the patients with that value among those matching the other filters.
"""

CONFLICT_COLUMNS = {"conflict_id": "ID", "topic": "Topic", "statement_a": "Statement A", "location_a": "Where (A)",
                    "statement_b": "Statement B", "location_b": "Where (B)", "value_used": "Value used",
                    "reason": "Why"}
GLOSSARY_COLUMNS = {"histology_code": "Code", "histology": "Histology", "histology_group": "Group",
                    "tissue": "Tissue", "source": "Source"}


def methods_text(methods: MethodState) -> str:
    """The methods tab with the current choices filled in."""
    return METHODS_TEXT.format(
        ci=CI_METHOD_LABELS[methods.ci], conf_type=CONF_TYPE_LABELS[methods.conf_type], ties=TIES_LABELS[methods.ties],
        filter_parameters=", ".join(f"`{f.key}`" for f in registry.FILTER_LIST),
        method_parameters=", ".join(f"`{f.name}`" for f in fields(MethodState)),
        other_conf_types=", ".join(f"{label} (`{name}`)" for name, label in CONF_TYPE_LABELS.items() if name != "log"),
        landmarks=", ".join(f"{t:g}" for t in methods.landmarks) or "none",
        denominator=DENOMINATOR_LABELS[methods.denominator], p_adjust=P_ADJUST_LABELS[methods.p_adjust],
        heterogeneity_scales=", ".join(f"{name} heterogeneity scale {scale:g}"
                                       for name, scale in HETEROGENEITY_SCALES.items()),
        patients_counted=limits.SCALE.patients_counted.amount, patients_loaded=limits.SCALE.patients_loaded.amount)


def build(methods: MethodState, *, studies: pd.DataFrame, conflicts: pd.DataFrame, dictionary: pd.DataFrame,
          glossary: pd.DataFrame, bundled: bool = True, published_tables: bool = True) -> list[Block]:
    """The page's tabs.

    Parameters
    ----------
    methods : MethodState
        The current choices (named in the methods tab).
    studies, conflicts, dictionary, glossary : DataFrame
        The tables ``studies``, ``source_conflicts``, ``data_dictionary`` and ``histology_glossary``.
    bundled : bool
        True when the data source is the published cohorts.
    published_tables : bool
        True when the data source has the papers' conflicts.
    """
    studies = studies.copy()
    studies.insert(0, "Study", studies["study_id"].map(study_label))
    conflicts = conflicts.copy()
    conflicts.insert(1, "Study", conflicts.pop("study_id").map(study_label))
    conflict_tab: list[Block] = [] if published_tables else [
        common.not_available("Source conflicts (statements of a paper that disagree)")]
    conflict_tab.append(Table(conflicts.rename(columns=CONFLICT_COLUMNS), "source-conflicts",
                              caption=f"All {len(conflicts)} places where two statements of a paper disagree, with "
                                      "the value the data use."))
    return [Tabs(list(zip(TAB_LABELS, [
        [Note(methods_text(methods), kind="markdown")],
        [Table(studies, "studies", caption="As transcribed from the seed files; empty = not stated in the paper."
               if bundled else "The cohort(s) of the selected data source; empty = not recorded.")],
        conflict_tab,
        [Table(dictionary, "data-dictionary", height=600,
               caption="Every table and column of the database, with units and allowed values.")],
        [Table(glossary.rename(columns=GLOSSARY_COLUMNS), "histology-glossary",
               caption="Codes as the papers abbreviate them ('project code' where the paper spells the name out).")],
        [Table(pd.DataFrame({"Abbreviation": list(GLOSSARY), "Meaning": list(GLOSSARY.values())}), "abbreviations")],
    ])))]
