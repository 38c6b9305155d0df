"""Survival page: Kaplan–Meier curves of a time-to-event endpoint by a grouping, numbers at risk, medians,
landmark rates, the median follow-up, the log-rank test and the restricted mean survival time."""
from __future__ import annotations

import functools
import math

import pandas as pd

import charts
from analysis.follow_up import FollowUp, median_follow_up
from analysis.methods import BANDS, BANDS_LABELS, CONF_TYPES, MAX_CURVES_WITH_BANDS, RISK_TABLES
from analysis.pairwise import pairwise_logrank
from analysis.rmst import rmst_contrast, rmst_of_fits
from analysis.survival import kaplan_meier_by_group, logrank_table
from data import registry
from sarcoma_app.exports import snippets
from sarcoma_app.text import (CONF_TYPE_LABELS, GROUPING_LABELS, P_ADJUST_LABELS, RISK_TABLE_LABELS, escape_markdown,
                              fmt_median_ci, fmt_p, fmt_rate_ci, fmt_ratio_ci, fmt_time)
from sarcoma_app.views import common, prepare
from sarcoma_app.views.blocks import Block, Chart, Choice, Controls, Heading, Note, SlideFallback, Table, View
from sarcoma_app.viewstate.url_state import (MAX_LANDMARK_MONTHS, MAX_LANDMARKS, P_ADJUST_METHODS, MethodState,
                                             parse_landmarks_text, parse_rmst_tau_text)

TITLE = "Survival"
QUESTION = "How long did patients stay free of progression or alive, and does it differ between groups?"


def choices(patients: pd.DataFrame, methods: MethodState) -> list[Choice]:
    """Endpoint, grouping, CI transformation and landmarks, over what ``patients`` record."""
    endpoint = common.endpoint_choice(patients, methods.survival_endpoint)
    if patients.empty or endpoint is None:
        return []
    analysable, _ = prepare.endpoint_data(patients, endpoint.value)
    return [
        endpoint,
        common.grouping_choice("km_by", "Curves by", analysable, methods.km_by,
                               help="One Kaplan–Meier curve per group (groupings with two or more recorded values "
                                    "among the analysable patients)."),
        common.selected("conf_type", "CI transformation", CONF_TYPES, methods.conf_type, CONF_TYPE_LABELS.get,
                        help="Pointwise 95% intervals of S(t) as R survfit conf.type: "
                             + ", ".join(CONF_TYPE_LABELS.values()) + "."),
        common.selected("risk_table", "Risk table", RISK_TABLES, methods.risk_table, RISK_TABLE_LABELS.get,
                        help="Under the curves: the number at risk, cumulative events and cumulative censored at "
                             "each time (KMunicate, Morris et al. 2019), or the number at risk only."),
        common.selected("bands", "CI bands", BANDS, methods.bands, BANDS_LABELS.get,
                        help=f"The pointwise 95% CI bands around the curves: for up to {MAX_CURVES_WITH_BANDS} "
                             "curves (more overlapping bands hide the curves), always, or never."),
        Choice("landmarks", "Landmark times (months)", kind="text", value=methods.landmarks,
               to_text=lambda values: ", ".join(f"{v:g}" for v in values), parse=parse_landmarks_text,
               help=f"Up to {MAX_LANDMARKS} times, comma-separated, e.g. 4, 6.",
               invalid_hint=f"give up to {MAX_LANDMARKS} numbers of months between 0 and 240, separated by commas."),
    ] + [choice for choice in [common.stratify_choice(analysable, methods.stratify)] if choice is not None]


