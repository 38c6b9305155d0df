"""Survival page of a large source: Kaplan–Meier curves, medians, risk table and log-rank from counts.

When a source is counted (more patients than ``patients_counted`` of :data:`sarcoma_app.limits.SCALE`), the page gets
events and censorings per (group, stratum, time) from DuckDB (:func:`sarcoma_app.sources.db.survival_counts`)
and this builder shows the same curves, tables and test as :func:`sarcoma_app.views.survival.build` on the
same patients (tests/test_views_survival_counts.py), computed by the count entry points of
:mod:`analysis.survival`, :mod:`analysis.pairwise` and :mod:`analysis.rmst`, pairwise tests and RMST included.
A view's code, which reads the patients' CSV, is built from the patients only when it is opened
(:mod:`sarcoma_app.render.page_views`).
"""
from __future__ import annotations

import functools

import pandas as pd

from analysis.follow_up import FollowUp
from analysis.pairwise import pairwise_logrank_from_counts
from analysis.survival import kaplan_meier_by_group_from_counts, kaplan_meier_from_counts, logrank_table_from_counts
from data import registry
from sarcoma_app import limits
from sarcoma_app.text import GROUPING_LABELS
from sarcoma_app.views import common, prepare, survival
from sarcoma_app.views.blocks import Block, Chart, Choice, Heading, Note, Table, View
from sarcoma_app.viewstate.url_state import MethodState


def choices(recorded: dict[str, tuple[int, int]], n_studies: int, methods: MethodState) -> list[Choice]:
    """The Survival page's choices from per-column counts of the source (:func:`sources.db.recorded_counts`)."""
    endpoints = registry.available_endpoints(recorded)
    if not endpoints:
        return []
    frame = pd.DataFrame({"study_id": [f"study {i}" for i in range(max(n_studies, 1))]})
    template = survival.choices(_placeholder(recorded), methods)
    by_field = {choice.field: choice for choice in template}
    by_field["survival_endpoint"] = common.selected("survival_endpoint", "Endpoint", endpoints,
                                                    methods.survival_endpoint, by_field["survival_endpoint"].format,
                                                    help=by_field["survival_endpoint"].help)
    groupings = registry.available_groupings(recorded)
    by_field["km_by"] = common.selected("km_by", "Curves by", groupings, methods.km_by, GROUPING_LABELS.get,
                                        help=by_field["km_by"].help)
    stratify = common.stratify_choice(frame, methods.stratify)
    ordered = [by_field[f] for f in ("survival_endpoint", "km_by", "conf_type", "risk_table", "landmarks")]
    return ordered + ([stratify] if stratify is not None else [])


