"""Hazard ratios page: univariate Cox screening of every characteristic the data can compare, the published
hazard ratios beside ours, and a multivariable model the user composes."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

import charts
from analysis.cox import InsufficientDataError, fit_cox, is_monotone_note, univariate_cox
from analysis.firth import firth_cox
from analysis.multiplicity import adjust_pvalues
from analysis.proportional_hazards import PH_ALPHA, ZPH_TRANSFORM_LABELS, cox_zph, ph_doubtful
from data import registry
from sarcoma_app.exports import snippets
from sarcoma_app.exports.deck import NOTE_COLUMN
from sarcoma_app.text import (P_ADJUST_LABELS, TIES_LABELS, escape_markdown, fmt_p, fmt_ratio_ci, fmt_value_ci,
                              study_label)
from sarcoma_app.views import common, covariates, prepare, published
from sarcoma_app.views.blocks import Block, Chart, Choice, Controls, Expander, Heading, Note, Table, View
from sarcoma_app.views.covariates import COVARIATES, covariate_frame, reference_label, reference_note, term_label
from sarcoma_app.viewstate.url_state import P_ADJUST_METHODS, TIES, MethodState

TITLE = "Hazard ratios"
QUESTION = "Which patient characteristics go with longer or shorter survival?"


def choices(patients: pd.DataFrame, methods: MethodState) -> list[Choice]:
    """Endpoint, tied event times and the multiplicity adjustment (the covariates of the model are chosen
    further down the page: see :func:`terms_choice`)."""
    endpoint = common.endpoint_choice(patients, methods.survival_endpoint)
    if patients.empty or endpoint is None:
        return []
    analysable, _ = prepare.endpoint_data(patients, endpoint.value)
    stratify = common.stratify_choice(analysable, methods.stratify)  # only where the models can use it
    return [
        endpoint,
        common.selected("ties", "Tied event times", TIES, methods.ties, TIES_LABELS.get,
                        help="Efron is R coxph's default; Breslow is SAS/SPSS's."),
        common.selected("p_adjust", "Multiplicity adjustment", P_ADJUST_METHODS, methods.p_adjust,
                        P_ADJUST_LABELS.get, help="Across all terms of the screening table."),
    ] + ([stratify] if stratify is not None else [])


def compared_covariates(analysable: pd.DataFrame) -> tuple[list[str], dict[str, int]]:
    """The covariates the Cox models use (two or more recorded values, not too many levels), and the crowded
    ones left out with their number of levels."""
    offered = covariates.offered(analysable)
    frame = pd.DataFrame({key: COVARIATES[key].build(analysable) for key in offered}, index=analysable.index)
    levels = {key: prepare.n_levels(frame[key]) for key in offered}
    crowded = {key: n for key, n in levels.items() if n > prepare.MAX_COMPARED_LEVELS}  # k levels = k - 1 terms
    return [key for key in offered if key not in crowded], crowded


def terms_choice(keys: list[str], wanted: tuple[str, ...]) -> Choice:
    """The covariates of the multivariable model among ``keys``: the wanted ones the data have; while the
    choice is still the default and the data have none of it, the first two of ``keys``."""
    kept = tuple(key for key in wanted if key in keys)
    if not kept and tuple(wanted) == MethodState().cox_terms:
        kept = tuple(keys[:2])
    return Choice("cox_terms", "Covariates in the model", tuple(keys), kept, lambda key: COVARIATES[key].label,
                  help="All chosen characteristics enter one Cox model together.", kind="multiselect")


def estimate_text(row) -> str:
    """HR (CI), p and the patients/events behind the term, for the forest plot."""
    n, events = (row.level_n, row.level_events) if pd.notna(row.level_n) else (row.n, row.events)
    counts = (f"{int(n):,} pt{'s' if int(n) != 1 else ''}, {int(events):,} ev" if pd.notna(n) else "")
    if not row.estimable:
        return f"not estimable · {counts}"
    return f"{fmt_ratio_ci(row.hr, row.hr_lower, row.hr_upper)} p {fmt_p(row.p)} · {counts}"


def _in_level(terms: pd.DataFrame) -> list[str]:
    return [f"{int(a):,} ({int(b):,})" if pd.notna(a) else "–" for a, b in zip(terms["level_n"], terms["level_events"])]


def _hr_texts(terms: pd.DataFrame) -> list[str]:
    return [fmt_ratio_ci(r.hr, r.hr_lower, r.hr_upper) if r.estimable else "not estimable" for r in terms.itertuples()]


def _forest(terms: pd.DataFrame, outcome: str | None = None):
    return charts.hazard_ratio_forest(outcome=outcome, rows=pd.DataFrame({
        "row_label": terms["label"], "hr": terms["hr"].astype(float), "lower": terms["hr_lower"].astype(float),
        "upper": terms["hr_upper"].astype(float), "estimate_text": [estimate_text(r) for r in terms.itertuples()],
    }))


def build(patients: pd.DataFrame, methods: MethodState, reconciliation: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks for the filtered ``patients`` and the resolved ``methods`` (see :func:`choices`).

    ``reconciliation`` is :func:`analysis.reconcile.reconcile` of the published cohorts (None for a data source
    without published tables): its hazard ratios are shown beside ours for PFS.
    """
    if patients.empty:
        return [common.NO_PATIENTS]
    if not registry.available_endpoints(registry.recorded_counts(patients, registry.ENDPOINT_VARIABLES)):
        return [common.no_endpoint()]
    endpoint, ties, p_adjust = methods.survival_endpoint, methods.ties, methods.p_adjust
    spec = registry.ENDPOINTS[endpoint]
    analysable, excluded = prepare.endpoint_data(patients, endpoint)
    blocks: list[Block] = common.exclusion(analysable, patients, excluded)
    if analysable.empty or analysable["event"].sum() == 0:
        blocks.append(Note(f"No analysable patient with an event ({spec.event_label}) in the selection: hazard "
                           "ratios cannot be estimated.", kind="warning"))
        return blocks

    blocks.append(Heading("Univariate screening (one Cox model per characteristic)"))
    keys, crowded = compared_covariates(analysable)
    blocks += [common.too_many_levels(COVARIATES[key].label, n, "It is left out of the Cox models on this page.")
               for key, n in crowded.items()]
    offered = set(keys) | set(crowded)
    not_offered = [COVARIATES[key].label for key in COVARIATES if key not in offered]
    if not keys:
        missing = f" Not recorded or constant here: {escape_markdown('; '.join(not_offered))}." if not_offered else ""
        blocks.append(Note("No characteristic takes two or more values among the analysable patients, so there is "
                           "nothing to compare." + missing, kind="info"))
        return blocks
    if not_offered:
        blocks.append(Note(f"Not offered (not recorded, or one value only, among these {len(analysable):,} "
                           f"patients): {escape_markdown('; '.join(not_offered))}."))
    data = covariate_frame(analysable, keys, endpoint)
    stratified = common.stratified(analysable, methods.stratify)
    if stratified:
        data = data.assign(study_id=analysable["study_id"])
    screening = _screening_view(patients, analysable, data, keys, spec, endpoint, ties, p_adjust, stratified)
    blocks.append(screening)
    budget = FirthBudget()
    blocks += _patient_firth_blocks(patients, data, screening.result, spec, endpoint, separately=True, budget=budget)
    if reconciliation is not None and endpoint == "pfs":
        blocks.append(_published_expander(reconciliation))
    blocks += _model_blocks(patients, data, keys, methods.cox_terms, spec, endpoint, ties, stratified, budget)
    return blocks