def build(patients: pd.DataFrame, methods: MethodState) -> list[Block]:
    """The page's blocks for the filtered ``patients`` and the resolved ``methods`` (see :func:`choices`)."""
    if patients.empty:
        return [common.NO_PATIENTS]
    if not registry.available_endpoints(registry.recorded_counts(patients, registry.ENDPOINT_VARIABLES)):
        return [common.no_endpoint()]
    endpoint, conf_type, landmarks = methods.survival_endpoint, methods.conf_type, list(methods.landmarks)
    spec = registry.ENDPOINTS[endpoint]
    analysable, excluded = prepare.endpoint_data(patients, endpoint)
    blocks: list[Block] = common.exclusion(analysable, patients, excluded)
    grouping, analysable, notes = common.grouped_or_all(
        analysable, methods.km_by, "The curve below shows all patients together; choose a coarser grouping, or "
                                   "filter the patients first.")
    blocks += notes
    result = kaplan_meier_by_group(analysable["time"], analysable["event"], analysable["group"],
                                   conf_type=conf_type, landmarks=landmarks)
    n_events = int(analysable["event"].sum())
    blocks.append(_curves_view(patients, analysable, result, spec, endpoint, grouping, conf_type, landmarks,
                               n_events, risk_table=methods.risk_table, bands=methods.bands))
    blocks += curve_notes(result)
    last = float(analysable["time"].max())
    if landmarks and last < max(landmarks):
        blocks.append(Note(f"Landmarks after {last:g} months (the last follow-up) carry the last estimate "
                           "forward; interpret with care."))
    blocks.append(follow_up_note(analysable, spec))
    blocks += _logrank_blocks(patients, analysable, spec, endpoint, grouping, n_events, len(result.fits),
                              stratified=common.stratified(analysable, methods.stratify) and grouping != "study")
    n_text = f"{len(analysable)} patients with {spec.short} recorded, {n_events} events"
    if len(result.fits) >= 3:
        blocks += pairwise_blocks(
            lambda p_adjust: pairwise_logrank(analysable["time"], analysable["event"], analysable["group"],
                                              p_adjust=p_adjust),
            endpoint, grouping, methods, n_text, patients=patients)
    blocks += rmst_blocks(result.fits, spec, endpoint, grouping, methods.rmst_tau, n_text, patients=patients)
    return blocks


def curve_notes(result) -> list[Note]:
    """What a reader should know of single curves: no event (median not reached), a single patient."""
    no_events = [f"{escape_markdown(group)} ({fit.n:,})" for group, fit in result.fits.items() if fit.n_events == 0]
    single = [escape_markdown(group) for group, fit in result.fits.items() if fit.n == 1 and fit.n_events > 0]
    notes = []
    if no_events:
        notes.append(Note("No events, so the median is not reached (NR) and the curve stays at 100%: "
                          + ", ".join(no_events) + ".", kind="info"))
    if single:
        notes.append(Note("A single patient, so the curve is one step and its CI is not informative: "
                          + ", ".join(single) + ".", kind="info"))
    return notes


def follow_up_text(follow: FollowUp) -> str:
    """'Median follow-up (reverse Kaplan–Meier): 7.80 months (95% CI 7.80–NR)', or why it is not estimable."""
    lead = "Median follow-up (reverse Kaplan–Meier): "
    if follow.n_censored == 0:
        return (lead + "not estimable: no patient is censored (every follow-up ended with an event), so the "
                       "reverse curve never drops.")
    if math.isnan(follow.median):
        return (lead + f"not reached: the reverse curve stays above 0.5 ({follow.n_censored:,} of {follow.n:,} "
                       "patients censored).")
    return (lead + f"{fmt_time(follow.median)} months (95% CI {fmt_time(follow.lower)}–{fmt_time(follow.upper)}); "
                   f"{follow.n:,} patients, {follow.n_censored:,} censored. NR = not reached.")


def follow_up_note(analysable: pd.DataFrame, spec: registry.Endpoint) -> Note:
    """The median follow-up of the analysable patients (R ``survfit(Surv(time, 1 - event) ~ 1)``) as a note."""
    follow = median_follow_up(analysable["time"], analysable["event"].astype(int))
    return Note(follow_up_text(follow) + f" Time to censoring for {spec.short}, each event counted as censored "
                                         "follow-up.", kind="markdown")


