"""Response page: best response by histology, ORR/DCR by any grouping, Fisher tests, the subgroup forest plot
and (an upload with an assessments file) the tumour measurements."""
from __future__ import annotations

import pandas as pd

import charts
from analysis.proportions import compare_proportions
from analysis.response import response_comparison, response_table, subgroup_rates
from analysis.stratified import subgroup_rates_stratified
from data import registry
from sarcoma_app.exports import snippets
from sarcoma_app.text import (
    CI_METHOD_LABELS, DENOMINATOR_LABELS, ENDPOINT_LABELS, GROUPING_LABELS, P_ADJUST_LABELS, escape_markdown,
    fmt_count, fmt_p, fmt_rate_ci, fmt_ratio_ci,
)
from sarcoma_app.views import borrowing, common, prepare
from sarcoma_app.views.blocks import Block, Chart, Choice, Controls, Heading, Note, Table, View
from sarcoma_app.viewstate.url_state import CI_METHODS, DENOMINATORS, ENDPOINTS, P_ADJUST_METHODS, MethodState

TITLE = "Response"
QUESTION = "How did tumours respond, and does the response rate differ between subgroups?"

#: The bar chart's counts as a table (the slide's table), in RECIST order.
RESPONSE_COLUMNS = ["CR", "PR", "SD", "PD", "NE"]


def choices(patients: pd.DataFrame, methods: MethodState) -> list[Choice]:
    """Grouping, denominator, CI method and forest plot endpoint (the row at the top of the page)."""
    if patients.empty:
        return []
    return [
        common.grouping_choice("response_by", "Group by", patients, methods.response_by,
                               help="Grouping of the ORR/DCR table and the Fisher test (groupings with two or more "
                                    "recorded values among the selected patients)."),
        common.selected("denominator", "Denominator", DENOMINATORS, methods.denominator, DENOMINATOR_LABELS.get,
                        help="All treated patients (not evaluable = non-responder) or evaluable only. Seed 000 "
                             "reports 12/24 evaluable; seed 002 uses all 28."),
        common.selected("ci", "Confidence interval", CI_METHODS, methods.ci, CI_METHOD_LABELS.get,
                        help="95% interval of each rate. Clopper–Pearson is exact (conservative)."),
        common.selected("endpoint", "Forest plot endpoint", ENDPOINTS, methods.endpoint, ENDPOINT_LABELS.get),
    ] + [choice for choice in [common.stratify_choice(patients, methods.stratify)] if choice is not None]


def p_adjust_choice(methods: MethodState) -> Choice:
    """The multiplicity adjustment of the subgroup tests (drawn above the forest plot)."""
    return common.selected("p_adjust", "Multiplicity adjustment", P_ADJUST_METHODS, methods.p_adjust,
                           P_ADJUST_LABELS.get,
                           help="Applied across all subgroup tests below (each level vs all other patients).")


def forest_subgroups(patients: pd.DataFrame) -> dict[str, str]:
    """Grouping key -> label of the forest plot's subgroup variables the data record (two or more values)."""
    groupings = registry.available_groupings(registry.recorded_counts(patients, registry.GROUPING_VARIABLES))
    return {key: registry.VARIABLES[registry.GROUPINGS[key].variable].label for key in groupings
            if key in registry.GROUPINGS and registry.GROUPINGS[key].forest}