def _strata_text(analysable, stratified: bool) -> str:
    """The caption's opening when the models are stratified by study (one baseline hazard per study)."""
    if not stratified:
        return ""
    return (common.stratified_text(analysable) + "one baseline hazard per study (R `strata(study_id)`), the hazard "
            "ratios compare patients within each study. ")


def _screening_view(patients, analysable, data, keys, spec, endpoint, ties, p_adjust, stratified=False) -> View:
    screen = univariate_cox(data, spec.time, spec.event, keys, ties=ties,
                            strata="study_id" if stratified else None)
    return screening_view(screen, spec, ties, p_adjust, _strata_text(analysable, stratified),
                          n_text=f"{len(analysable)} patients with {spec.short} recorded, "
                                 f"{int(analysable['event'].sum())} events",
                          patients=patients,
                          code=snippets.cox_univariate(keys, ties, p_adjust, snippets.factor_references(data),
                                                       endpoint=endpoint, stratify=stratified))


def screening_view(screen: pd.DataFrame, spec, ties: str, p_adjust: str, strata_text: str, n_text: str,
                   patients: pd.DataFrame | None = None, code=None) -> View:
    """The screening table and forest of ``screen`` (:func:`analysis.cox.univariate_cox`'s table)."""
    screen["label"] = [term_label(r.covariate, r.level, r.reference) for r in screen.itertuples()]
    screen["p_adjusted"] = adjust_pvalues(screen["p"].astype(float).to_numpy(), p_adjust)
    shown = pd.DataFrame({  # the estimates first: they stay on screen beside the characteristic
        "Characteristic": screen["label"],
        "HR (95% CI)": _hr_texts(screen),
        "p (Wald)": screen["p"].map(fmt_p),
        f"p adjusted ({p_adjust})": pd.Series(screen["p_adjusted"]).map(fmt_p),
        "Patients": screen["n"], "Events": screen["events"],
        "In level (events)": _in_level(screen),
        "Reference (events)": [f"{reference_label(c, ref)}: {int(a):,} ({int(b):,})" if pd.notna(a) else "–"
                               for c, ref, a, b in zip(screen["covariate"], screen["reference"], screen["reference_n"],
                                                       screen["reference_events"])],
        NOTE_COLUMN: [r.note or r.warnings or "" for r in screen.itertuples()],
    })
    title = f"Univariate hazard ratios for {spec.short} (95% CI)"
    parts = [Table(shown, "cox-univariate",
                   caption=strata_text
                           + f"Cox proportional hazards, {TIES_LABELS[ties]} ties, Wald 95% CI and p (R `coxph`). "
                           f"HR < 1 = longer {spec.short}. Each row is its own model on the patients with that "
                           "characteristic known."),
             Chart(_forest(screen, spec.short), "cox-univariate-forest", title=title,
                   caption="Log scale; dashed line = HR 1 (no difference); pt(s)/ev = patients and events in the level. "
                           "Not estimable terms are listed without a bar. " + reference_note(screen))]
    return View("cox_univariate", title, parts, patients=patients, n_text=n_text, code=code,
                result=screen, slide_table=slide_screening_table(shown))


