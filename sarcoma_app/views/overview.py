"""Overview page: the selected cohorts, each with its headline response and PFS, never pooled across studies."""
from __future__ import annotations

import pandas as pd

from analysis.follow_up import median_follow_up
from analysis.response import DENOMINATORS, response_table
from analysis.survival import kaplan_meier
from sarcoma_app.exports import snippets
from sarcoma_app.text import (
    CI_METHOD_LABELS, CONF_TYPE_LABELS, DENOMINATOR_LABELS, GLOSSARY, escape_markdown, fmt_count, fmt_median_ci,
    fmt_percent, fmt_rate_ci, fmt_time, fmt_value_ci, study_label,
)
from sarcoma_app.views import common, prepare, published
from sarcoma_app.views.survival import follow_up_text
from sarcoma_app.views.blocks import Block, Card, Cards, Choice, Expander, Heading, Metric, Note, Table, View
from sarcoma_app.viewstate.url_state import MethodState

TITLE = "Overview"
QUESTION = "Which cohorts are selected, and how did they respond and progress?"
#: The endpoint of the headline medians.
ENDPOINT = "pfs"
COHORT_COLUMNS = {
    "regimen": "Regimen", "dose_schedule": "Dose and schedule", "design": "Design",
    "treatment_period": "Treatment period", "centre": "Centre", "response_criteria": "Response criteria",
    "n_treated": "Treated", "n_evaluable": "Evaluable", "seed_file": "Source file",
}


def choices(patients: pd.DataFrame, methods: MethodState) -> list[Choice]:
    """None: the methods are chosen on the Response and Survival pages."""
    return []


def published_denominators(reconciliation: pd.DataFrame | None) -> dict[str, str]:
    """Each published study's own denominator of its response rates (``"all"`` or ``"evaluable"``), read
    from the population of its published overall ORR/DCR; empty without published tables."""
    if reconciliation is None or "population" not in reconciliation:
        return {}
    by_label = {label: key for key, label in DENOMINATORS.items()}
    rows = reconciliation[reconciliation["endpoint"].isin(("orr", "dcr"))
                          & reconciliation["subgroup"].fillna("All").eq("All")
                          & reconciliation["population"].isin(list(by_label))]
    return {study_id: by_label[population] for study_id, population
            in rows.drop_duplicates("study_id")[["study_id", "population"]].itertuples(index=False)}


def study_summary(cohort: pd.DataFrame, methods: MethodState, denominator: str | None = None) -> dict:
    """One study's response rates (the overall row of :func:`response_table`) with ``denominator`` (default
    the chosen one), the rates with the other denominator when its count differs (else None), its KM fit of
    PFS (None when no patient records PFS) and why patients are left out of it."""
    denominator = denominator or methods.denominator
    rates = response_table(cohort, denominator=denominator, method=methods.ci).iloc[-1]
    other = response_table(cohort, denominator=next(d for d in DENOMINATORS if d != denominator),
                           method=methods.ci).iloc[-1]
    analysable, excluded = prepare.endpoint_data(cohort, ENDPOINT)
    km = kaplan_meier(analysable["time"], analysable["event"], conf_type=methods.conf_type) if len(analysable) else None
    follow = median_follow_up(analysable["time"], analysable["event"].astype(int)) if len(analysable) else None
    reasons = excluded["reason"].value_counts()
    return {"rates": rates, "other_rates": other if other["denominator"] != rates["denominator"] else None,
            "km": km, "reason": str(reasons.index[0]) if len(reasons) else "", "follow_up": follow,
            "denominator": denominator}