def bands_shown(bands: str, n_curves: int) -> bool:
    """Whether the CI bands are drawn: ``"on"``, ``"off"``, or ``"auto"`` for up to
    :data:`analysis.methods.MAX_CURVES_WITH_BANDS` curves."""
    return bands == "on" or (bands == "auto" and n_curves <= MAX_CURVES_WITH_BANDS)


def band_text(show_bands: bool, n_curves: int, conf_type: str) -> str:
    """What the KM chart's bands are, or that they are hidden (for its caption)."""
    return (f"band = pointwise 95% CI ({CONF_TYPE_LABELS[conf_type]})" if show_bands else
            f"CI bands hidden ({n_curves} curves; switch them on with CI bands)")


def km_chart(result, spec: registry.Endpoint, max_time: float, risk_table: str, show_bands: bool = True):
    """The KM chart of ``result`` with its risk table, and the curve, censor-mark and risk frames behind it."""
    grid = prepare.risk_grid(max_time)
    curve_points, censor_marks = prepare.km_curve_frame(result.fits), prepare.km_censor_frame(result.fits)
    risk = prepare.km_kmunicate_frame(result.fits, grid)
    chart = _km_plot(result, spec, curve_points, censor_marks, risk, risk_table, show_bands)
    return chart, curve_points, censor_marks, risk


def _km_plot(result, spec, curve_points, censor_marks, risk, risk_table, show_bands, with_risk_table=True):
    return charts.kaplan_meier_plot(curve_points, censor_marks, risk, [str(g) for g in result.fits],
                                    time_label="Months since start of treatment", y_label=spec.label,
                                    risk_table=risk_table, show_bands=show_bands, with_risk_table=with_risk_table)


KM_SLIDE_NOTE = ("On this slide the curves stand alone: with their risk table they would not fit a slide at 14 pt, "
                 "so the risk table is on the slides after the medians.")


def km_slide_fallback(result, spec: registry.Endpoint, curve_points: pd.DataFrame, censor_marks: pd.DataFrame,
                      risk: pd.DataFrame, risk_table: str, show_bands: bool) -> SlideFallback:
    """The KM slide when the chart with its risk table cannot reach 14 pt: the curves alone, the risk table
    as a slide table (see :func:`sarcoma_app.exports.deck.with_chart`). The views pass it unbuilt (a
    ``functools.partial``), so that a page run does not draw a second chart that only a slide may need."""
    plot = _km_plot(result, spec, curve_points, censor_marks, risk, risk_table, show_bands, with_risk_table=False)
    return SlideFallback(plot, prepare.risk_table_wide(risk, risk_table == "kmunicate"), "risk table", KM_SLIDE_NOTE)


