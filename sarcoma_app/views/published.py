"""Published vs recomputed: display shaping of :func:`analysis.reconcile.reconcile` (pure, no streamlit).

The status of each published number is shown with an icon of its own shape,
a word and a colour-blind-safe tint (Okabe-Ito), never colour alone. Each
number is linked to its source (seed file + location) and to the recorded
conflicts (``source_conflicts``) that concern it, matched by study and by
topic keywords per endpoint (:data:`CONFLICT_TOPICS`).
"""
from __future__ import annotations

import math
import re

import pandas as pd

from analysis.reconcile import (
    DIFFERS, NOT_COMPUTABLE, REPRODUCED, REPRODUCED_UNDER_ASSUMPTION, STATUSES, assumption_sensitivity,
)
from sarcoma_app.exports import snippets
from sarcoma_app.text import escape_markdown, fmt_p, fmt_value_ci, study_label
from sarcoma_app.views import common
from sarcoma_app.views.blocks import (
    Block, Columns, Expander, Heading, Metric, Metrics, Note, PageLink, Pick, Table, View,
)

TITLE = "Published vs recomputed"
QUESTION = "Which published numbers does each paper's own patient table support?"
#: Keys of the page's own controls: the status shown and the number in detail.
STATUS_KEY, DETAIL_KEY = "published_status_filter", "published_detail"
UNAVAILABLE = common.not_available("Published numbers and their recomputation from the patients")

STATUS_ORDER = STATUSES
#: status -> (icon, word shown, background tint, text colour). Tints of Okabe-Ito blue, orange, vermillion, grey.
STATUS_STYLE = {
    REPRODUCED: ("✔", "reproduced", "#D4E6F4", "#0B3D66"),
    REPRODUCED_UNDER_ASSUMPTION: ("△", "reproduced under an assumption", "#FBEBC7", "#5C3D00"),
    DIFFERS: ("✖", "differs", "#F9D9C4", "#7A2E00"),
    NOT_COMPUTABLE: ("○", "not computable", "#E6E6E6", "#333333"),
}
#: Short words for the headline counts.
STATUS_COUNT_WORDS = {REPRODUCED: "reproduced", REPRODUCED_UNDER_ASSUMPTION: "under an assumption",
                      DIFFERS: "differ", NOT_COMPUTABLE: "not computable"}
ENDPOINT_NAMES = {"orr": "ORR", "dcr": "DCR", "median_pfs": "Median PFS", "pfs_rate": "PFS rate",
                  "hazard_ratio": "Hazard ratio"}
COUNT_NAMES = {"count_cr": "Patients with CR", "count_pr": "Patients with PR", "count_sd": "Patients with SD",
               "count_pd": "Patients with PD", "count_evaluable": "Patients evaluable for response",
               "count_pazopanib": "Patients on pazopanib", "count_grade_3_4_patients": "Patients with a grade 3–4 AE"}

#: endpoint -> alternatives of topic keywords (all words of one alternative must occur in the conflict's topic).
CONFLICT_TOPICS: dict[str, tuple[tuple[str, ...], ...]] = {
    "orr": (("best response",),),
    "dcr": (("best response",), ("sd", "pd")),
    "count_cr": (("best response",),),
    "count_pr": (("best response",),),
    "count_sd": (("best response",), ("sd", "pd")),
    "count_pd": (("best response",), ("sd", "pd")),
    "count_evaluable": (("evaluable",),),
    "count_pazopanib": (("pazopanib",),),
    "count_grade_3_4_patients": (("grade 3-4",),),
    "median_pfs": (("pfs",),),
    "pfs_rate": (("pfs",),),
}


def status_label(status: str) -> str:
    """'✔ reproduced', '△ reproduced under an assumption', '✖ differs', '○ not computable'."""
    icon, word, _, _ = STATUS_STYLE.get(status, ("?", str(status), "", ""))
    return f"{icon} {word}"