def _placeholder(recorded: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Two made-up rows recording every endpoint the source records (only to reuse the choices' texts)."""
    columns = {}
    for endpoint in registry.ENDPOINT_LIST:
        if recorded.get(endpoint.time, (0, 0))[0] and recorded.get(endpoint.event, (0, 0))[0]:
            columns[endpoint.time], columns[endpoint.event] = [1.0, 2.0], [1, 0]
    return pd.DataFrame(columns or {"pfs_months": [1.0, 2.0], "pfs_event": [1, 0]})


def labelled_counts(counts: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """``counts`` with display labels as groups (a missing value is its own group, as on the patient path)."""
    column = prepare.GROUPING_COLUMNS.get(grouping, "group")
    return counts.assign(group=prepare.group_labels(counts.rename(columns={"group": column}), grouping).to_numpy())


def follow_up(counts: pd.DataFrame) -> FollowUp:
    """Median follow-up by reverse Kaplan–Meier from counts (events and censorings swapped)."""
    fit = kaplan_meier_from_counts(counts["time"], counts["n_censor"], counts["n_event"])
    return FollowUp(median=fit.median, lower=fit.median_ci[0], upper=fit.median_ci[1], n=fit.n,
                    n_censored=fit.n_events, fit=fit)


def build(counts: pd.DataFrame, n_selected: int, methods: MethodState, grouping: str) -> list[Block]:
    """The Survival page's blocks from ``counts`` (:func:`sources.db.survival_counts` for ``grouping``).

    ``n_selected`` is the number of selected patients (analysable or not).
    """
    if n_selected == 0:
        return [common.NO_PATIENTS]
    endpoint, conf_type, landmarks = methods.survival_endpoint, methods.conf_type, list(methods.landmarks)
    spec = registry.ENDPOINTS[endpoint]
    complete = counts[counts["time"].notna()]
    if complete.empty:
        return [common.no_endpoint()]
    blocks: list[Block] = []
    n_analysable = int(complete[["n_event", "n_censor"]].to_numpy().sum())
    if n_analysable < n_selected:
        blocks.append(Note(f"**{n_analysable:,} of {n_selected:,} selected patients are analysable.** "
                           f"{n_selected - n_analysable:,} left out ({spec.short} time or event not recorded).",
                           kind="info", icon=":material/info:"))
    grouped = labelled_counts(complete, grouping)
    n_groups = grouped["group"].nunique()
    if n_groups > prepare.MAX_COMPARED_LEVELS:
        blocks.append(common.too_many_levels(GROUPING_LABELS[grouping], n_groups,
                                             "The curve below shows all patients together; choose a coarser "
                                             "grouping, or filter the patients first."))
        grouping, grouped = "none", grouped.assign(group="All patients")
    result = kaplan_meier_by_group_from_counts(grouped, conf_type=conf_type, landmarks=landmarks)
    n_events = int(grouped["n_event"].sum())
    blocks.append(_curves_view(grouped, result, spec, endpoint, grouping, conf_type, landmarks, n_events,
                               methods.risk_table, methods.bands))
    blocks += survival.curve_notes(result)
    last = float(grouped["time"].max())
    if landmarks and last < max(landmarks):
        blocks.append(Note(f"Landmarks after {last:g} months (the last follow-up) carry the last estimate "
                           "forward; interpret with care."))
    blocks.append(Note(survival.follow_up_text(follow_up(grouped)) + f" Time to censoring for {spec.short}, each "
                       "event counted as censored follow-up.", kind="markdown"))
    studies = grouped.loc[grouped["stratum"].notna(), "stratum"].nunique() if "stratum" in grouped else 0
    stratified = methods.stratify == "study" and studies > 1 and grouping != "study"
    blocks += _logrank_blocks(grouped, spec, grouping, n_events, len(result.fits), stratified, studies)
    n_text = f"{n_analysable:,} patients with {spec.short} recorded, {n_events:,} events"
    if len(result.fits) >= 3 and len(grouped) > limits.SCALE.pairwise_count_rows.value:
        blocks.append(Note(f"Pairwise log-rank tests are not run for these {n_analysable:,} patients: counted by "
                           f"group and time they make {len(grouped):,} rows, more than "
                           f"{limits.SCALE.pairwise_count_rows.amount} (the times take nearly as many values as there "
                           "are patients). Filter the selection, or round the times in the registry (e.g. to days).",
                           kind="info"))
    elif len(result.fits) >= 3:
        blocks += survival.pairwise_blocks(lambda p_adjust: pairwise_logrank_from_counts(grouped, p_adjust=p_adjust),
                                           endpoint, grouping, methods, n_text)
    blocks += survival.rmst_blocks(result.fits, spec, endpoint, grouping, methods.rmst_tau, n_text)
    blocks.append(common.counted_note())
    return blocks


def _curves_view(grouped, result, spec, endpoint, grouping, conf_type, landmarks, n_events, risk_table,
                 bands) -> View:
    n = int(grouped[["n_event", "n_censor"]].to_numpy().sum())
    show_bands = survival.bands_shown(bands, len(result.fits))
    chart, curve_points, censor_marks, risk = survival.km_chart(result, spec, float(grouped["time"].max()),
                                                                risk_table, show_bands)
    kmunicate = risk_table == "kmunicate"
    parts = [Heading(f"Kaplan–Meier curves of {spec.label.lower()}"),
             Chart(chart, f"km-{endpoint}-by-{grouping}", title=f"{spec.label} (Kaplan–Meier)",
                   caption=f"{n:,} patients, {n_events:,} events. Step = KM estimate; "
                           + survival.band_text(show_bands, len(result.fits), conf_type) + ". Curves drawn at the resolution of the screen; every "
                           "number in the tables uses all patients."),
             Heading(f"Median {spec.short} and landmark rates"),
             Table(survival.median_table(result, spec, landmarks), f"{endpoint}-medians-by-{grouping}",
                   caption="Median by R's rule (midpoint where S(t) = 0.5 over an interval); CI from the CI curves. "
                           "NR = not reached. Landmark S(t) as R `summary(fit, times)`."),
             Heading("Risk table"),
             Table(prepare.risk_table_wide(risk, kmunicate), f"{endpoint}-risk-table-by-{grouping}",
                   caption="At risk = patients still followed at the time (R "
                           "`summary(fit, times, extend = TRUE)$n.risk`)."
                           + (" Events and censored = cumulative counts up to and including the time (KMunicate)."
                              if kmunicate else ""))]
    return View("survival_km", f"{spec.label} (Kaplan–Meier)", parts,
                n_text=f"{n:,} patients with {spec.short} recorded, {n_events:,} events", result=result,
                slide_fallback=functools.partial(survival.km_slide_fallback, result, spec, curve_points,
                                                 censor_marks, risk, risk_table, show_bands))


def _logrank_blocks(grouped, spec, grouping, n_events, n_groups, stratified, studies) -> list[Block]:
    if n_groups < 2:
        return [Note("Choose a grouping ('Curves by') to compare groups with the log-rank test.")]
    test = logrank_table_from_counts(grouped, stratified=stratified)
    n = int(test.table["n"].sum())
    verdict, shown = survival.logrank_shown(test, n, n_events, thousands=",")
    prefix = (f"Stratified by study ({studies} studies): observed and expected events summed over the studies, R "
              "`survdiff(... ~ group + strata(study_id))` " if stratified else "R `survdiff` ")
    parts = [Heading("Log-rank test"), verdict,
             Table(shown, f"logrank-by-{grouping}", caption=prefix + "(rho = 0).")]
    return [View("survival_logrank", f"Log-rank test by {GROUPING_LABELS[grouping]}", parts,
                 n_text=f"{n:,} patients with {spec.short} recorded, {n_events:,} events", result=test)]
