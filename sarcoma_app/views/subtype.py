"""One histology across studies: choices, per-study response and PFS rows (pure, no streamlit).

Every study is summarised on its own (its own regimen); a pooled row is only
ever added on request and is labelled :data:`POOLED_LABEL`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd

import charts
from analysis.response import response_table
from analysis.survival import (
    kaplan_meier, kaplan_meier_by_group, kaplan_meier_by_group_from_counts, kaplan_meier_from_counts,
)
from data import registry
from sarcoma_app.exports import snippets
from sarcoma_app.text import (
    CI_METHOD_LABELS, CONF_TYPE_LABELS, DENOMINATOR_LABELS, GROUPING_LABELS, escape_markdown, fmt_count, fmt_median_ci, fmt_rate_ci,
    study_label,
)
from sarcoma_app.views import borrowing, common, prepare
from sarcoma_app.views.published import related_conflicts
from sarcoma_app.views.blocks import Block, Chart, Expander, Heading, Note, Pick, Table, View
from sarcoma_app.viewstate.url_state import MethodState

TITLE = "Subtype across studies"
QUESTION = "How did patients with one histology do in each study, side by side?"
#: Keys of the page's own controls (the histology menu and the pooled column).
CHOICE_KEY, POOLED_KEY = "w_subtype", "subtype_pooled"
#: Below this many patients with PFS the page lists them instead of drawing a Kaplan–Meier curve.
MIN_CURVE_PATIENTS = 5

POOLED_LABEL = "Pooled across different regimens — descriptive only"
LEVELS = {"group": ("histology_group", "histology group"), "histology": ("histology", "specific histology")}
RESPONSES = ("CR", "PR", "SD", "PD")
#: The patient columns the menu counts (a large source: patients per pattern of these, from the database).
MENU_COLUMNS = ("histology_group", "histology", "study_id")
#: The patient columns the page counts over the selection (a large source), for every part but PFS.
COUNTED_COLUMNS = ("study_id", "histology_group", "histology", "histology_code", "best_response")


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


def _counts(patients: pd.DataFrame, column: str, count_col: str | None = None) -> pd.DataFrame:
    """Patients and studies per value of ``column`` (one group-by; values as text, NULLs left out).

    With ``count_col``, each row of ``patients`` stands for that many patients (a database count).
    """
    known = pd.DataFrame({"value": patients[column].astype(object), "study_id": patients["study_id"],
                          "n": 1 if count_col is None else patients[count_col].astype("int64")}).dropna(
        subset=["value"])
    grouped = known.groupby("value", sort=False)
    return pd.DataFrame({"n": grouped["n"].sum(), "n_studies": grouped["study_id"].nunique()})


def subtype_choices(patients: pd.DataFrame) -> list[SubtypeChoice]:
    """Histology groups present in the data, then the specific histologies of groups holding several.

    ``patients`` may be patients or patterns of (histology_group, histology, study_id) with a count: the
    choices depend only on which values occur together.

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


def choice_sizes(patients: pd.DataFrame, count_col: str | None = None) -> dict[str, tuple[int, int]]:
    """Choice key -> (patients, studies) of every histology group and histology, from one group-by each.

    With ``count_col``, each row of ``patients`` stands for that many patients.
    """
    sizes = {}
    for level, (column, _) in LEVELS.items():
        counts = _counts(patients, column, count_col)
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
    return (f"{choice.value} · {what} · {n:,} patient{'s' if n != 1 else ''} in {n_studies:,} "
            f"stud{'ies' if n_studies != 1 else 'y'}")


def choice_label(choice: SubtypeChoice, patients: pd.DataFrame) -> str:
    """'Leiomyosarcoma · group · 9 patients in 2 studies' (one choice; the menu uses :func:`choice_labels`)."""
    return choice_labels([choice], choice_sizes(patients))[choice.key]


def select(patients: pd.DataFrame, choice: SubtypeChoice) -> pd.DataFrame:
    """Patients with the chosen histology (group)."""
    return patients[patients[choice.column].astype(object).eq(choice.value)]