def _curves_view(patients, analysable, result, spec, endpoint, grouping, conf_type, landmarks, n_events,
                 risk_table="kmunicate", bands="auto") -> View:
    groups = [str(g) for g in result.fits]
    show_bands = bands_shown(bands, len(groups))
    chart, curve_points, censor_marks, risk = km_chart(result, spec, float(analysable["time"].max()), risk_table,
                                                       show_bands)
    kmunicate = risk_table == "kmunicate"
    parts = [Heading(f"Kaplan–Meier curves of {spec.label.lower()}"),
             Chart(chart, f"km-{endpoint}-by-{grouping}", title=f"{spec.label} (Kaplan–Meier)",
                   caption=f"{len(analysable):,} patients, {n_events:,} events. Step = KM estimate; "
                           + band_text(show_bands, len(groups), conf_type) + "; + = censored. "
                           + ("Under the plot: numbers at risk, and events and censored up to each time "
                              "(KMunicate)." if kmunicate else "Numbers at risk under the plot."))]
    if n_events == len(analysable):
        parts.append(Note("Every analysable patient had an event (no censoring), so there are no censor marks."))
    if curve_points.attrs.get("thinned") or censor_marks.attrs.get("omitted"):
        parts.append(Note(
            "Large cohort: "
            + ("each curve is drawn at the resolution of the screen (its last step in each of at most "
               f"{prepare.MAX_CURVE_STEPS:,} equal time intervals); " if curve_points.attrs.get("thinned") else "")
            + (f"the {censor_marks.attrs['omitted']:,} censored times are not marked (the marks would hide the "
               "curve); " if censor_marks.attrs.get("omitted") else "")
            + "every number in the tables uses all patients."))
    parts += [Heading(f"Median {spec.short} and landmark rates"),
              Table(median_table(result, spec, landmarks), f"{endpoint}-medians-by-{grouping}",
                    caption="Median by R's rule (midpoint where S(t) = 0.5 over an interval); CI from the CI curves. "
                            "NR = not reached. Landmark S(t) as R `summary(fit, times)`; a landmark after the last "
                            "follow-up carries the last value (0 at risk). CI not defined = S(t) is 0 (R gives NA)."),
              Heading("Risk table"),
              Table(prepare.risk_table_wide(risk, kmunicate), f"{endpoint}-risk-table-by-{grouping}",
                    caption="At risk = patients still followed at the time (R "
                            "`summary(fit, times, extend = TRUE)$n.risk`)" + ("; events and censored = cumulative counts up to and including the time "
                                          "(KMunicate, Morris et al., BMJ Open 2019)." if kmunicate else "."))]
    return View("survival_km", f"{spec.label} (Kaplan–Meier)", parts, patients=patients,
                n_text=f"{len(analysable):,} of {len(patients):,} selected patients with {spec.short} recorded, "
                       f"{n_events:,} events",
                code=snippets.survival(grouping, conf_type, landmarks, endpoint=endpoint), result=result,
                slide_fallback=functools.partial(km_slide_fallback, result, spec, curve_points, censor_marks, risk,
                                                 risk_table, show_bands))


def median_table(result, spec: registry.Endpoint, landmarks: list[float]) -> pd.DataFrame:
    """One row per group: patients, events, median (95% CI) and each landmark rate with its number at risk."""
    rows = []
    for group, fit in result.fits.items():
        row = {"Group": str(group), "Patients": fit.n, "Events": fit.n_events,
               "Median, months (95% CI)": fmt_median_ci(fit.median, *fit.median_ci)}
        at_times = fit.survival_at_times(landmarks) if landmarks else pd.DataFrame()
        for t_row in at_times.itertuples():
            row[f"{spec.short} at {t_row.time:g} mo (95% CI) · at risk"] = (
                f"{fmt_rate_ci(t_row.survival, t_row.lower, t_row.upper)} · {int(t_row.n_risk):,} at risk")
        rows.append(row)
    return pd.DataFrame(rows)


def rmst_tau_choice(value: float) -> Choice:
    """The RMST horizon: a number of months, or empty (0) for the default rule."""
    return Choice("rmst_tau", "RMST horizon τ (months)", kind="text", value=value,
                  to_text=lambda v: "" if not v else f"{v:g}", parse=parse_rmst_tau_text,
                  help="Empty: the shortest group's last follow-up (survRM2's default). A larger τ is refused.",
                  invalid_hint=f"give one number of months up to {MAX_LANDMARK_MONTHS:g}, or leave it empty for "
                               "the default.")


