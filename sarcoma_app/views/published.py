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

from analysis.reconcile import DIFFERS, NOT_COMPUTABLE, REPRODUCED, REPRODUCED_UNDER_ASSUMPTION, STATUSES
from sarcoma_app.text import fmt_p, fmt_value_ci, study_label

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