def status_counts(comparison: pd.DataFrame) -> dict[str, int]:
    """Number of published results per status (every status present, 0 if none)."""
    counts = comparison["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in STATUS_ORDER}


def metric_label(status: str) -> str:
    """Short label of a status count: '✔ reproduced', '△ under an assumption', '✖ differ', '○ not computable'."""
    return f"{STATUS_STYLE[status][0]} {STATUS_COUNT_WORDS[status]}"


def counts_text(counts: dict[str, int]) -> str:
    """'11 reproduced, 3 under an assumption, 0 differ, 1 not computable'."""
    return ", ".join(f"{counts[status]} {STATUS_COUNT_WORDS[status]}" for status in STATUS_ORDER)


def headline(comparison: pd.DataFrame) -> str:
    """'Of M published numbers: N reproduced, K under an assumption, J differ, L not computable'."""
    return f"Of {len(comparison)} published numbers: {counts_text(status_counts(comparison))}"


def split_source(source: object) -> tuple[str, str]:
    """('002_….txt', 'Table 3; Abstract') from '002_….txt, Table 3; Abstract'."""
    text = "" if source is None or (isinstance(source, float) and math.isnan(source)) else str(source)
    match = re.match(r"^\s*([^,;\s]+\.txt)\s*[,;]?\s*(.*)$", text)
    if match:
        return match.group(1), match.group(2).strip()
    return "", text.strip()


def _normalise(text: object) -> str:
    return re.sub(r"\s+", " ", str(text).lower().replace("–", "-").replace("—", "-"))


def _topic_has(topic: str, keyword: str) -> bool:
    """Whole-word (or whole-phrase) match of ``keyword`` in ``topic``."""
    return re.search(r"(?<![a-z0-9])" + re.escape(keyword) + r"(?![a-z0-9])", topic) is not None


def topic_rules(result: pd.Series | dict) -> tuple[tuple[str, ...], ...]:
    """Keyword alternatives for one published result (hazard ratios: 'hazard ratio' + the compared level)."""
    endpoint = str(result.get("endpoint", ""))
    if endpoint == "hazard_ratio":
        level = _normalise(result.get("group_level", "") or "")
        return (("hazard ratio", level),) if level else (("hazard ratio",),)
    return CONFLICT_TOPICS.get(endpoint, ())


def related_conflicts(result: pd.Series | dict, conflicts: pd.DataFrame) -> list[str]:
    """IDs of the recorded conflicts that concern one published result.

    The result's own ``conflict_ids`` ('C13; C18'), plus the conflicts of the same
    study where every keyword of one of the result's :func:`topic_rules` occurs in
    the conflict's topic (case-insensitive, dashes normalised).
    """
    explicit = result.get("conflict_ids")
    ids = [i.strip() for i in explicit.split(";") if i.strip()] if isinstance(explicit, str) else []
    rules = topic_rules(result)
    if not rules or conflicts.empty:
        return ids
    for row in conflicts.itertuples():
        if row.study_id != result.get("study_id"):
            continue
        topic = _normalise(row.topic)
        if any(all(_topic_has(topic, keyword) for keyword in rule) for rule in rules) and row.conflict_id not in ids:
            ids.append(str(row.conflict_id))
    return sorted(ids)


def what_label(row) -> str:
    """Short name of a published result: 'ORR (all treated)', 'PFS rate at 4 months', 'HR: Head vs …'."""
    endpoint = str(row["endpoint"])
    if endpoint == "hazard_ratio":
        return f"HR: {row['comparison']}" if isinstance(row.get("comparison"), str) else "Hazard ratio"
    if endpoint == "pfs_rate":
        return f"PFS rate at {float(row['landmark_months']):g} months"
    if endpoint.startswith("count_"):
        return COUNT_NAMES.get(endpoint, "Patients: " + endpoint.removeprefix("count_").replace("_", " "))
    name = ENDPOINT_NAMES.get(endpoint, endpoint)
    return f"{name} ({row['population']})" if isinstance(row.get("population"), str) else name


def recomputed_text(row) -> str:
    """The recomputed value with CI (and p for hazard ratios), or '–' when not computable."""
    if row["status"] == NOT_COMPUTABLE and (row["recomputed_estimate"] is None or pd.isna(row["recomputed_estimate"])):
        return "–"
    text = fmt_value_ci(row["recomputed_estimate"], row["recomputed_ci_lower"], row["recomputed_ci_upper"], row["unit"])
    if pd.notna(row.get("recomputed_p_value")):
        text += f", p = {fmt_p(row['recomputed_p_value'])}"
    return text


ENDPOINT_ORDER = ("orr", "dcr", "median_pfs", "pfs_rate", "hazard_ratio")


def _display_order(row: dict) -> tuple:
    """Study, then ORR, DCR, median PFS, landmark rates, hazard ratios, counts."""
    endpoint = str(row.get("endpoint"))
    rank = ENDPOINT_ORDER.index(endpoint) if endpoint in ENDPOINT_ORDER else len(ENDPOINT_ORDER)
    count_rank = list(COUNT_NAMES).index(endpoint) if endpoint in COUNT_NAMES else len(COUNT_NAMES)
    return (str(row.get("study_id")), rank, count_rank, str(row.get("printed")) if endpoint == "pfs_rate" else "",
            str(row.get("result_id")))


def comparison_table(comparison: pd.DataFrame, published: pd.DataFrame, conflicts: pd.DataFrame) -> pd.DataFrame:
    """One display row per published number (per study: ORR, DCR, median PFS, landmark rates, HRs, counts).

    Parameters
    ----------
    comparison : DataFrame
        Output of :func:`analysis.reconcile.reconcile`.
    published : DataFrame
        ``published_results`` (for the fields reconcile does not carry: landmark, group level).
    conflicts : DataFrame
        ``source_conflicts``.
    """
    extra = published.set_index("result_id")[["landmark_months", "group_level", "conflict_ids"]]
    rows = []
    for row in sorted(comparison.to_dict("records"), key=_display_order):
        row.update({key: extra.at[row["result_id"], key] for key in extra.columns} if row["result_id"] in extra.index
                   else {})
        seed, location = split_source(row["source"])
        n = row.get("n")
        rows.append({
            "Status": status_label(row["status"]),
            "Study": study_label(row["study_id"]),
            "What": what_label(row),
            "Published (verbatim)": row["printed"],
            "Recomputed from patients": recomputed_text(row),
            "Assumption": row.get("assumption") or "–",
            "n": "–" if n is None or pd.isna(n) else f"{int(n)}",
            "Conflicts": ", ".join(related_conflicts(row, conflicts)) or "–",
            "Why / difference": row["explanation"] or "",
            "Seed file": seed,
            "Location in the paper": location,
            "Method": row["method"] or "",
            "result_id": row["result_id"],
        })
    return pd.DataFrame(rows)


def status_styles(table: pd.DataFrame) -> pd.DataFrame:
    """CSS per cell: the Status column tinted by status (pandas Styler.apply(axis=None))."""
    styles = pd.DataFrame("", index=table.index, columns=table.columns)
    for index, label in table["Status"].items():
        for status, (icon, word, background, colour) in STATUS_STYLE.items():
            if label == f"{icon} {word}":
                styles.at[index, "Status"] = f"background-color: {background}; color: {colour}; font-weight: 600"
    return styles


def sensitivity_table(sensitivity: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Each PFS-based published number under the data as used and under every open reading, one row each.

    Parameters
    ----------
    sensitivity : DataFrame
        Output of :func:`analysis.reconcile.assumption_sensitivity`.
    published : DataFrame
        ``published_results`` (for the printed text and the row names).

    Returns
    -------
    DataFrame
        'What', 'Reading' ('as used' first), 'Recomputed', 'Printed number'
        ('✔ reproduced' / '✖ differs'), 'Published (verbatim)' and 'Study'.
        Empty when no study has an open reading.
    """
    columns = ["What", "Reading", "Recomputed", "Printed number", "Published (verbatim)", "Study"]
    if sensitivity.empty:
        return pd.DataFrame(columns=columns)
    rows = published.set_index("result_id")
    records = []
    for item in sensitivity.itertuples():
        source = rows.loc[item.result_id]
        records.append({"Study": study_label(source["study_id"]), "What": what_label(source.to_dict()),
                        "Published (verbatim)": source["printed"], "Reading": item.reading,
                        "Recomputed": recomputed_text({"status": REPRODUCED, "unit": source["unit"],
                                                       **{f"recomputed_{q}": getattr(item, q) for q in
                                                          ("estimate", "ci_lower", "ci_upper", "p_value")}}),
                        "Printed number": status_label(REPRODUCED if item.reproduces else DIFFERS)})
    return pd.DataFrame(records, columns=columns)


# --------------------------------------------------------------------------- #
# The page
# --------------------------------------------------------------------------- #
#: Widths of the comparison table's columns (st.dataframe column configuration).
COLUMN_WIDTHS = {"Status": 235, "What": "medium", "Published (verbatim)": "medium",
                 "Recomputed from patients": "medium", "n": 40, "Conflicts": 85, "Assumption": "medium",
                 "Why / difference": "large", "Location in the paper": "medium", "Method": "large"}
METHODS_CAPTION = (
    "Each paper's numbers are recomputed from the patients transcribed from that same paper, for the whole "
    "published cohort: **the sidebar filters do not apply on this page**. ✔ reproduced = equal to the last "
    "printed digit (p values: to the printed decimals) under the comparison the paper describes, R survival's "
    "conventions and every reading the paper leaves open, and also under the defaults of the software the "
    "paper names; △ reproduced under an assumption = equal only under the convention, alternative model or "
    "reading named in the row; ✖ differs = both values shown; ○ not computable = the per-patient data "
    "needed are not published. Recomputed with Clopper–Pearson exact CIs, Kaplan–Meier with log CIs and R's "
    "median rule, univariate Cox with Efron ties and Wald CIs; the papers do not state these options.")


def build(all_patients: pd.DataFrame, methods=None, *, comparison: pd.DataFrame, published_results: pd.DataFrame,
          conflicts: pd.DataFrame, value_sources: pd.DataFrame, studies: pd.DataFrame | None = None,
          status: str | None = None, detail: str | None = None) -> list[Block]:
    """The page's blocks.

    Parameters
    ----------
    all_patients : DataFrame
        Every patient of the published cohorts (the papers' numbers are for whole cohorts: no filter).
    methods : MethodState, optional
        Not used (the page's methods are fixed); for the builders' common signature.
    comparison : DataFrame
        :func:`analysis.reconcile.reconcile` of ``published_results`` (``db.reconciliation()``).
    published_results, conflicts, value_sources, studies : DataFrame
        The tables of the same names.
    status : str, optional
        The status shown (:data:`STATUS_KEY`): "all" (default) or one of :data:`STATUS_ORDER`.
    detail : str, optional
        The result_id shown in detail (:data:`DETAIL_KEY`); the first when None or unknown.
    """
    counts = status_counts(comparison)
    blocks: list[Block] = [
        Heading(headline(comparison)),
        Metrics([Metric("Published numbers", len(comparison), help="Every row of the published_results table."),
                 *(Metric(metric_label(s), counts[s], help=status_label(s)) for s in STATUS_ORDER)]),
        Note(METHODS_CAPTION),
    ]
    table = comparison_table(comparison, published_results, conflicts)
    blocks.append(_table_view(all_patients, comparison, table, counts, published_results, value_sources, studies,
                              status))
    sensitivity = sensitivity_table(assumption_sensitivity(published_results, all_patients, value_sources),
                                    published_results)
    if not sensitivity.empty:
        blocks += [Heading("The same numbers under every reading the paper leaves open"),
                   Table(sensitivity, "published-sensitivity", height=35 * len(sensitivity) + 40,
                         caption=sensitivity_caption(all_patients, value_sources))]
    return blocks + _detail_blocks(comparison, table, published_results, conflicts, detail)


def sensitivity_caption(patients: pd.DataFrame, value_sources: pd.DataFrame) -> str:
    """The caption of the sensitivity table, naming the patients whose value is an assumption (from the data)."""
    open_values = value_sources[value_sources["alternative_value"].notna()] if "alternative_value" in value_sources \
        else value_sources.iloc[0:0]
    months = dict(zip(patients["patient_id"], patients["pfs_months"])) if "pfs_months" in patients else {}
    named = []
    for pid in dict.fromkeys(open_values["patient_id"]):
        value = months.get(pid)
        named.append(escape_markdown(pid) + (f" ({value:g} months)" if isinstance(value, float) and value == value
                                             else ""))
    who = ""
    if named:
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        who = (f" {listed} {'is the only patient' if len(named) == 1 else 'are the only patients'} with a value "
               "taken as an assumption.")
    return ("Values the data take as an assumption (patient_value_sources with an alternative value): each "
            "PFS-based number recomputed with the value as used and with each alternative (pfs_event = 0: "
            "censored)." + who)


def _table_view(all_patients, comparison, table, counts, published_results, value_sources, studies, status) -> View:
    options = ("all", *STATUS_ORDER)
    status = status if status in options else "all"
    shown = table if status == "all" else table[table["Status"] == status_label(status)]
    shown = shown.drop(columns=["result_id"]).reset_index(drop=True)
    parts: list = [Pick(STATUS_KEY, "Show", options, status, kind="segmented",
                        format=lambda s: f"all ({len(table)})" if s == "all" else f"{status_label(s)} ({counts[s]})")]
    config = {column: {"width": width} for column, width in COLUMN_WIDTHS.items()}
    for study, rows in shown.groupby("Study", sort=False):  # one table per paper
        study_counts = {s: int((rows["Status"] == status_label(s)).sum()) for s in STATUS_ORDER}
        parts.append(Note(f"**{escape_markdown(study)}** · {escape_markdown(rows['Seed file'].iloc[0])} — "
                          f"{len(rows)} numbers: {counts_text(study_counts)}", kind="markdown"))
        part = rows.drop(columns=["Study", "Seed file"]).reset_index(drop=True)
        parts.append(Table(part, f"published-vs-recomputed-{study}", column_config=config,
                           styler=lambda frame: frame.style.apply(status_styles, axis=None)))
    parts.append(Note("Location: where the published number is printed in the paper's seed file. Conflicts: IDs of "
                      "recorded disagreements inside the paper that concern the number (details below and on "
                      "**Data & methods**)."))
    files = {snippets.PUBLISHED_CSV: published_results, snippets.ALL_PATIENTS_CSV: all_patients,
             snippets.VALUE_SOURCES_CSV: value_sources}
    if studies is not None:
        files[snippets.STUDIES_CSV] = studies
    return View(
        "published_table", "Published numbers vs recomputed from the patients", parts, patients=all_patients,
        code=snippets.reconciliation(), slide_table=shown, result=comparison, data_files=files,
        n_text=f"{len(all_patients)} patients of the published cohorts (no filter); {len(comparison)} published "
               "numbers",
        methods_text="as stated per row: Clopper–Pearson exact CIs; Kaplan–Meier, log CI, R median rule; "
                     "univariate Cox, Efron ties, Wald CI and p; reproduced = equal to the last printed digit; "
                     "under an assumption = only under the convention, model or reading the row names",
    )


def _detail_blocks(comparison, table, published_results, conflicts, detail) -> list[Block]:
    blocks: list[Block] = [Heading("One published number in detail")]
    if comparison.empty:
        return blocks + [Note("No published number to show.", kind="info")]
    records = {row["result_id"]: row for row in comparison.to_dict("records")}
    labels = {r.result_id: f"{r.Status} · {r.Study} · {r.What}" for r in table.itertuples()}
    chosen = detail if detail in labels else next(iter(labels))
    blocks.append(Pick(DETAIL_KEY, "Published number", tuple(labels), chosen, labels.get))
    row = records[chosen]
    info = table[table["result_id"] == chosen].iloc[0]
    results = published_results.set_index("result_id")
    left: list[Block] = [
        Note("**Published (verbatim)**", kind="markdown"),
        Note(f"> {escape_markdown(row['printed'])}", kind="markdown"),
        Note(f"**Seed file:** {escape_markdown(info['Seed file'])}  \n"
             f"**Location:** {escape_markdown(info['Location in the paper'])}", kind="markdown")]
    note = results.at[chosen, "note"] if "note" in results else None
    if isinstance(note, str) and note:
        left.append(Note(f"Note: {escape_markdown(note)}"))
    right: list[Block] = [Note(f"**Recomputed from the patients:** {escape_markdown(info['Recomputed from patients'])}"
                               f"  \n**Status:** {escape_markdown(info['Status'])}  \n**n:** "
                               f"{escape_markdown(info['n'])}", kind="markdown")]
    if row["explanation"]:
        right.append(Note(f"**Why:** {escape_markdown(row['explanation'])}", kind="markdown"))
    if row["method"]:
        right.append(Note(f"Method: {escape_markdown(row['method'])}"))
    blocks.append(Columns([left, right], border=True))
    related = related_conflicts({**row, **results.loc[chosen, ["group_level", "conflict_ids"]].to_dict()}, conflicts)
    if related:
        blocks.append(Note(f"**Recorded conflicts that concern this number:** {', '.join(related)}", kind="markdown"))
        for conflict in conflicts[conflicts["conflict_id"].isin(related)].itertuples():
            blocks.append(Expander(
                f"{escape_markdown(conflict.conflict_id)} — {escape_markdown(conflict.topic)}", [
                    Note(f"**A** ({escape_markdown(conflict.location_a)}): {escape_markdown(conflict.statement_a)}",
                         kind="markdown"),
                    Note(f"**B** ({escape_markdown(conflict.location_b)}): {escape_markdown(conflict.statement_b)}",
                         kind="markdown"),
                    Note(f"**Value used:** {escape_markdown(conflict.value_used)}  \n"
                         f"**Why:** {escape_markdown(conflict.reason)}", kind="markdown")],
                icon=":material/compare_arrows:"))
    else:
        blocks.append(Note("No recorded conflict concerns this number."))
    return blocks + [PageLink("pages/data-methods.py", "All recorded conflicts and the sources: Data & methods",
                              icon=":material/menu_book:")]