def rmst_blocks(fits: dict, spec: registry.Endpoint, endpoint: str, grouping: str, wanted_tau: float, n_text: str,
                patients: pd.DataFrame | None = None) -> list[Block]:
    """The RMST section from the page's Kaplan–Meier ``fits`` (of patients, or of counts: ``patients`` None, and
    no code snippet, which reads the patients' CSV)."""
    blocks: list[Block] = [Heading(f"Restricted mean survival time ({spec.short})"), Controls((rmst_tau_choice(wanted_tau),))]
    try:
        result = rmst_of_fits(fits, tau=wanted_tau or None)
    except ValueError as error:
        if not wanted_tau:
            return blocks + [Note(f"The RMST cannot be computed: {escape_markdown(error)}", kind="info")]
        try:
            result = rmst_of_fits(fits)
        except ValueError as error:
            return blocks + [Note(f"The RMST cannot be computed: {escape_markdown(error)}", kind="info")]
        blocks.append(Note(f"τ = {wanted_tau:g} months is beyond the shortest group's last follow-up "
                           f"({round(result.tau, 2):g} months): that group's curve would be extrapolated, so it is "
                           f"refused. Showing the default τ = {round(result.tau, 2):g} months instead.",
                           kind="warning"))
    tau = round(result.tau, 2)  # shown; the numbers use the exact result.tau
    rows = [{"Group": str(row.group), "Patients": row.n, "Events": row.events,
             f"RMST up to {tau:g} months (95% CI)": fmt_median_ci(row.rmst, row.lower, row.upper),
             "SE": f"{row.se:.3f}"} for row in result.table.itertuples()]
    why = ("the shortest group's last follow-up (survRM2's default rule): no curve is extrapolated"
           if result.tau_is_default else
           f"chosen (the default would be {round(result.tau_limit, 2):g}, the shortest group's last follow-up)")
    caption = (f"RMST = area under the Kaplan–Meier curve from 0 to τ = {tau:g} months: the mean {spec.short} time "
               f"within the first {tau:g} months. τ is {why}. SE as R `print(survfit(...), rmean = τ)` "
               "(Greenwood-type sum of survival's survmean); 95% CI = RMST ± 1.96 SE.")
    parts = [Table(pd.DataFrame(rows), f"rmst-{endpoint}-by-{grouping}", caption=caption)]
    if len(result.groups) == 2:
        contrast = rmst_contrast(result)
        second, first = str(contrast.comparator), str(contrast.reference)
        shown = pd.DataFrame([
            {"Contrast": f"Difference ({second} − {first}), months",
             "Estimate (95% CI)": f"{contrast.difference:.2f} ({contrast.difference_lower:.2f} to "
                                  f"{contrast.difference_upper:.2f})",
             "p": fmt_p(contrast.difference_p)},
            {"Contrast": f"Ratio ({second} / {first})",
             "Estimate (95% CI)": fmt_ratio_ci(contrast.ratio, contrast.ratio_lower, contrast.ratio_upper),
             "p": fmt_p(contrast.ratio_p)},
        ])
        parts.append(Table(shown, f"rmst-contrast-{endpoint}-by-{grouping}",
                           caption="As survRM2 `rmst2` (unadjusted): difference with a normal CI and p from z; ratio "
                                   "with a delta-method CI and p on the log scale. p – = not defined (no variance)."))
    elif len(result.groups) > 2:
        parts.append(Note("The difference and ratio of RMST are shown for exactly two groups; choose a grouping "
                          "with two groups to compare them."))
    if (result.table["se"] == 0).any():
        parts.append(Note("A group with no event up to τ (or a single patient) has no variance: its CI is one point.",
                          kind="info"))
    blocks.append(View("survival_rmst", f"Restricted mean survival time ({spec.short}) up to {tau:g} months", parts,
                       patients=patients, n_text=n_text,
                       code=None if patients is None else
                       snippets.rmst(grouping, None if result.tau_is_default else result.tau, endpoint=endpoint),
                       result=result))
    return blocks


def pairwise_table(pairs: pd.DataFrame, p_adjust: str) -> pd.DataFrame:
    """The pairwise log-rank table as shown: the two groups, their patients / events, chi-square, p, adjusted p."""
    return pd.DataFrame({
        "Group 1": pairs["group_1"].astype(str), "Group 2": pairs["group_2"].astype(str),
        "Patients (events)": [f"{n1:,} ({e1:,}) vs {n2:,} ({e2:,})" for n1, e1, n2, e2 in
                              zip(pairs["n_1"], pairs["events_1"], pairs["n_2"], pairs["events_2"])],
        "χ²": pairs["statistic"].map(lambda v: f"{v:.2f}"),
        "p": pairs["p_value"].map(fmt_p),
        f"p adjusted ({p_adjust})": pairs["p_adjusted"].map(fmt_p),
        "Note": pairs["note"],
    })


#: Patients below which a pairwise caption calls a group small.
SMALL_GROUP = 30