def _summary(cohort: pd.DataFrame, denominator: str, ci: str, conf_type: str, count_col: str | None = None,
             pfs: pd.DataFrame | None = None) -> dict:
    rates = response_table(cohort, denominator=denominator, method=ci, count_col=count_col).iloc[-1]
    if count_col is None:
        analysable, _ = prepare.endpoint_data(cohort, "pfs")
        km = kaplan_meier(analysable["time"], analysable["event"], conf_type=conf_type) if len(analysable) else None
    else:  # events and censorings per time of these patients (``pfs``, time recorded)
        km = (kaplan_meier_from_counts(pfs["time"], pfs["n_event"], pfs["n_censor"], conf_type=conf_type)
              if pfs is not None and len(pfs) else None)
    return {"rates": rates, "km": km}


def _histologies(cohort: pd.DataFrame, count_col: str | None) -> str:
    """'Leiomyosarcoma (5), Angiosarcoma (2)': patients per histology, most first (ties by name)."""
    sizes = pd.DataFrame({"histology": cohort["histology"].astype(object).fillna("not reported"),
                          "n": 1 if count_col is None else cohort[count_col].astype("int64")})
    sizes = sizes.groupby("histology")["n"].sum()
    return ", ".join(f"{name} ({sizes[name]:,})" for name in sorted(sizes.index, key=lambda h: (-sizes[h], str(h))))