def slide_screening_table(shown: pd.DataFrame) -> pd.DataFrame:
    """The screening table for a slide: patients and events in one column, so every column fits a slide's width
    at 14 pt (its long notes become numbered notes on a slide of their own, see
    :func:`sarcoma_app.exports.deck.split_notes`)."""
    compact = shown.drop(columns=["Patients", "Events"])
    compact.insert(list(shown.columns).index("Patients"), "Patients (events)",
                   [f"{p:,} ({e:,})" for p, e in zip(shown["Patients"], shown["Events"])])
    return compact


def _published_expander(reconciliation: pd.DataFrame) -> Expander:
    comparison = reconciliation[reconciliation["endpoint"] == "hazard_ratio"]
    table = pd.DataFrame({
        "Study": comparison["study_id"].map(study_label),
        "Published (verbatim)": comparison["printed"],
        "Recomputed HR (95% CI)": [fmt_value_ci(r.recomputed_estimate, r.recomputed_ci_lower, r.recomputed_ci_upper,
                                                "ratio") for r in comparison.itertuples()],
        "Recomputed p": comparison["recomputed_p_value"].map(fmt_p),
        "Status": comparison["status"].map(published.status_label), "Assumption": comparison["assumption"],
        "Explanation": comparison["explanation"], "Method": comparison["method"],
    })
    return Expander("Published hazard ratios beside ours (whole published cohorts, filters not applied)",
                    [Table(table, "published-hazard-ratios")])