def pairwise_blocks(pairs_of, endpoint: str, grouping: str, methods: MethodState, n_text: str,
                    patients: pd.DataFrame | None = None) -> list[Block]:
    """The pairwise log-rank section; ``pairs_of(p_adjust)`` makes the table (of patients, or of counts:
    ``patients`` None, and no code snippet)."""
    p_adjust = common.selected("p_adjust", "Multiplicity adjustment", P_ADJUST_METHODS, methods.p_adjust,
                               P_ADJUST_LABELS.get, help="Applied across the pairwise log-rank tests below.")
    pairs = pairs_of(p_adjust.value)
    n_tests = pairs.attrs["n_tests"]
    parts = [Table(pairwise_table(pairs, p_adjust.value), f"pairwise-logrank-by-{grouping}",
                   caption=f"Log-rank test (R `survdiff`, rho = 0) of each pair of groups on their patients only, as "
                           f"survminer `pairwise_survdiff`; {n_tests} tests, p adjusted with "
                           f"{P_ADJUST_LABELS[p_adjust.value]} (R `p.adjust`). Exploratory"
                           + (": groups are small." if min(pairs["n_1"].min(), pairs["n_2"].min()) < SMALL_GROUP
                              else ": one test per pair of groups."))]
    return [Heading("Pairwise log-rank tests"), Controls([p_adjust]),
            View("survival_pairwise", f"Pairwise log-rank tests by {GROUPING_LABELS[grouping]}", parts,
                 patients=patients, n_text=n_text,
                 code=None if patients is None else
                 snippets.pairwise_logrank(grouping, p_adjust.value, endpoint=endpoint), result=pairs)]


def logrank_shown(test, n: int, n_events: int, thousands: str = "") -> tuple[Note, pd.DataFrame]:
    """The log-rank verdict line and the observed / expected table as shown (``thousands=","`` for large n)."""
    if math.isnan(test.p_value):
        verdict = Note("The log-rank test cannot be computed: there is no event in the compared groups.", kind="info")
    else:
        verdict = Note(f"χ² = {test.statistic:.2f} on {test.df} df, **p = {fmt_p(test.p_value)}** "
                       f"({n:{thousands}} patients, {n_events:{thousands}} events).", kind="markdown")
    shown = pd.DataFrame({
        "Group": test.table["group"].astype(str), "Patients": test.table["n"],
        "Observed events": test.table["observed"].round().astype("int64"),  # counts (summed as floats)
        "Expected events": test.table["expected"].map(lambda v: f"{v:.2f}"),
        "(O−E)²/V": test.table["oe2_over_v"].map(lambda v: f"{v:.3f}"),
    })
    return verdict, shown


def _logrank_blocks(patients, analysable, spec, endpoint, grouping, n_events, n_groups,
                    stratified=False) -> list[Block]:
    if n_groups < 2:
        return [Note("Choose a grouping ('Curves by') to compare groups with the log-rank test.")]
    test = logrank_table(analysable["time"], analysable["event"], analysable["group"],
                         strata=analysable["study_id"] if stratified else None)
    verdict, shown = logrank_shown(test, len(analysable), n_events)
    parts = [Heading("Log-rank test"), verdict,
             Table(shown, f"logrank-by-{grouping}",
                   caption=(common.stratified_text(analysable) + "observed and expected events summed over the "
                            "studies, R `survdiff(... ~ group + strata(study_id))`. " if stratified else "R `survdiff` ")
                           + "(rho = 0). Groups with very few patients give an unreliable test.")]
    blocks: list[Block] = [View("survival_logrank", f"Log-rank test by {GROUPING_LABELS[grouping]}", parts,
                                patients=patients, n_text=f"{len(analysable)} patients with {spec.short} recorded, "
                                                          f"{n_events} events",
                                code=snippets.logrank(grouping, endpoint=endpoint, stratify=stratified),
                                result=test)]
    if test.generalised_inverse:
        blocks.append(Note("The variance matrix was singular; a generalised inverse was used (R would stop here)."))
    return blocks