def study_summaries(patients: pd.DataFrame, denominator: str, ci: str, conf_type: str,
                    pooled: bool = False, count_col: str | None = None,
                    pfs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Numbers per study (and optionally pooled): one row each, numeric.

    Columns: study_id, study, n, n_evaluable, CR, PR, SD, PD, NE, denominator,
    orr_count, orr, orr_lower, orr_upper, dcr_count, dcr, dcr_lower,
    dcr_upper, pfs_n, pfs_events, median, median_lower, median_upper
    (NaN where PFS is not published), histologies.

    With ``count_col``, each row of ``patients`` stands for that many patients (a database count per
    study, histology and best response) and ``pfs`` holds PFS events and censorings per (``group`` = study
    id, ``time``) of the same patients, time recorded (:func:`sarcoma_app.sources.db.survival_counts_within`);
    the numbers are those of the patients the counts describe.
    """
    rows = []
    groups = list(patients.groupby("study_id", sort=True))
    if pooled and len(groups) > 1:
        groups.append((None, patients))
    for study_id, cohort in groups:
        study_pfs = None if pfs is None else pfs if study_id is None else pfs[pfs["group"].eq(study_id)]
        summary = _summary(cohort, denominator, ci, conf_type, count_col, study_pfs)
        rates, km = summary["rates"], summary["km"]
        rows.append({
            "study_id": study_id, "study": POOLED_LABEL if study_id is None else study_label(study_id),
            "n": len(cohort) if count_col is None else int(cohort[count_col].sum()),
            "n_evaluable": int(rates["n_evaluable"]),
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
            "histologies": _histologies(cohort, count_col),
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
            "PFS patients (events)": f"{row['pfs_n']:,} ({row['pfs_events']:,})" if has_pfs else "–",
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
    counts = [c for c in table.columns if pd.api.types.is_integer_dtype(table[c])]
    table = table.assign(**{c: table[c].map("{:,}".format) for c in counts})  # 10,000 patients, as the rates
    wide = table.set_index("Study").T.astype(str)
    wide.columns.name = None
    return wide.reset_index(names="Per study")


# --------------------------------------------------------------------------- #
# The page
# --------------------------------------------------------------------------- #
def studies_with_pfs(patients: pd.DataFrame) -> list[str]:
    """Studies (ids, sorted) with at least one patient whose PFS time and event are recorded."""
    analysable, _ = prepare.endpoint_data(patients, "pfs")
    return sorted(analysable["study_id"].dropna().astype(str).unique())


def _no_pfs_note(with_pfs: list[str]) -> Note:
    """Where per-patient PFS is published, given the studies (ids) of the data source that record it."""
    with_pfs = [escape_markdown(study_label(s)) for s in with_pfs]
    if not with_pfs:
        where = "no study of this data source records per-patient PFS"
    elif len(with_pfs) == 1:
        where = f"per-patient PFS is published only by the {with_pfs[0]} study"
    else:
        where = f"per-patient PFS is published only by the studies {', '.join(with_pfs[:-1])} and {with_pfs[-1]}"
    return Note(f"None of these patients has a published PFS time ({where}).", kind="info")


def menu(every_patient: pd.DataFrame, wanted: str | None,
         count_col: str | None = None) -> tuple[Pick | None, list[Block], SubtypeChoice | None]:
    """The histology menu over every patient's histologies, resolved against ``wanted`` (a choice key).

    Returns the control, the notes under it and the choice (None when no patient has a histology). With
    ``count_col``, ``every_patient`` holds patients per (histology_group, histology, study_id) (a database
    count, :data:`MENU_COLUMNS`).
    """
    every_choice = subtype_choices(every_patient)
    if not every_choice:
        return None, [Note("No patient has a histology recorded.", kind="info")], None
    sizes = choice_sizes(every_patient, count_col)  # one group-by per level, not one scan of the cohort per option
    choices = {choice.key: choice for choice in largest(every_choice, sizes)}
    labels = choice_labels(list(choices.values()), sizes)
    if wanted not in choices:  # the default: the subtype with the most patients (the menu's order breaks ties)
        wanted = max(choices, key=lambda key: sizes.get(key, (0, 0))[0])
    pick = Pick(CHOICE_KEY, "Histology or histology group", tuple(choices), wanted, labels.__getitem__,
                help="Groups (e.g. Chondrosarcoma) gather related subtypes across studies; a specific histology is "
                     "the subtype exactly as published. Groups present in both studies come first.")
    notes: list[Block] = []
    if len(every_choice) > len(choices):
        notes.append(Note(f"The menu lists the {len(choices):,} histologies and groups with the most patients; "
                          f"{len(every_choice) - len(choices):,} smaller ones are left out."))
    return pick, notes, choices[wanted]


def build(patients: pd.DataFrame, methods: MethodState, *, every_patient: pd.DataFrame, chosen: str | None = None,
          pooled: bool = False, studies: pd.DataFrame | None = None, printed: pd.DataFrame | None = None,
          histology_filtered: bool = False, conflicts: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks.

    Parameters
    ----------
    patients : DataFrame
        The patients of the sidebar's filters except its histology filters (this page picks the histology).
    methods : MethodState
    every_patient : DataFrame
        Every patient of the data source (the menu's histologies).
    chosen : str, optional
        The menu's choice key (:data:`CHOICE_KEY`); the default choice when None or not offered.
    pooled : bool
        Add the pooled column (:data:`POOLED_KEY`).
    studies : DataFrame, optional
        The studies table (regimens).
    printed : DataFrame, optional
        ``published_response_by_histology`` when the data source has the papers' tables.
    histology_filtered : bool
        True when the sidebar has a histology filter (which this page ignores).
    conflicts : DataFrame, optional
        ``source_conflicts`` (named under the printed counts when they concern the subtype's best response).
    """
    pick, blocks, choice = menu(every_patient, chosen)
    if choice is None:
        return blocks
    return [pick, *blocks] + choice_blocks(
        patients, methods, choice, pooled=pooled, studies=studies, printed=printed,
        histology_filtered=histology_filtered, conflicts=conflicts, with_pfs=lambda: studies_with_pfs(every_patient))


def choice_blocks(selection: pd.DataFrame, methods: MethodState, choice: SubtypeChoice, *, pooled: bool = False,
                  studies: pd.DataFrame | None = None, printed: pd.DataFrame | None = None,
                  histology_filtered: bool = False, conflicts: pd.DataFrame | None = None,
                  with_pfs: Callable[[], list[str]] = list, count_col: str | None = None,
                  pfs: pd.DataFrame | None = None) -> list[Block]:
    """The blocks under the menu for ``choice`` (see :func:`build`).

    ``selection`` holds the patients of the sidebar's filters except its histology filters; with
    ``count_col``, patients per pattern of :data:`COUNTED_COLUMNS` (a database count), and ``pfs`` the PFS
    events and censorings per (``group`` = study id, ``time``) of the chosen subtype's patients
    (:func:`sarcoma_app.sources.db.survival_counts_within`). ``with_pfs`` gives the studies of the data
    source recording PFS (asked only when none of the subtype's patients has it).
    """
    patients = select(selection, choice)
    blocks: list[Block] = [Note(
        f"Each study is its own column: the regimens differ, so nothing is pooled unless you ask for it. "
        f"Rates use {DENOMINATOR_LABELS[methods.denominator]} with 95% {CI_METHOD_LABELS[methods.ci]} CIs; "
        f"median PFS is Kaplan–Meier ({CONF_TYPE_LABELS[methods.conf_type]} CI, R median rule). The sidebar "
        "filters apply" + (", except its histology filters (this page picks the histology)."
                           if histology_filtered else "."))]
    if patients.empty:
        return blocks + [common.NO_PATIENTS]
    name = escape_markdown(choice.value)
    n_studies = patients["study_id"].nunique()
    if n_studies == 1:
        blocks.append(Note(f"Only one study ({escape_markdown(study_label(patients['study_id'].iloc[0]))}) has "
                           f"patients with {name} in the current selection.", kind="info", icon=":material/info:"))
    complete = None if pfs is None else pfs[pfs["time"].notna()]
    summaries = study_summaries(patients, methods.denominator, methods.ci, methods.conf_type, pooled=pooled,
                                count_col=count_col, pfs=complete)
    regimens = {} if studies is None else dict(zip(studies["study_id"], studies["regimen"]))
    table = display_table(summaries, regimens)
    blocks.append(_table_view(patients, methods, choice, table, summaries, pooled, n_studies, count_col))
    blocks.append(_bars_view(patients, choice, table, count_col))
    blocks.append(_rates_view(patients, methods, choice, table, summaries, count_col))
    blocks += _borrowing_blocks(selection, methods, choice, count_col)
    blocks += _pfs_blocks(patients, methods, choice, table, with_pfs, count_col, pfs)
    if printed is not None:
        blocks.append(_printed(patients, choice, printed, conflicts))
    return blocks


def _source(patients: pd.DataFrame, count_col: str | None) -> dict:
    """A view's patients (for its code and footnote), or with counts its number of patients."""
    if count_col is None:
        return {"patients": patients}
    return {"n_text": f"{int(patients[count_col].sum()):,} patients"}


def _table_view(patients, methods, choice, table, summaries, pooled, n_studies, count_col=None) -> View:
    shown = side_by_side(table)
    parts = [Heading(f"{escape_markdown(choice.value)}: response and PFS in each study"),
             Pick(POOLED_KEY, "Add a pooled column (descriptive only)", value=pooled, kind="toggle",
                  disabled=n_studies < 2,
                  help="Adds all studies together. The studies used different regimens, so a pooled rate is a "
                       "description of these patients, not an estimate of any treatment's effect."),
             Table(shown, f"subtype-{choice.value}",
                   caption="CR/PR/SD/PD/NE: best response (RECIST 1.1), NE = not evaluable. ORR = CR + PR, DCR = CR "
                           "+ PR + SD over the stated denominator; exact CIs are wide with so few patients.")]
    if pooled and n_studies > 1:
        parts.append(Note(f"The last column is **{POOLED_LABEL}**: it adds patients treated with different regimens.",
                          kind="warning", icon=":material/merge_type:"))
    code = None if count_col else snippets.per_study(methods.denominator, methods.ci, methods.conf_type,
                                                     title=f"{choice.value}, per study: response rates and median PFS")
    return View("subtype_table", f"{choice.value} across studies", parts, **_source(patients, count_col), code=code,
                result=summaries)


def _bars_view(patients, choice, table, count_col=None) -> View:
    counts = prepare.best_response_counts(patients, count_col=count_col)
    parts = [Heading("Best response of each patient, per study"),
             Chart(charts.best_response_bars(counts), f"subtype-{choice.value}-best-response",
                   title=f"Best response (RECIST 1.1): {choice.value}",
                   caption="One panel per study; bars = patients per histology, coloured by best response.")]
    return View("subtype_bars", f"{choice.value}: best response per study", parts, **_source(patients, count_col),
                code=None if count_col else snippets.response_counts(), result=counts,
                slide_table=table[["Study", "Patients", "CR", "PR", "SD", "PD", "NE"]])


def _rates_view(patients, methods, choice, table, summaries, count_col=None) -> View:
    rates = rate_rows(summaries)
    parts = [Heading("ORR and DCR per study (95% CI)"),
             Chart(charts.rate_forest(rates, endpoint_label="Rate"), f"subtype-{choice.value}-rates",
                   title=f"ORR and DCR per study (95% CI): {choice.value}",
                   caption="Squares sized by the denominator. Side by side, not pooled: the studies used different "
                           "regimens.")]
    code = None if count_col else snippets.per_study(methods.denominator, methods.ci, methods.conf_type,
                                                     title=f"{choice.value}, per study: response rates")
    return View("subtype_rates", f"{choice.value}: ORR and DCR per study", parts, **_source(patients, count_col),
                code=code, result=rates,
                slide_table=table[["Study", "ORR n/N", "ORR % (95% CI)", "DCR n/N", "DCR % (95% CI)"]])


def _borrowing_blocks(selection, methods, choice, count_col=None) -> list[Block]:
    """The chosen histology beside the others of the selection: independent, pooled and hierarchical rates."""
    groups = prepare.group_labels(selection, choice.column)
    return borrowing.section(selection, groups, GROUPING_LABELS[choice.column], methods, key="subtype_borrowing",
                             highlight=choice.value, missing=registry.GROUPINGS[choice.column].missing_label,
                             grouping=choice.column, count_col=count_col)


def _pfs_blocks(patients, methods, choice, table, with_pfs, count_col=None, pfs=None) -> list[Block]:
    heading = Heading("Progression-free survival where published")
    if count_col is None:
        analysable, excluded = prepare.endpoint_data(patients, "pfs")
        analysable = analysable.assign(group=prepare.group_labels(analysable, "study"))
        n_analysable, n_events, n_excluded = len(analysable), int(analysable["event"].sum()), len(excluded)
    else:  # events and censorings per (study, time); a NULL time holds the patients without PFS
        analysable = pfs[pfs["time"].notna()]
        analysable = analysable.assign(group=prepare.group_labels(analysable.rename(columns={"group": "study_id"}),
                                                                  "study").to_numpy())
        n_analysable = int(analysable[["n_event", "n_censor"]].to_numpy().sum())
        n_events = int(analysable["n_event"].sum())
        n_excluded = int(pfs.loc[pfs["time"].isna(), ["n_event", "n_censor"]].to_numpy().sum())
    if n_analysable == 0:
        return [heading, _no_pfs_note(with_pfs())]
    if count_col is None:
        result = kaplan_meier_by_group(analysable["time"], analysable["event"], analysable["group"],
                                       conf_type=methods.conf_type, landmarks=list(methods.landmarks))
    else:
        result = kaplan_meier_by_group_from_counts(analysable, conf_type=methods.conf_type,
                                                   landmarks=list(methods.landmarks))
    grid = prepare.risk_grid(float(analysable["time"].max()))
    n_text = f"{n_analysable:,} patients with PFS, {n_events:,} events"
    code = None if count_col else snippets.survival("study", methods.conf_type, methods.landmarks)
    source = {"patients": patients} if count_col is None else {}
    slide_table = table[["Study", "PFS patients (events)", "Median PFS, months (95% CI)"]]
    if n_analysable < MIN_CURVE_PATIENTS:
        if count_col is None:
            listed = pd.DataFrame({"Study": analysable["group"].astype(str), "Patient": analysable["patient_id"],
                                   "PFS, months": analysable["time"],
                                   "Status": analysable["event"].map({1: "progressed or died", 0: "censored"})})
        else:  # one row per study, time and status (the patients' ids need each record)
            long = analysable.melt(id_vars=["group", "time"], value_vars=["n_event", "n_censor"], var_name="status",
                                   value_name="n")
            long = long[long["n"] > 0].sort_values(["group", "time", "status"], ignore_index=True)
            listed = pd.DataFrame({"Study": long["group"].astype(str), "PFS, months": long["time"],
                                   "Status": long["status"].map({"n_event": "progressed or died",
                                                                 "n_censor": "censored"}),
                                   "Patients": long["n"].astype(int)})
        parts = [heading, Note(f"Only {n_analysable} patient{'s' if n_analysable != 1 else ''} with published "
                               f"PFS: listed instead of a Kaplan–Meier curve (a curve of fewer than "
                               f"{MIN_CURVE_PATIENTS} patients says little)."),
                 Table(listed.reset_index(drop=True), f"subtype-{choice.value}-pfs-patients")]
        return [View("subtype_km", f"{choice.value}: progression-free survival", parts, **source, n_text=n_text,
                     code=code, result=result, slide_table=slide_table)]
    km = charts.kaplan_meier_plot(prepare.km_curve_frame(result.fits), prepare.km_censor_frame(result.fits),
                                  prepare.km_risk_frame(result.fits, grid), [str(g) for g in result.fits],
                                  time_label="Months since start of treatment")
    parts = [heading,
             Chart(km, f"subtype-{choice.value}-pfs", title=f"PFS (Kaplan–Meier): {choice.value}",
                   caption=f"{n_analysable:,} patients, {n_events:,} events"
                           + (f"; {n_excluded:,} patients without published PFS are not drawn." if n_excluded
                              else "."))]
    return [View("subtype_km", f"{choice.value}: progression-free survival", parts, **source, n_text=n_text,
                 code=code, result=result, slide_table=slide_table)]


def printed_caption(rows: pd.DataFrame, choice: SubtypeChoice, conflicts: pd.DataFrame | None,
                    study_ids=()) -> str:
    """Which printed tables the rows come from, and the recorded conflicts about this subtype's best response."""
    tables = rows[["Study", "Table"]].drop_duplicates()
    where = " and ".join(f"{study} {table}" for study, table in zip(tables["Study"], tables["Table"]))
    ids = []
    if conflicts is not None and not conflicts.empty:
        name = re.sub(r"\s+", " ", str(choice.value).lower())
        for study_id in dict.fromkeys(study_ids):
            ids += [i for i in related_conflicts({"endpoint": "count_cr", "study_id": study_id}, conflicts)
                    if name in str(conflicts.set_index("conflict_id").at[i, "topic"]).lower()]
    see = (f"see conflict{'s' if len(ids) > 1 else ''} {escape_markdown(', '.join(ids))} on Data & methods" if ids
           else "see the source conflicts on Data & methods")
    return f"{escape_markdown(where)} as printed (evaluable patients). They can differ from the patient rows: {see}."


def _printed(patients, choice, printed, conflicts) -> Expander:
    codes = set(patients["histology_code"].dropna().astype(str)) if "histology_code" in patients else set()
    rows = published_counts(printed, codes)
    if rows.empty:
        inside: list[Block] = [Note("The papers print no per-histology response row for this subtype.")]
    else:
        inside = [View("subtype_printed", f"{choice.value}: response counts as printed", [
            Table(rows, f"subtype-{choice.value}-as-printed", caption=printed_caption(rows, choice, conflicts, sorted(patients["study_id"].unique())))],
            tools=False, result=rows)]
    return Expander("Response counts as printed in the papers (whole cohorts)", inside, icon=":material/menu_book:")