ZPH_TRANSFORM = "km"  # R cox.zph's default time scale


def zph_block(check: Callable[[], dict], spec, ties: str, stratified: bool = False,
              patients: pd.DataFrame | None = None, code=None) -> Block:
    """The proportional-hazards check of the multivariable model (R ``cox.zph``), or why it cannot be done.

    ``check()`` makes the test (:func:`analysis.proportional_hazards.cox_zph` of the patients, or
    ``cox_zph_from_counts`` of their counts) with ``transform=ZPH_TRANSFORM``; ``code``: its snippet, if any.
    """
    try:
        zph = check()
    except InsufficientDataError as error:
        return Note(f"Proportional hazards cannot be checked: {escape_markdown(error)}.", kind="info")
    table = zph["table"]
    labels = {term: COVARIATES[term].label for term in zph["terms"]}
    shown = pd.DataFrame({
        "Term": [labels.get(term, "Global (all terms)") for term in table.index],
        "Chi-square": table["chisq"].map(lambda v: f"{v:.3f}"), "df": table["df"],
        "p": table["p"].map(fmt_p),
    })
    parts: list = [Heading("Proportional hazards (cox.zph)")]
    if stratified:
        parts.append(Note("The model above is stratified by study; this check is of the same covariates without "
                          "strata (a stratified cox.zph is not computed here)."))
    doubtful = [labels[term] for term in ph_doubtful(table, PH_ALPHA)]
    if not doubtful and table.at["GLOBAL", "p"] < PH_ALPHA:
        doubtful = ["the model as a whole (global test)"]
    if doubtful:
        parts.append(Note(f"Proportional hazards doubtful for {escape_markdown(', '.join(doubtful))} (cox.zph "
                          f"p < {PH_ALPHA:g}): the hazard ratio changes over time; consider a stratified model or "
                          "RMST.", kind="warning", icon=":material/warning:"))
    time_title = ZPH_TRANSFORM_LABELS[ZPH_TRANSFORM].replace(" (R default)", "") + " of the event time"
    n_residuals = len(zph["x"])  # one per event: a million at scale, so the terms as codes, not text
    long = pd.DataFrame({"term": pd.Categorical.from_codes(np.repeat(np.arange(len(zph["terms"])), n_residuals),
                                                           categories=[labels[term] for term in zph["terms"]]),
                         "x": np.tile(zph["x"], len(zph["terms"])),
                         "residual": zph["residuals"][zph["terms"]].to_numpy().ravel(order="F")})
    coef = zph["coef"]
    reference = {}
    for term in zph["terms"]:
        columns = [name for name in coef.index if name == term or name.startswith(f"{term}[")]
        reference[labels[term]] = float(coef[term]) if columns == [term] else 1.0
    title = f"Proportional hazards (cox.zph) of the {spec.short} model"
    parts += [Table(shown, "cox-zph",
                    caption=f"Score test of a time-varying coefficient, beta(t) = beta + theta·g(t) with g = "
                            f"{ZPH_TRANSFORM_LABELS[ZPH_TRANSFORM]}, per term (a factor's levels together, df = "
                            f"levels − 1) and for all terms (global); {TIES_LABELS[ties]} ties, as R survival 3.5 "
                            "`cox.zph(fit, transform = \"km\")`. Small p = the hazard ratio is not constant."),
              Chart(charts.schoenfeld_residual_plot(long, reference, time_title), "cox-zph-residuals", title=title,
                    caption="Scaled Schoenfeld residuals, one point per event: an estimate of the coefficient "
                            "(log hazard ratio) at that time. Solid line = centred moving average over about a fifth "
                            "of the events (at least 3); dashed line = the model's constant coefficient (1 for a "
                            "factor, whose levels are combined by their coefficients). A trend away from the dashed "
                            "line means non-proportional hazards." + _thinned_text(zph))]
    return View("cox_zph", title, parts, patients=patients,
                n_text=f"{zph['events']:,} events, {len(zph['terms'])} term(s)", code=code, result=zph)


