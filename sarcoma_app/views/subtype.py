"""One histology across studies: choices, per-study response and PFS rows (pure, no streamlit).

Every study is summarised on its own (its own regimen); a pooled row is only
ever added on request and is labelled :data:`POOLED_LABEL`.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.response import response_table
from analysis.survival import kaplan_meier
from sarcoma_app.views.prepare import pfs_data
from sarcoma_app.text import fmt_count, fmt_median_ci, fmt_rate_ci, study_label

POOLED_LABEL = "Pooled across different regimens — descriptive only"
LEVELS = {"group": ("histology_group", "histology group"), "histology": ("histology", "specific histology")}
RESPONSES = ("CR", "PR", "SD", "PD")


@dataclass(frozen=True)
class SubtypeChoice:
    """A histology group or a specific histology, e.g. ``group:Leiomyosarcoma``."""

    level: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.level}:{self.value}"

    @property
    def column(self) -> str:
        return LEVELS[self.level][0]

    @classmethod
    def parse(cls, key: str) -> "SubtypeChoice":
        level, _, value = str(key).partition(":")
        if level not in LEVELS or not value:
            raise ValueError(f"not a subtype choice: {key!r}")
        return cls(level, value)


#: Most choices the page's menu lists (those with the most patients; a registry of unusual names stays responsive).
MAX_CHOICES = 1_000


def _counts(patients: pd.DataFrame, column: str) -> pd.DataFrame:
    """Patients and studies per value of ``column`` (one group-by; values as text, NULLs left out)."""
    known = pd.DataFrame({"value": patients[column].astype(object), "study_id": patients["study_id"]}).dropna(
        subset=["value"])
    return known.groupby("value", sort=False)["study_id"].agg(n="size", n_studies="nunique")


def subtype_choices(patients: pd.DataFrame) -> list[SubtypeChoice]:
    """Histology groups present in the data, then the specific histologies of groups holding several.

    Groups present in more than one study come first (the point of the page),
    then alphabetical order. The work is a few group-bys, whatever the
    number of distinct names.
    """
    known = patients.dropna(subset=["histology_group"])
    groups = _counts(known, "histology_group")
    order = sorted(groups.index, key=lambda g: (-min(int(groups.at[g, "n_studies"]), 2), str(g).lower()))
    choices = [SubtypeChoice("group", group) for group in order]
    histologies_per_group = known.groupby("histology_group")["histology"].nunique()
    several = known["histology_group"].map(histologies_per_group).gt(1)
    specific = known.loc[several, "histology"]
    specific = sorted({h for h in specific.unique() if isinstance(h, str)}, key=str.lower)
    choices += [SubtypeChoice("histology", histology) for histology in specific]
    return choices


def largest(choices: list[SubtypeChoice], sizes: dict[str, tuple[int, int]],
            limit: int = MAX_CHOICES) -> list[SubtypeChoice]:
    """The ``limit`` choices with the most patients, in the order of ``choices``."""
    if len(choices) <= limit:
        return list(choices)
    kept = set(sorted(range(len(choices)), key=lambda i: -sizes.get(choices[i].key, (0, 0))[0])[:limit])
    return [choice for i, choice in enumerate(choices) if i in kept]


def choice_sizes(patients: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Choice key -> (patients, studies) of every histology group and histology, from one group-by each."""
    sizes = {}
    for level, (column, _) in LEVELS.items():
        counts = _counts(patients, column)
        sizes.update({f"{level}:{value}": (int(n), int(k)) for value, n, k in
                      zip(counts.index, counts["n"], counts["n_studies"])})
    return sizes


def choice_labels(choices: list[SubtypeChoice], sizes: dict[str, tuple[int, int]]) -> dict[str, str]:
    """Menu label of every choice, 'Leiomyosarcoma · group · 9 patients in 2 studies'.

    ``sizes`` comes from :func:`choice_sizes` (one group-by per level), so
    the labels cost nothing per choice; filtering the cohort once per option
    made a 100,000-histology upload take minutes.
    """
    return {choice.key: _label(choice, *sizes.get(choice.key, (0, 0))) for choice in choices}


def _label(choice: SubtypeChoice, n: int, n_studies: int) -> str:
    what = "group" if choice.level == "group" else "specific histology"
    return (f"{choice.value} · {what} · {n} patient{'s' if n != 1 else ''} in {n_studies} "
            f"stud{'ies' if n_studies != 1 else 'y'}")


def choice_label(choice: SubtypeChoice, patients: pd.DataFrame) -> str:
    """'Leiomyosarcoma · group · 9 patients in 2 studies' (one choice; the menu uses :func:`choice_labels`)."""
    return choice_labels([choice], choice_sizes(patients))[choice.key]


def select(patients: pd.DataFrame, choice: SubtypeChoice) -> pd.DataFrame:
    """Patients with the chosen histology (group)."""
    return patients[patients[choice.column].astype(object).eq(choice.value)]


def _summary(cohort: pd.DataFrame, denominator: str, ci: str, conf_type: str) -> dict:
    rates = response_table(cohort, denominator=denominator, method=ci).iloc[-1]
    analysable, _ = pfs_data(cohort)
    km = kaplan_meier(analysable["pfs_months"], analysable["pfs_event"], conf_type=conf_type) if len(analysable) else None
    return {"rates": rates, "km": km}