def _known(value: object) -> str:
    return "–" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _count(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def build(patients: pd.DataFrame, methods: MethodState, studies: pd.DataFrame,
          reconciliation: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks for the filtered ``patients``.

    Parameters
    ----------
    studies : DataFrame
        The ``studies`` table of the data source (one row per ``study_id``).
    reconciliation : DataFrame, optional
        :func:`analysis.reconcile.reconcile` of the published cohorts; None for a data source without
        published tables.
    """
    if patients.empty:
        return [common.NO_PATIENTS]
    denominators = study_denominators(patients["study_id"].unique(), methods, reconciliation)
    cohorts = dict(tuple(patients.groupby("study_id", sort=True)))
    summaries = {study_id: study_summary(cohort, methods, denominators[study_id])
                 for study_id, cohort in cohorts.items()}
    return summary_blocks({study_id: len(cohort) for study_id, cohort in cohorts.items()}, summaries, methods,
                          studies, reconciliation, patients)


def study_denominators(study_ids, methods: MethodState, reconciliation: pd.DataFrame | None) -> dict[str, str]:
    """Each selected study's denominator (sorted by study): the paper's own, else the chosen one."""
    own = published_denominators(reconciliation)
    return {study_id: own.get(study_id, methods.denominator) for study_id in sorted(study_ids)}


def summary_blocks(sizes: dict[str, int], summaries: dict[str, dict], methods: MethodState, studies: pd.DataFrame,
                   reconciliation: pd.DataFrame | None, patients: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks from each study's selected patients (``sizes``) and :func:`study_summary`
    (``patients``: the selected patients, for the code; None when counted by the database)."""
    bundled = reconciliation is not None
    studies = studies.set_index("study_id") if "study_id" in studies else studies
    ci_text = CI_METHOD_LABELS[methods.ci]
    own = published_denominators(reconciliation)
    denominators = {study_id: summary["denominator"] for study_id, summary in summaries.items()}
    blocks: list[Block] = [Note(
        f"Each study is summarised on its own: the regimens differ, so nothing here is pooled across studies. "
        f"{_denominator_text(denominators, own)} Rates have 95% {ci_text} CIs; "
        f"PFS medians are Kaplan–Meier (R rule) with {CONF_TYPE_LABELS[methods.conf_type]} CIs. "
        f"Change the CI methods on the Response and Survival pages.")]
    info = {study_id: studies.loc[study_id] if study_id in studies.index else pd.Series(dtype=object)
            for study_id in summaries}
    blocks.append(Cards([_card(study_id, sizes[study_id], info[study_id], summaries[study_id])
                         for study_id in summaries]))
    blocks += _follow_up_notes(summaries)
    headline = pd.DataFrame([_headline_row(study_id, sizes[study_id], info[study_id], summaries[study_id])
                             for study_id in summaries]).set_index("Study").T.astype(str).reset_index(names="Per study")
    caption = f"CI: {ci_text}, 95%. Median PFS: Kaplan–Meier, R `survival` median rule; NR = not reached. "
    if bundled:
        caption += _per_patient_pfs_text(reconciliation)
    blocks.append(View("overview_headline", "Headline numbers per study",
                       [Heading("Headline numbers"), Table(headline, "overview-headline", caption=caption)],
                       patients=patients, code=None if patients is None else snippets.per_study(
                           methods.denominator, methods.ci, methods.conf_type, published=own),
                       methods_text=f"95% CI of rates {ci_text}; denominator: " + "; ".join(
                           f"{study_label(s)} {DENOMINATOR_LABELS[d]}" for s, d in denominators.items())
                       + f"; median PFS Kaplan–Meier, CI {CONF_TYPE_LABELS[methods.conf_type]}, R median rule",
                       result=summaries))
    blocks.append(Heading("Cohorts"))
    blocks.append(Table(_cohort_table(studies), "cohorts",
                        caption="As published; empty cells are not reported." if bundled
                        else "As recorded for this data source; empty cells are not recorded."))
    if bundled:
        blocks.append(Expander("Do our numbers reproduce the papers? (whole published cohorts, filters not applied)",
                               [_reconciliation_table(reconciliation)]))
    else:
        blocks.append(common.not_available("Published results and their comparison with our recomputation"))
    return blocks


def _denominator_text(denominators: dict[str, str], own: dict[str, str]) -> str:
    """Which denominator each study's rates use, and why (the paper's own, or the chosen one)."""
    if not own:
        return (f"Rates use {DENOMINATOR_LABELS[next(iter(denominators.values()))]} as denominator (change it "
                f"on the Response page); where the other denominator gives a different count, both are shown.")
    parts = [f"{escape_markdown(study_label(s))}: {DENOMINATOR_LABELS[d]}"
             + (" (as the paper reports)" if s in own else " (the chosen denominator)")
             for s, d in denominators.items()]
    return ("Rates use each study's own published denominator, so they can be set beside the paper — "
            + "; ".join(parts) + ". Where the other denominator gives a different count, both are shown.")


def rate_words(rates: pd.Series, name: str) -> str:
    """'12/24 evaluable = 50.0%'."""
    return f"{fmt_count(rates[f'{name}_count'], rates['denominator'])} {rates['denominator_label']} = " \
           f"{fmt_percent(rates[name])}"


def _card(study_id, n_selected: int, info: pd.Series, summary: dict) -> Card:
    rates, km, other = summary["rates"], summary["km"], summary["other_rates"]
    metrics = [Metric("Patients", f"{n_selected:,}",
                      f"of {_count(info.get('n_treated'))} treated  \n{int(rates['n_evaluable']):,} evaluable")]
    if rates["denominator"] > 0:
        for name, label in (("orr", "ORR"), ("dcr", "DCR")):
            metrics.append(Metric(label, fmt_percent(rates[name]), help=GLOSSARY[label],
                                  caption=f"{fmt_count(rates[f'{name}_count'], rates['denominator'])} "
                                          f"{rates['denominator_label']}  \nCI {100 * rates[f'{name}_lower']:.1f}–"
                                          f"{fmt_percent(rates[f'{name}_upper'])}"
                                          + (f"  \n{rate_words(other, name)}" if other is not None else "")))
    else:
        metrics += [Metric("ORR", "–", escape_markdown(rates["note"])), Metric("DCR", "–")]
    if km is not None:
        metrics.append(Metric("Median PFS", fmt_time(km.median),
                              help="Kaplan–Meier median progression-free survival in months; NR = not reached.",
                              caption=f"months · CI {fmt_time(km.median_ci[0])}–{fmt_time(km.median_ci[1])}  \n"
                                      f"n = {km.n:,}, {km.n_events:,} events"))
    else:
        metrics.append(Metric("Median PFS", "–", "not published  \nper patient"))
    return Card(escape_markdown(study_label(study_id)), metrics, caption=escape_markdown(_known(info.get("regimen"))))


def _follow_up_notes(summaries: dict) -> list[Block]:
    """One line per study with per-patient PFS: its median follow-up by reverse Kaplan–Meier."""
    lines = [f"- **{escape_markdown(study_label(study_id))}** — {follow_up_text(summary['follow_up'])}"
             for study_id, summary in summaries.items() if summary["follow_up"] is not None]
    if not lines:
        return []
    return [Note("Follow-up of PFS, per study (reverse Kaplan–Meier: censoring counted as the event, R "
                 "`survfit(Surv(time, 1 - event) ~ 1)`):\n\n" + "\n".join(lines), kind="markdown")]


def _headline_row(study_id, n_selected: int, info: pd.Series, summary: dict) -> dict:
    rates, km, other = summary["rates"], summary["km"], summary["other_rates"]
    row = {
        "Study": study_label(study_id),
        "Regimen": _known(info.get("regimen")),
        "Patients selected": f"{n_selected:,}",
        "Treated in study": _count(info.get("n_treated")),
        "Evaluable (selected)": f"{int(rates['n_evaluable']):,}",
        "Denominator": f"{int(rates['denominator']):,} {rates['denominator_label']}",
        "ORR n/N": fmt_count(rates["orr_count"], rates["denominator"]),
        "ORR % (95% CI)": fmt_rate_ci(rates["orr"], rates["orr_lower"], rates["orr_upper"]),
        "ORR, both denominators": _both(rates, other, "orr"),
        "DCR n/N": fmt_count(rates["dcr_count"], rates["denominator"]),
        "DCR % (95% CI)": fmt_rate_ci(rates["dcr"], rates["dcr_lower"], rates["dcr_upper"]),
        "DCR, both denominators": _both(rates, other, "dcr"),
        "PFS n (events)": f"{km.n:,} ({km.n_events:,})" if km is not None else "–",
        "Median PFS, months (95% CI)": fmt_median_ci(km.median, *km.median_ci) if km is not None else summary["reason"],
        "Note": "–" if km is not None else "PFS not published per patient for this study",
    }
    return row


def _both(rates: pd.Series, other: pd.Series | None, name: str) -> str:
    """'12/24 evaluable = 50.0%; 12/28 all treated = 42.9%' (one part when the denominators agree)."""
    return "; ".join(rate_words(r, name) for r in (rates, other) if r is not None and r["denominator"] > 0) or "–"


def _per_patient_pfs_text(reconciliation: pd.DataFrame) -> str:
    """Which published studies give PFS per patient (their median PFS is recomputed from the patients)."""
    recomputed = reconciliation[(reconciliation["endpoint"] == "median_pfs")
                                & reconciliation["recomputed_estimate"].notna()]
    names = [escape_markdown(study_label(s)) for s in dict.fromkeys(recomputed["study_id"])]
    if not names:
        return "No published study gives PFS per patient."
    return f"Only {' and '.join(names)} {'publishes' if len(names) == 1 else 'publish'} per-patient PFS."


def _cohort_table(studies: pd.DataFrame) -> pd.DataFrame:
    """One column per study, one row per characteristic (long regimen and dose texts stay readable)."""
    table = studies.reindex(columns=list(COHORT_COLUMNS)).rename(columns=COHORT_COLUMNS)
    table.index = [study_label(s) for s in table.index]
    shown = table.T.map(lambda v: "–" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    return shown.reset_index(names="Per study")


def _reconciliation_table(comparison: pd.DataFrame) -> Table:
    shown = pd.DataFrame({
        "Study": comparison["study_id"].map(study_label),
        "Published (verbatim)": comparison["printed"],
        "Recomputed": [fmt_value_ci(r.recomputed_estimate, r.recomputed_ci_lower, r.recomputed_ci_upper, r.unit)
                       for r in comparison.itertuples()],
        "n": comparison["n"],
        "Status": comparison["status"].map(published.status_label),
        "Assumption": comparison["assumption"],
        "Explanation": comparison["explanation"],
        "Method": comparison["method"],
        "Source": comparison["source"],
    })
    return Table(shown, "published-vs-recomputed",
                 caption="Reproduced = equal to the last printed digit; under an assumption = only under the "
                         "convention, model or reading named; not computable = the per-patient data needed are "
                         "not published. Details: Published vs recomputed.")