def _thinned_text(zph: dict) -> str:
    """Says how many of the events a residual panel draws, when it cannot draw them all."""
    drawn = charts.cox.residual_points_per_panel(len(zph["terms"]))
    if zph["events"] <= drawn:
        return ""
    return (f" Each panel draws about {drawn:,} of the {zph['events']:,} events, evenly spaced in time; the line is "
            "averaged over all of them.")


def _model_blocks(patients, data, keys, wanted, spec, endpoint, ties, stratified, budget: FirthBudget) -> list[Block]:
    terms, blocks = model_choice_blocks(keys, wanted)
    if not terms:
        return blocks
    T, E = spec.time, spec.event
    strata = ["study_id"] if stratified else []
    try:
        fitted = fit_cox(data[[T, E, *terms, *strata]], T, E, terms, ties=ties, strata=strata[0] if strata else None)
    except InsufficientDataError as error:
        blocks.append(Note(f"The model cannot be fitted: {escape_markdown(error)}.", kind="warning"))
        return blocks
    view = model_view(fitted, spec, ties, _strata_text(data, stratified), patients=patients,
                      code=snippets.cox_multivariable(terms, ties, snippets.factor_references(data[[T, E, *terms]]),
                                                      endpoint=endpoint, stratify=stratified))
    blocks.append(view)
    blocks.append(zph_block(lambda: cox_zph(data, T, E, terms, ties=ties, transform=ZPH_TRANSFORM), spec, ties,
                            stratified, patients=patients,
                            code=snippets.cox_zph(terms, ties, snippets.factor_references(data[[T, E, *terms]]),
                                                  endpoint=endpoint, transform=ZPH_TRANSFORM)))
    blocks += _patient_firth_blocks(patients, data[[T, E, *terms]], view.result.reset_index(), spec, endpoint,
                                    separately=False, budget=budget)
    return blocks


def model_choice_blocks(keys: list[str], wanted: tuple[str, ...]) -> tuple[list[str], list[Block]]:
    """The covariates of the multivariable model, and the heading, control and notes above it (a note asks
    for a covariate when none is chosen: the model is then not fitted)."""
    choice = terms_choice(keys, wanted)
    terms = list(choice.value)
    blocks: list[Block] = [Heading("Multivariable model"), Controls((choice,))]
    left_out = [COVARIATES[term].label for term in wanted if term not in keys]
    if left_out:
        blocks.append(Note(f"Not in the model (not recorded or constant among these patients): "
                           f"{escape_markdown('; '.join(left_out))}."))
    if not terms:
        blocks.append(Note("Choose at least one covariate to fit a multivariable model.", kind="info"))
    return terms, blocks