def study_summaries(patients: pd.DataFrame, denominator: str, ci: str, conf_type: str,
                    pooled: bool = False) -> pd.DataFrame:
    """Numbers per study (and optionally pooled): one row each, numeric.

    Columns: study_id, study, n, n_evaluable, CR, PR, SD, PD, NE, denominator,
    orr_count, orr, orr_lower, orr_upper, dcr_count, dcr, dcr_lower,
    dcr_upper, pfs_n, pfs_events, median, median_lower, median_upper
    (NaN where PFS is not published), histologies.
    """
    rows = []
    groups = list(patients.groupby("study_id", sort=True))
    if pooled and len(groups) > 1:
        groups.append((None, patients))
    for study_id, cohort in groups:
        summary = _summary(cohort, denominator, ci, conf_type)
        rates, km = summary["rates"], summary["km"]
        histologies = cohort["histology"].astype(object).fillna("not reported").value_counts()
        rows.append({
            "study_id": study_id, "study": POOLED_LABEL if study_id is None else study_label(study_id),
            "n": len(cohort), "n_evaluable": int(rates["n_evaluable"]),
            **{response: int(rates[response]) for response in RESPONSES}, "NE": int(rates["n_not_evaluable"]),
            "denominator": int(rates["denominator"]), "denominator_label": rates["denominator_label"],
            "orr_count": int(rates["orr_count"]), "orr": rates["orr"], "orr_lower": rates["orr_lower"],
            "orr_upper": rates["orr_upper"],
            "dcr_count": int(rates["dcr_count"]), "dcr": rates["dcr"], "dcr_lower": rates["dcr_lower"],
            "dcr_upper": rates["dcr_upper"],
            "pfs_n": km.n if km else 0, "pfs_events": km.n_events if km else 0,
            "median": km.median if km else float("nan"),
            "median_lower": km.median_ci[0] if km else float("nan"),
            "median_upper": km.median_ci[1] if km else float("nan"),
            "histologies": ", ".join(f"{name} ({count})" for name, count in histologies.items()),
        })
    return pd.DataFrame(rows)


def display_table(summaries: pd.DataFrame, regimens: dict[str, str]) -> pd.DataFrame:
    """The page's table: one row per study (text cells), the pooled row labelled as such."""
    rows = []
    for row in summaries.to_dict("records"):
        pooled = row["study_id"] is None
        has_pfs = row["pfs_n"] > 0
        rows.append({
            "Study": row["study"],
            "Regimen": "different regimens (see the rows above)" if pooled else regimens.get(row["study_id"], "–"),
            "Histologies (patients)": row["histologies"],
            "Patients": row["n"], "Evaluable": row["n_evaluable"],
            "CR": row["CR"], "PR": row["PR"], "SD": row["SD"], "PD": row["PD"], "NE": row["NE"],
            "ORR n/N": fmt_count(row["orr_count"], row["denominator"]),
            "ORR % (95% CI)": fmt_rate_ci(row["orr"], row["orr_lower"], row["orr_upper"]),
            "DCR n/N": fmt_count(row["dcr_count"], row["denominator"]),
            "DCR % (95% CI)": fmt_rate_ci(row["dcr"], row["dcr_lower"], row["dcr_upper"]),
            "PFS patients (events)": f"{row['pfs_n']} ({row['pfs_events']})" if has_pfs else "–",
            "Median PFS, months (95% CI)": (fmt_median_ci(row["median"], row["median_lower"], row["median_upper"])
                                            if has_pfs else "PFS not published per patient"),
        })
    return pd.DataFrame(rows)


def rate_rows(summaries: pd.DataFrame) -> pd.DataFrame:
    """Rows for :func:`charts.rate_forest`: ORR and DCR of each study (pooled row left out)."""
    rows = []
    for row in summaries.to_dict("records"):
        if row["study_id"] is None:
            continue
        for endpoint in ("orr", "dcr"):
            rows.append({
                "row_label": f"{row['study']} · {endpoint.upper()}", "subgroup": row["study"],
                "level": endpoint.upper(), "rate": row[endpoint], "lower": row[f"{endpoint}_lower"],
                "upper": row[f"{endpoint}_upper"], "n": row["denominator"], "k": row[f"{endpoint}_count"],
                "estimate_text": (f"{fmt_rate_ci(row[endpoint], row[f'{endpoint}_lower'], row[f'{endpoint}_upper'])}"
                                  f"  {fmt_count(row[f'{endpoint}_count'], row['denominator'])}"),
            })
    return pd.DataFrame(rows)


def published_counts(published: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    """Response counts as printed (seed 002 Table 2, seed 000 Fig. 1a) for the histology codes, per study."""
    rows = published[published["histology_code"].isin(codes) & published["pazopanib_group"].eq("all")]
    if rows.empty:
        return pd.DataFrame(columns=["Study", "Table", "Histology as printed", *RESPONSES, "Source"])
    wide = rows.pivot_table(index=["study_id", "table", "histology", "source"], columns="response", values="n",
                            aggfunc="sum", fill_value=0).reset_index()
    for response in RESPONSES:
        if response not in wide.columns:
            wide[response] = 0
    wide.insert(0, "Study", wide.pop("study_id").map(study_label))
    wide = wide.rename(columns={"table": "Table", "histology": "Histology as printed", "source": "Source"})
    return wide[["Study", "Table", "Histology as printed", *RESPONSES, "Source"]]


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`display_table` turned so each study is a column and each quantity a row (text cells)."""
    wide = table.set_index("Study").T.astype(str)
    wide.columns.name = None
    return wide.reset_index(names="Per study")