def build(patients: pd.DataFrame, methods: MethodState, assessments: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks for the filtered ``patients`` and the resolved ``methods`` (see :func:`choices`).

    ``assessments``: the tumour measurements of these patients (an upload's optional file; empty otherwise).
    """
    if patients.empty:
        return [common.NO_PATIENTS]
    n_studies = patients["study_id"].nunique()
    blocks: list[Block] = studies_note(n_studies)
    blocks += best_response_blocks(patients)
    grouping, grouped, notes = common.grouped_or_all(
        patients, methods.response_by, "The table shows all patients together, without a test; choose a coarser "
                                       "grouping, or filter the patients first.")
    blocks += notes
    blocks += rates_blocks(patients, grouped, grouping, methods, n_studies)
    if grouping != "none":
        blocks += fisher_blocks(patients, grouped, grouping, methods.denominator)
    blocks += forest_blocks(patients, methods, n_studies)
    if grouping not in ("none", "best_response"):  # by best response, ORR and DCR are 0% or 100% by definition
        blocks += borrowing.section(patients, grouped["group"], GROUPING_LABELS[grouping], methods,
                                    key="response_borrowing", missing=registry.GROUPINGS[grouping].missing_label,
                                    grouping=grouping)
    if assessments is not None and len(assessments):
        blocks += measurement_blocks(patients, assessments)
    return blocks


def studies_note(n_studies: int) -> list[Block]:
    """Say that several studies' regimens are pooled in an 'All' row (nothing for one study)."""
    if n_studies < 2:
        return []
    return [Note(f"The selection holds {n_studies} studies with different regimens. Group by **study** "
                 "(or filter one study) for per-regimen rates; an 'All' row pools the regimens.",
                 kind="info", icon=":material/merge_type:")]


def best_response_blocks(patients: pd.DataFrame, count_col: str | None = None) -> list[Block]:
    counts = prepare.best_response_counts(patients, count_col=count_col)
    patients, code = _patient_level(patients, count_col, snippets.response_counts)
    table = (counts.pivot_table(index=["study", "histology"], columns="response", values="n", fill_value=0)
             .reindex(columns=RESPONSE_COLUMNS, fill_value=0).reset_index()
             .rename(columns={"study": "Study", "histology": "Histology"}))
    chart = Chart(charts.best_response_bars(counts), "best-response-by-histology",
                  title="Best response (RECIST 1.1) by histology",
                  caption="Patients per histology, coloured by best overall response (RECIST 1.1): CR complete, "
                          "PR partial response, SD stable disease, PD progressive disease, NE not evaluable. "
                          "One panel per study.")
    return [View("response_bars", "Best response (RECIST 1.1) by histology",
                 [Heading("Best response by histology"), chart], patients=patients,
                 code=code, slide_table=table, result=counts)]


def rates_blocks(patients, grouped, grouping, methods, n_studies, count_col=None) -> list[Block]:
    denominator, ci_method = methods.denominator, methods.ci
    table = response_table(grouped, group_col=None if grouping == "none" else "group", denominator=denominator,
                           method=ci_method, count_col=count_col)
    patients, code = _patient_level(patients, count_col, snippets.response_rates, grouping, denominator, ci_method)
    shown = rates_table(table, denominator, pooled=n_studies > 1)
    if grouping == "none":
        shown = shown.iloc[[-1]]
    parts = [Heading(f"ORR and DCR by {GROUPING_LABELS[grouping]}"),
             Table(shown, f"orr-dcr-by-{grouping}",
                   caption=f"95% {CI_METHOD_LABELS[ci_method]} intervals. ORR = CR + PR; DCR = CR + PR + SD; "
                           f"denominator = {DENOMINATOR_LABELS[denominator]}.")]
    blocks: list[Block] = [View("response_table", f"ORR and DCR by {GROUPING_LABELS[grouping]}", parts,
                                patients=patients, code=code, result=table)]
    if (table["denominator"] == 1).any():
        blocks.append(Note("A group with one patient gives a rate of 0% or 100% with a very wide interval."))
    return blocks


def rates_table(table: pd.DataFrame, denominator: str, pooled: bool) -> pd.DataFrame:
    """The ORR/DCR table as shown: counts, n/N and rate (95% CI) per group (``table``: ``response_table``)."""
    denominator_word = DENOMINATOR_LABELS[denominator].split(" patients")[0]
    return pd.DataFrame({
        "Group": table["group"].astype(str).replace({"All": "All selected patients" + (" (pooled)" if pooled else "")}),
        "Treated": table["n_treated"], "Evaluable": table["n_evaluable"],
        "CR": table["CR"], "PR": table["PR"], "SD": table["SD"], "PD": table["PD"], "NE": table["n_not_evaluable"],
        f"ORR n/N ({denominator_word})": [fmt_count(k, n) for k, n in zip(table["orr_count"], table["denominator"])],
        "ORR % (95% CI)": [fmt_rate_ci(e, lo, hi)
                           for e, lo, hi in zip(table["orr"], table["orr_lower"], table["orr_upper"])],
        f"DCR n/N ({denominator_word})": [fmt_count(k, n) for k, n in zip(table["dcr_count"], table["denominator"])],
        "DCR % (95% CI)": [fmt_rate_ci(e, lo, hi)
                           for e, lo, hi in zip(table["dcr"], table["dcr_lower"], table["dcr_upper"])],
        "Note": table["note"],
    })


def fisher_blocks(patients, grouped, grouping, denominator, count_col=None) -> list[Block]:
    blocks: list[Block] = [Heading("Do the rates differ between groups?")]
    results = [response_comparison(grouped, "group", endpoint=name, denominator=denominator, count_col=count_col)
               for name in ENDPOINTS]
    patients, code = _patient_level(patients, count_col, snippets.fisher_tests, grouping, denominator)
    if len(results[0].groups) < 2:
        blocks.append(Note(f"Only one {GROUPING_LABELS[grouping]} group has patients in the selection: there is "
                           "nothing to compare. Widen the filters or choose another grouping.", kind="info"))
        return blocks
    shown = pd.DataFrame([{
        "Endpoint": ENDPOINT_LABELS[r.endpoint],
        "Test": r.test or "not done",
        "p": fmt_p(r.p_value),
        "Odds ratio (95% CI)": fmt_ratio_ci(r.odds_ratio, r.odds_ratio_lower, r.odds_ratio_upper)
        if len(r.groups) == 2 else "–",
        "Groups": len(r.groups),
        "Responders / denominator": ", ".join(f"{g}: {k}/{n}" for g, k, n in zip(r.groups, r.events, r.denominators)),
        "Note": r.note,
    } for r in results])
    table = Table(shown, f"fisher-by-{grouping}",
                  caption="Two-sided Fisher's exact test (R `fisher.test`); odds ratio = conditional MLE, first group "
                          "vs second. Small groups give low power: a large p is not evidence of no difference.")
    blocks.append(View("response_fisher", f"Do ORR and DCR differ by {GROUPING_LABELS[grouping]}?", [table],
                       patients=patients, code=code,
                       result=dict(zip(ENDPOINTS, results))))
    if len(results[0].groups) == 2:
        blocks.append(_difference_view(patients, results, grouping, denominator, code is not None))
    return blocks


def fmt_difference_ci(difference: float, lower: float, upper: float) -> str:
    """'+20.0 pp (5.2 to 33.4)': a difference of proportions in percentage points."""
    return f"{100 * difference:+.1f} pp ({100 * lower:.1f} to {100 * upper:.1f})"


def _odds_ratio_text(estimate: float, lower: float, upper: float) -> str:
    """'3.1 (0.9–∞)': the conditional-MLE odds ratio, whose upper limit is infinite when a cell is empty."""
    if pd.isna(estimate) or pd.isna(lower) or pd.isna(upper):
        return "not estimable"
    low, est, high = ("∞" if value == float("inf") else f"{value:.2f}" for value in (lower, estimate, upper))
    return f"{est} ({low}–{high})"


def _difference_view(patients, results, grouping, denominator, with_code=True) -> Block:
    """Two groups: difference in ORR and DCR (first group minus second) with Newcombe's interval, Fisher p and
    the conditional-MLE odds ratio."""
    first, second = results[0].groups
    rows, compared = [], {}
    for r in results:
        (k1, k2), (n1, n2) = r.events, r.denominators
        label = ENDPOINT_LABELS[r.endpoint]
        if n1 == 0 or n2 == 0:
            rows.append({"Endpoint": label, str(first): fmt_count(k1, n1), str(second): fmt_count(k2, n2),
                         "Difference (95% CI)": "not estimable", "Fisher p": "–", "Odds ratio (95% CI)": "–",
                         "Note": "a group has no patient in the denominator"})
            continue
        result = compare_proportions(k1, n1, k2, n2)
        compared[r.endpoint] = result
        rows.append({"Endpoint": label, str(first): f"{fmt_count(k1, n1)} ({100 * result.p1:.1f}%)",
                     str(second): f"{fmt_count(k2, n2)} ({100 * result.p2:.1f}%)",
                     "Difference (95% CI)": fmt_difference_ci(result.difference, result.lower, result.upper),
                     "Fisher p": fmt_p(result.fisher_p),
                     "Odds ratio (95% CI)": _odds_ratio_text(result.odds_ratio, result.odds_ratio_lower,
                                                             result.odds_ratio_upper),
                     "Note": "" if pd.notna(result.odds_ratio) else "odds ratio not estimable (no responder or "
                                                                      "no non-responder in both groups)"})
    table = Table(pd.DataFrame(rows), f"difference-by-{grouping}",
                  caption=f"Difference = {escape_markdown(first)} minus {escape_markdown(second)}, in percentage "
                          "points, with the Newcombe hybrid score 95% interval (Wilson limits combined, no continuity "
                          "correction; Newcombe 1998, method 10). Two-sided Fisher's exact p; odds ratio = "
                          "conditional maximum-likelihood estimate with its exact 95% interval (R `fisher.test`). "
                          f"Denominator = {DENOMINATOR_LABELS[denominator]}.")
    return View("response_difference", "Difference in ORR and DCR", [Heading("Difference in ORR and DCR"), table],
                patients=patients, code=snippets.proportion_difference(grouping, denominator, {
                    e: (r.k1, r.n1, r.k2, r.n2) for e, r in compared.items()}) if with_code else None,
                result=compared)


def forest_blocks(patients, methods, n_studies, count_col=None) -> list[Block]:
    endpoint, denominator, ci_method = methods.endpoint, methods.denominator, methods.ci
    p_adjust = p_adjust_choice(methods)
    blocks: list[Block] = [Heading(f"{ENDPOINT_LABELS[endpoint].split(' (')[0]} by subgroup"), Controls([p_adjust])]
    p_adjust = p_adjust.value
    subgroup_columns = forest_subgroups(patients)
    labelled = patients.assign(**{f"sg_{key}": prepare.group_labels(patients, key) for key in subgroup_columns})
    crowded = {key: prepare.n_levels(labelled[f"sg_{key}"]) for key in subgroup_columns}
    crowded = {key: n for key, n in crowded.items() if n > prepare.MAX_COMPARED_LEVELS}
    if crowded:  # each level is tested against the rest: too many levels cost a test (and a scan) each
        blocks.append(Note(f"Left out of the forest plot (more than {prepare.MAX_COMPARED_LEVELS} levels): "
                           + ", ".join(f"{subgroup_columns[key]} ({n:,})" for key, n in crowded.items()) + "."))
        subgroup_columns = {key: label for key, label in subgroup_columns.items() if key not in crowded}
    stratified = common.stratified(patients, methods.stratify)
    # a not-reported level is shown but not tested, nor counted in the adjustment (R na.omit)
    not_reported = snippets.missing_labels(subgroup_columns)
    if stratified:
        rates = subgroup_rates_stratified(labelled, [f"sg_{key}" for key in subgroup_columns], "study_id",
                                          endpoint=endpoint, denominator=denominator, method=ci_method,
                                          p_adjust_method=p_adjust, missing_levels=not_reported,
                                          count_col=count_col)
    else:
        rates = subgroup_rates(labelled, [f"sg_{key}" for key in subgroup_columns], endpoint=endpoint,
                               denominator=denominator, method=ci_method, p_adjust_method=p_adjust,
                               missing_levels=not_reported, count_col=count_col)
    rates = rates[rates["n"] > 0].copy()
    rates["subgroup"] = rates["subgroup"].str.removeprefix("sg_").map(subgroup_columns)
    rates = rates[rates.groupby("subgroup")["level"].transform("size") > 1]  # a single level compares nothing
    if rates.empty:
        blocks.append(Note("No subgroup variable has two or more levels with patients in the current selection.",
                           kind="info"))
        return blocks
    rates["row_label"] = [level if subgroup.lower().split()[0] in str(level).lower() else f"{subgroup}: {level}"
                          for subgroup, level in zip(rates["subgroup"], rates["level"].astype(str))]
    rates["estimate_text"] = [f"{fmt_rate_ci(r, lo, hi)}  {k}/{n}" for r, lo, hi, k, n in
                              zip(rates["rate"], rates["lower"], rates["upper"], rates["k"], rates["n"])]
    overall = response_table(patients, denominator=denominator, method=ci_method,
                             count_col=count_col).iloc[-1][endpoint]
    endpoint_short = endpoint.upper()
    chart = Chart(charts.rate_forest(rates, overall=overall, endpoint_label=endpoint_short), f"{endpoint}-forest",
                  title=f"{endpoint_short} by subgroup (95% CI)",
                  caption=f"Squares sized by the denominator; dashed line = {endpoint_short} of all selected patients "
                          f"({overall:.1%})." + (" Pools studies with different regimens." if n_studies > 1 else ""))
    shown = pd.DataFrame({
        "Subgroup": rates["subgroup"], "Level": rates["level"],
        "n/N": [fmt_count(k, n) for k, n in zip(rates["k"], rates["n"])],
        f"{endpoint_short} % (95% CI)": [fmt_rate_ci(r, lo, hi)
                                         for r, lo, hi in zip(rates["rate"], rates["lower"], rates["upper"])],
        "p (level vs rest)": rates["p_value"].map(fmt_p),
        f"p adjusted ({p_adjust})": rates["p_adjusted"].map(fmt_p),
        "Note": rates["note"],
    })
    n_tests = int(rates["p_value"].notna().sum())
    if stratified:
        shown.insert(5, "Common OR across studies (95% CI)",
                     [fmt_ratio_ci(o, lo, hi) if done else "–" for o, lo, hi, done in
                      zip(rates["odds_ratio"], rates["or_lower"], rates["or_upper"], rates["stratified"])])
        test_text = (f"{common.stratified_text(patients)}exact conditional test of a common odds ratio of each level "
                     "against all other selected patients within the studies (R `mantelhaen.test(exact = TRUE)`), "
                     "with the conditional MLE of the common odds ratio (level vs rest) and its exact 95% CI; a level "
                     "in one study only is compared within that study, and Study itself keeps Fisher's test")
    else:
        test_text = "Fisher's exact test of each level against all other selected patients"
    table = Table(shown, f"{endpoint}-by-subgroup",
                  caption=f"{test_text}; {n_tests} tests, "
                          f"adjusted with {P_ADJUST_LABELS[p_adjust]}. Exploratory: subgroups are small.")
    patients, code = _patient_level(patients, count_col, snippets.subgroup_forest, endpoint, denominator, ci_method,
                                    p_adjust, subgroups=list(subgroup_columns), stratify=stratified)
    blocks.append(View("response_forest", f"{endpoint_short} by subgroup (95% CI)", [chart, table],
                       patients=patients, result=rates, code=code))
    return blocks


def _patient_level(patients, count_col, snippet, *args, **kwargs):
    """The view's patients and code: none on counts (the code reads the patients' CSV)."""
    if count_col is not None:
        return None, None
    return patients, snippet(*args, **kwargs)


def measurement_blocks(patients: pd.DataFrame, assessments: pd.DataFrame) -> list[Block]:
    """The waterfall and spider plots of ``assessments`` (tumour measurements) of ``patients``."""
    best, lines = prepare.assessment_frames(assessments, patients)
    n_measured = best.attrs.get("n", len(best))
    n_lines = lines["patient"].nunique()
    waterfall = Chart(charts.waterfall_plot(best), "waterfall", title="Best change of target lesions (waterfall)",
                      caption=f"{n_measured:,} selected patients with measurements"
                              + (f"; {len(best)} bars drawn, evenly spaced over the ranking" if len(best) < n_measured
                                 else "") + ". Bar = the lowest % change of the sum of target-lesion diameters from "
                              "baseline; colour = recorded best overall response. Dashed lines: −30% (partial "
                              "response) and +20% (progression), RECIST 1.1.")
    spider = Chart(charts.spider_plot(lines), "spider", title="Change of target lesions over time (spider plot)",
                   caption="One line per patient, from baseline (0%)"
                           + (f"; {n_lines} of {n_measured:,} patients drawn, evenly spaced over the ranking of the "
                              "best change" if n_lines < n_measured else "") + ".")
    return [View("response_measurements", "Tumour measurements", [Heading("Tumour measurements"), waterfall, spider],
                 patients=patients, tools=False, result=best)]