def model_view(fitted: pd.DataFrame, spec, ties: str, strata_text: str, patients: pd.DataFrame | None = None,
               code=None) -> View:
    """The multivariable model's summary, warnings, table and forest (``fitted``: a :func:`fit_cox` table)."""
    attrs = fitted.attrs
    n_terms = len(fitted)
    events_per_term = attrs["events"] / n_terms
    parts: list = [Note(f"**{attrs['n']:,} patients, {attrs['events']:,} events, {n_terms} term(s)** — "
                        f"{events_per_term:,.1f} events per term. Likelihood-ratio test p = {fmt_p(attrs['lr_p'])} "
                        f"({attrs['lr_df']} df); score p = {fmt_p(attrs['score_p'])}; Wald p = "
                        f"{fmt_p(attrs['wald_p'])}.", kind="markdown")]
    if events_per_term < 10:
        parts.append(Note(f"Only {events_per_term:.1f} events per covariate term (fewer than 10): the hazard ratios "
                          "can be biased and their intervals unreliable. Use fewer covariates.", kind="warning",
                          icon=":material/warning:"))
    parts += [Note(escape_markdown(message), kind="warning", icon=":material/warning:")
              for message in attrs["warnings"] if "events per covariate" not in message]
    if attrs["n_dropped_missing"]:
        parts.append(Note(f"{attrs['n_dropped_missing']:,} patients with a missing covariate were left out "
                          "(complete cases)."))
    model = fitted.reset_index()
    model["label"] = [term_label(r.covariate, r.level, r.reference) for r in model.itertuples()]
    table = pd.DataFrame({
        "Term": model["label"], "In level (events)": _in_level(model), "HR (95% CI)": _hr_texts(model),
        "p (Wald)": model["p"].map(fmt_p), NOTE_COLUMN: model["note"],
    })
    title = f"Adjusted hazard ratios for {spec.short} (95% CI)"
    parts += [Table(table, "cox-multivariable",
                    caption=strata_text
                            + f"Adjusted hazard ratios, {TIES_LABELS[ties]} ties. Not estimable = no events in a level "
                            "or perfect separation (the maximum-likelihood HR is 0 or infinite). "
                            + reference_note(model)),
              Chart(_forest(model, spec.short), "cox-multivariable-forest", title=title)]
    return View("cox_multivariable", title, parts, patients=patients,
                n_text=f"{attrs['n']:,} patients, {attrs['events']:,} events, {n_terms} term(s)", code=code,
                result=fitted)


#: Largest patients x terms^4 for which the page fits a Firth-penalised model (a few seconds at most).
FIRTH_MAX_SIZE = 200_000
#: The same summed over the Firth fits of one page build (about 1.5 s each at FIRTH_MAX_SIZE with many events).
FIRTH_PAGE_SIZE = 3 * FIRTH_MAX_SIZE


class FirthBudget:
    """What is left of :data:`FIRTH_PAGE_SIZE` for the Firth fits of one page build (screening and model)."""

    def __init__(self):
        self.left = FIRTH_PAGE_SIZE


def _patient_firth_blocks(patients, data, terms: pd.DataFrame, spec, endpoint, separately: bool,
                          budget: FirthBudget) -> list[Block]:
    """:func:`firth_blocks` fitted on the patients' rows of ``data``, with the code that refits them."""
    T, E = spec.time, spec.event
    return firth_blocks(terms, spec, separately, fit=lambda group: firth_cox(data[[T, E, *group]], T, E, group),
                        size=lambda group: (len(data), "patients"), budget=budget, patients=patients,
                        code=lambda keys: snippets.cox_firth(keys, snippets.factor_references(data), separately,
                                                             endpoint=endpoint))


def monotone(terms: pd.DataFrame) -> pd.Series:
    """Terms not estimable because the likelihood is monotone (no events in a level, perfect separation: the
    HR is 0 or infinite), not because they are collinear or the model could not be fitted."""
    notes = terms["note"].fillna("").astype(str)
    return ~terms["estimable"].astype(bool) & notes.map(is_monotone_note).astype(bool)


def firth_blocks(terms: pd.DataFrame, spec, separately: bool, fit: Callable[[list[str]], pd.DataFrame],
                 size: Callable[[list[str]], tuple[int, str]], budget: FirthBudget,
                 patients: pd.DataFrame | None = None,
                 code: Callable[[list[str]], object] | None = None) -> list[Block]:
    """Firth-penalised estimates where the ordinary Cox model gives 0 or infinite HRs: one model per such
    characteristic (the screening, ``separately``) or the whole multivariable model again.

    ``fit(covariates)`` fits one model (:func:`analysis.firth.firth_cox` of the patients, or
    ``firth_cox_from_counts`` of their counts), ``size(covariates)`` says what it is fitted on (rows and
    what they are, e.g. ``(28, "patients")``), ``code(covariates)`` its snippet, if any; ``budget`` is the
    page's, shared by its calls.
    """
    flagged = monotone(terms)
    if not flagged.any():
        return []
    keys = list(dict.fromkeys(terms.loc[flagged, "covariate"])) if separately \
        else list(dict.fromkeys(terms["covariate"]))
    fits, failed = [], []
    for group in ([key] for key in keys) if separately else [keys]:
        n_terms = int(terms["covariate"].isin(group).sum())
        rows, what = size(group)
        cost = rows * n_terms ** 4  # profile intervals cost ~ n p^4 risk-set sums
        if cost > FIRTH_MAX_SIZE or cost > budget.left:
            why = (f"{rows:,} {what} and {n_terms} terms are more than the page fits on the fly"
                   if cost > FIRTH_MAX_SIZE else "the page has fitted as many Firth models as it fits on the fly")
            failed.append(f"{', '.join(COVARIATES[key].label for key in group)}: {why} (analysis.firth fits it "
                          "offline)")
            continue
        budget.left -= cost
        try:
            fits.append(fit(group))
        except (InsufficientDataError, ValueError) as error:
            failed.append(f"{', '.join(COVARIATES[key].label for key in group)}: {error}")
    notes: list[Block] = [Note(f"Firth-penalised model not fitted — {escape_markdown(text)}.", kind="warning")
                          for text in failed]
    notes += [Note(f"Firth-penalised model: {escape_markdown(warning)} — read its estimates with care.",
                   kind="warning") for fitted in fits for warning in fitted.attrs.get("warnings", [])
              if "converge" in warning or "could not be computed" in warning]
    if not fits:
        return notes
    firth = pd.concat(fits)
    ordinary = terms.set_index("term") if "term" in terms.columns else terms
    not_estimable = set(ordinary.index[flagged.to_numpy()])
    labels = [term_label(r.covariate, r.level, r.reference) for r in firth.itertuples()]
    shown = pd.DataFrame({
        "Term": labels,
        "Ordinary Cox": ["not estimable" if term in not_estimable else "estimable" for term in firth.index],
        "Firth-penalised HR (95% profile CI)": [fmt_ratio_ci(r.hr, r.hr_lower, r.hr_upper)
                                                for r in firth.itertuples()],
        "p (penalised LR)": firth["p"].map(fmt_p),
        "Patients": firth["n"], "Events": firth["events"],
        "Why not estimable (ordinary Cox)": [str(ordinary.at[term, "note"]).removeprefix("not estimable: ")
                                             if term in not_estimable else "" for term in firth.index],
    }).reset_index(drop=True)
    which = "each characteristic with a 0 or infinite HR, in its own model" if separately \
        else "the same covariates, one model"
    title = f"Firth-penalised hazard ratios for {spec.short} ({'screening' if separately else 'multivariable'})"
    caption = (f"Firth-penalised Cox regression ({which}): the partial likelihood plus half the log determinant "
               "of the information (Heinze & Schemper 2001, R `coxphf`), which keeps the HR finite when a level "
               "has no events or the events separate perfectly. Breslow ties; 95% CI and p from the profile "
               "penalised likelihood. With so little information the interval is wide: read it as 'the data "
               "cannot bound the HR on this side', not as a precise estimate.")
    view = View(f"cox_{'univariate' if separately else 'multivariable'}_firth", title,
                [Heading("Firth-penalised estimates for the terms that are not estimable"),
                 Table(shown, f"cox-{'univariate' if separately else 'multivariable'}-firth", caption=caption)],
                patients=patients,
                n_text=f"{int(firth['n'].max()):,} patients, {int(firth['events'].max()):,} events",
                code=None if code is None else code(keys), result=firth)
    return [*notes, view]
