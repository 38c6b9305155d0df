"""Set every published number beside the one recomputed from the patient table.

Each row of ``published_results`` is recomputed where the per-patient data allow
and given one of four verdicts:

* ``reproduced``: equal to the printed precision under the comparison the paper
  describes and R survival's conventions (the project's reference), and it stays
  so under the default of the software the paper names and under every reading
  that the paper leaves open (``assumptions``);
* ``reproduced under an assumption``: equal only under a named assumption: a
  convention other than the named software's default (e.g. Efron ties where the
  paper names SPSS), an alternative model (the printed numbers appear only in a
  comparison other than the one the text describes), or one reading of a value
  the paper does not fix (e.g. a patient's PFS taken as an event). The row names
  the assumption and gives what the alternatives give;
* ``differs``: no variant tried reproduces it (both values shown);
* ``not computable``: the per-patient data needed are not published.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.cox import fit_cox
from analysis.response import proportion_ci
from analysis.survival import kaplan_meier

__all__ = ["reconcile", "assumption_sensitivity", "REPRODUCED", "REPRODUCED_UNDER_ASSUMPTION", "DIFFERS",
           "NOT_COMPUTABLE", "STATUSES", "SOFTWARE_DEFAULTS"]

REPRODUCED = "reproduced"
REPRODUCED_UNDER_ASSUMPTION = "reproduced under an assumption"
DIFFERS = "differs"
NOT_COMPUTABLE = "not computable"
#: Verdicts from best to worst.
STATUSES = (REPRODUCED, REPRODUCED_UNDER_ASSUMPTION, DIFFERS, NOT_COMPUTABLE)

_RESPONDERS = {"orr": {"CR", "PR"}, "dcr": {"CR", "PR", "SD"}}
_QUANTITIES = ("estimate", "ci_lower", "ci_upper", "p_value")
_PFS_ENDPOINTS = {"median_pfs", "pfs_rate", "hazard_ratio"}
#: More assumptions than this in one study: each is flipped alone, not in every combination.
_MAX_JOINT_ASSUMPTIONS = 4

#: R survival's convention for each option the recomputation depends on.
R_CONVENTIONS = {"ties": "efron", "median_rule": "midpoint"}
_OPTION_LABELS = {
    ("ties", "efron"): "Efron ties (R coxph default)",
    ("ties", "breslow"): "Breslow ties",
    ("median_rule", "midpoint"): "R's median rule (midpoint where S(t) = 0.5 over an interval)",
    ("median_rule", "first"): "the first time with S(t) <= 0.5",
}
_OPTION_ENDPOINTS = {"ties": {"hazard_ratio"}, "median_rule": {"median_pfs"}}
#: Defaults of statistics software a paper may name, where they differ from R survival's. Matched as a word of
#: ``studies.statistics_software``. SPSS COXREG handles ties by Breslow's method; its Kaplan-Meier median is the
#: first time with S(t) <= 0.5 (no midpoint rule).
SOFTWARE_DEFAULTS = {"SPSS": {"ties": "breslow", "median_rule": "first"}}


@dataclass(frozen=True)
class _Reading:
    """One way of reading the values a paper leaves open: patient -> field -> value."""

    label: str
    changes: tuple[tuple[str, str, str], ...]  # (patient_id, field, value as text)


def _printed_decimals_precision(value: float) -> float:
    """Half-unit tolerance for a p value from the digits it was printed with."""
    text = f"{value:.10f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 10.0 ** -decimals


def _indicator(values: pd.Series, level: str) -> pd.Series:
    """Boolean membership of ``values`` in ``level`` ('>=k' for a threshold), NaN kept as NaN."""
    if level.startswith(">="):
        threshold = float(level[2:])
        numeric = pd.to_numeric(values, errors="coerce")
        return (numeric >= threshold).where(numeric.notna())
    text = values.map(lambda v: None if pd.isna(v) else str(v).lower())
    return (text == level.lower()).where(text.notna())


def _first_time_median(km) -> float:
    """Smallest time with S(t) <= 0.5 (no midpoint rule), ``nan`` if never reached."""
    reached = km.time[km.survival <= 0.5 + 1e-12]  # S(t) is a product of fractions: 14/28 may come out as 0.5 + eps
    return float(reached[0]) if len(reached) else math.nan


def _recompute(row: pd.Series, patients: pd.DataFrame, alpha: float, ties: str = "efron",
               median_rule: str = "midpoint", alternative_model: bool = False) -> dict:
    """Recompute one published result; return recomputed quantities or a reason it cannot be done."""
    cohort = patients[patients["study_id"] == row["study_id"]]
    endpoint = row["endpoint"]
    if cohort.empty:
        return {"reason": f"no patients of study {row['study_id']} in the data"}

    if endpoint in _RESPONDERS:
        pool = cohort[cohort["evaluable"].astype(bool)] if row["population"] == "evaluable" else cohort
        k = int(pool["best_response"].isin(_RESPONDERS[endpoint]).sum())
        estimate, lower, upper = proportion_ci(k, len(pool), method="clopper-pearson", alpha=alpha)
        return {"estimate": estimate, "ci_lower": lower, "ci_upper": upper, "n": len(pool), "k": k,
                "method": f"{k}/{len(pool)} ({row['population']}), Clopper-Pearson exact CI"}

    if endpoint in {"median_pfs", "pfs_rate"}:
        with_pfs = cohort.dropna(subset=["pfs_months", "pfs_event"])
        if with_pfs.empty:
            return {"reason": "per-patient PFS is not published for this study"}
        km = kaplan_meier(with_pfs["pfs_months"], with_pfs["pfs_event"], conf_type="log", alpha=alpha)
        common = {"n": km.n, "k": km.n_events, "method": "Kaplan-Meier, Greenwood, log CI (R survfit default)"}
        if endpoint == "median_pfs":
            if median_rule == "first":
                return {**common, "estimate": _first_time_median(km), "method": "Kaplan-Meier median, "
                        + _OPTION_LABELS[("median_rule", "first")]}
            lower, upper = km.median_ci
            return {"estimate": km.median, "ci_lower": lower, "ci_upper": upper, **common,
                    "method": common["method"] + ", " + _OPTION_LABELS[("median_rule", "midpoint")]}
        estimate, lower, upper = km.survival_at(float(row["landmark_months"]))
        return {"estimate": estimate, "ci_lower": lower, "ci_upper": upper, **common}

    column, level = row.get("group_column"), row.get("group_level")
    if not isinstance(column, str) or not column or column not in cohort.columns:
        return {"reason": "the published result does not name a patient-level variable to recompute it from"}
    membership = _indicator(cohort[column], str(level))
    n_unknown = int(membership.isna().sum())
    if n_unknown == len(cohort):
        return {"reason": f"per-patient {column} is not published for this study"}

    if endpoint.startswith("count_"):
        count = int((membership == True).sum())  # noqa: E712 (NaN-aware comparison)
        note = f"{n_unknown} of {len(cohort)} patients have {column} not reported" if n_unknown else ""
        return {"estimate": float(count), "n": len(cohort), "k": count, "note": note, "n_unknown": n_unknown,
                "method": f"count of patients with {column} = {level}"}

    if endpoint == "hazard_ratio":
        reference = row.get("alternative_reference_level")
        if alternative_model:
            levels = [reference] + sorted(set(cohort[column].dropna().astype(str)) - {reference})
            data = cohort.assign(_factor=pd.Categorical(cohort[column].astype("string"), categories=levels))
            data = data.dropna(subset=["pfs_months", "pfs_event", "_factor"])
            covariate, term_name = "_factor", f"_factor[{level}]"
            comparison = f"{column} = {level} vs {reference} ({len(levels)}-level factor)"
        else:
            data = cohort.assign(_in_group=membership.astype(float)).dropna(subset=["pfs_months", "pfs_event", "_in_group"])
            covariate, term_name = "_in_group", "_in_group"
            comparison = f"{column} = {level} vs the rest"
        if data.empty:
            return {"reason": "per-patient PFS is not published for this study"}
        fit = fit_cox(data, "pfs_months", "pfs_event", [covariate], ties=ties, alpha=alpha)
        term = fit.loc[term_name]
        if not bool(term.get("estimable", True)):
            return {"reason": f"hazard ratio not estimable: {term.get('note', '')}"}
        return {"estimate": term["hr"], "ci_lower": term["hr_lower"], "ci_upper": term["hr_upper"],
                "p_value": term["p"], "n": int(fit.attrs["n"]), "k": int(fit.attrs["events"]),
                "comparison": comparison,
                "method": f"univariate Cox ({_OPTION_LABELS[('ties', ties)].split(' (')[0]}), {comparison}; Wald CI and p"}

    return {"reason": f"no recomputation defined for endpoint {endpoint!r}"}


def _tolerance(row: pd.Series, quantity: str, value: float) -> float:
    return (_printed_decimals_precision(value) if quantity == "p_value" else float(row["precision"])) / 2 + 1e-9


def _mismatches(row: pd.Series, result: dict, only_computed: bool = False) -> list[str]:
    """Printed quantities the result does not reproduce, as 'estimate: published 2, recomputed 2.25'.

    ``only_computed`` skips the quantities a variant does not compute (a median rule without its CI).
    """
    out = []
    for quantity in _QUANTITIES:
        published_value = row.get(quantity)
        if published_value is None or pd.isna(published_value):
            continue
        if only_computed and quantity not in result:
            continue
        ours = result.get(quantity, np.nan)
        missing = ours is None or pd.isna(ours)
        if missing or abs(ours - published_value) > _tolerance(row, quantity, published_value):
            out.append(f"{quantity.replace('_', ' ')}: published {published_value:g}, recomputed "
                       f"{'not available' if missing else format(ours, '.4g')}")
    return out


def _brief(row: pd.Series, result: dict) -> str:
    """'0.26 (0.06-1.19), p = 0.082' at the printed precision."""
    decimals = max(0, -int(math.floor(math.log10(float(row["precision"]))))) if float(row["precision"]) < 1 else 0

    def number(value) -> str:
        return "NR" if value is None or pd.isna(value) else f"{value:.{decimals}f}"

    text = number(result.get("estimate"))
    if not pd.isna(result.get("ci_lower", np.nan)):
        text += f" ({number(result['ci_lower'])}–{number(result['ci_upper'])})"
    if not pd.isna(result.get("p_value", np.nan)):
        text += f", p = {result['p_value']:.3f}"
    return text


def _software_options(studies: pd.DataFrame | None, study_id: str, endpoint: str) -> dict[str, tuple[str, str]]:
    """option -> (value, software) for the named software's defaults that differ from R's, for this endpoint."""
    if studies is None or studies.empty or "statistics_software" not in studies:
        return {}
    named = studies.loc[studies["study_id"] == study_id, "statistics_software"]
    words = " ".join(str(v) for v in named.dropna()).lower().replace(",", " ").replace(";", " ").split()
    options = {}
    for software, defaults in SOFTWARE_DEFAULTS.items():
        if software.lower() in words:
            options.update({k: (v, software) for k, v in defaults.items()
                            if endpoint in _OPTION_ENDPOINTS[k] and v != R_CONVENTIONS[k]})
    return options


def _readings(assumptions: pd.DataFrame | None, study_id: str) -> list[_Reading]:
    """Every alternative reading of a study's assumptions (all combinations when few, else one at a time)."""
    if assumptions is None or assumptions.empty:
        return []
    rows = assumptions[(assumptions["study_id"] == study_id) & assumptions["alternative_value"].notna()]
    items = [(str(r.patient_id), str(r.field), str(r.alternative_value)) for r in rows.itertuples()]
    sizes = range(1, len(items) + 1) if len(items) <= _MAX_JOINT_ASSUMPTIONS else [1]
    combos = [combo for size in sizes for combo in itertools.combinations(items, size)]
    return [_Reading(" and ".join(f"{p} {f} = {v}" for p, f, v in combo), combo) for combo in combos]


def _apply(patients: pd.DataFrame, reading: _Reading) -> pd.DataFrame:
    """A copy of ``patients`` with the reading's values, cast to each column's type."""
    changed = patients.copy()
    for patient_id, field, value in reading.changes:
        target = changed["patient_id"] == patient_id
        dtype = changed[field].dtype
        if pd.api.types.is_bool_dtype(dtype):
            cast = value.strip().lower() in {"true", "1"}
        elif pd.api.types.is_numeric_dtype(dtype):
            cast = float(value)
        else:
            cast = value
        changed.loc[target, field] = cast
    return changed


def _as_assumed(assumptions: pd.DataFrame, reading: _Reading) -> str:
    """'NAB-09 pfs_event = 1' for the values the data use in place of the reading's."""
    used = assumptions.set_index(["patient_id", "field"])["value"]
    return " and ".join(f"{p} {f} = {used.get((p, f), '?')}" for p, f, _ in reading.changes)


def _verdict(row: pd.Series, patients: pd.DataFrame, alpha: float, studies, assumptions) -> dict:
    """Recompute one row under the described comparison, the named software's defaults, an alternative model and
    the open readings, and decide its verdict."""
    primary = _recompute(row, patients, alpha)
    if "reason" in primary:
        return {**primary, "status": NOT_COMPUTABLE, "explanation": primary["reason"], "assumption": ""}
    mismatches = _mismatches(row, primary)
    unknown = primary.get("n_unknown", 0)
    if mismatches and row["endpoint"].startswith("count_") and unknown:
        published_count, recorded = row["estimate"], primary["estimate"]
        if recorded <= published_count <= recorded + unknown:
            return {**primary, "status": NOT_COMPUTABLE, "assumption": "",
                    "explanation": (f"{recorded:g} recorded; {unknown} patients have {row['group_column']} not "
                                    f"reported, so the published {published_count:g} can be neither confirmed nor refuted")}

    chosen, options, caveats, assumption = primary, {}, [], []
    if mismatches:
        reference = row.get("alternative_reference_level")
        if row["endpoint"] == "hazard_ratio" and isinstance(reference, str) and reference:
            alternative = _recompute(row, patients, alpha, alternative_model=True)
            if "reason" not in alternative and not _mismatches(row, alternative):
                chosen, options = alternative, {"alternative_model": True}
                assumption.append(f"the alternative model {alternative['comparison']}")
                caveats.append(f"As the paper describes it ({primary['comparison']}): {_brief(row, primary)}, "
                               f"which differs")
        if chosen is primary:
            return {**primary, "status": DIFFERS, "assumption": "",
                    "explanation": "; ".join(filter(None, mismatches + [primary.get("note", "")]))}

    for option, (value, software) in _software_options(studies, row["study_id"], row["endpoint"]).items():
        variant = _recompute(row, patients, alpha, **{**options, option: value})
        if "reason" not in variant and _mismatches(row, variant, only_computed=True):
            assumption.append(_OPTION_LABELS[(option, R_CONVENTIONS[option])])
            caveats.append(f"With {_OPTION_LABELS[(option, value)]} ({software}'s default, the software the paper "
                           f"names): {_brief(row, variant)}")

    unchanged = []
    if row["endpoint"] in _PFS_ENDPOINTS:
        required: set = set()
        for reading in _readings(assumptions, row["study_id"]):  # single flips come first
            variant = _recompute(row, _apply(patients, reading), alpha, **options)
            if "reason" in variant or not _mismatches(row, variant):
                unchanged.append(reading.label)
            elif not required & set(reading.changes):  # not already explained by a single flip
                required |= set(reading.changes) if len(reading.changes) == 1 else set()
                assumption.append(_as_assumed(assumptions, reading))
                caveats.append(f"With {reading.label}: {_brief(row, variant)}")
    notes = [chosen.get("note", "")]
    if unchanged:
        notes.append("Unchanged with " + "; with ".join(unchanged))
    status = REPRODUCED_UNDER_ASSUMPTION if assumption else REPRODUCED
    lead = [f"Reproduced only under {'; '.join(assumption)}"] if assumption else []
    explanation = ". ".join(filter(None, lead + caveats + notes))
    return {**chosen, "status": status, "explanation": explanation, "assumption": "; ".join(assumption)}


def reconcile(published: pd.DataFrame, patients: pd.DataFrame, alpha: float = 0.05,
              studies: pd.DataFrame | None = None, assumptions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compare each published result with its recomputation from the patients.

    Parameters
    ----------
    published : DataFrame
        Rows of the ``published_results`` table (endpoint, population, estimate,
        ci_lower, ci_upper, p_value, precision, group_column, group_level,
        alternative_reference_level, ...).
    patients : DataFrame
        Rows of the ``patients`` table.
    alpha : float
        1 - confidence level of recomputed intervals.
    studies : DataFrame, optional
        ``studies`` (``study_id``, ``statistics_software``): a result that reproduces
        under R's convention but not under the named software's default
        (:data:`SOFTWARE_DEFAULTS`) is reproduced only under an assumption.
    assumptions : DataFrame, optional
        ``patient_value_sources`` rows (``study_id, patient_id, field, value,
        alternative_value``); rows with an ``alternative_value`` are values the
        paper leaves open. PFS-based results are recomputed under every other
        reading; one that changes under some reading is reproduced only under an
        assumption, and the readings that change nothing are listed.

    Returns
    -------
    DataFrame
        One row per published result: ``published_*`` and ``recomputed_*`` for
        estimate, CI and p; ``n`` and ``k`` (patients and events/responders used),
        ``status`` (one of :data:`STATUSES`), ``assumption`` (what the verdict
        rests on, '' if nothing), ``explanation`` and ``method``. A value is
        reproduced when it agrees within half a unit of the last printed digit
        (``precision``; for p values, the printed decimals).

    References
    ----------
    .. [1] Clopper CJ, Pearson ES. The use of confidence or fiducial limits
       illustrated in the case of the binomial. Biometrika 1934;26:404-413.
    .. [2] Kaplan EL, Meier P. Nonparametric estimation from incomplete
       observations. JASA 1958;53:457-481.
    .. [3] Cox DR. Regression models and life-tables. JRSS B 1972;34:187-220.
    .. [4] Efron B. The efficiency of Cox's likelihood function for censored
       data. JASA 1977;72:557-565 (ties); Breslow N. Covariance analysis of
       censored survival data. Biometrics 1974;30:89-99.
    """
    rows = []
    for _, row in published.iterrows():
        result = _verdict(row, patients, alpha, studies, assumptions)
        out = {key: row.get(key) for key in ["result_id", "study_id", "endpoint", "population", "subgroup",
                                             "comparison", "printed", "source", "unit"]}
        for quantity in _QUANTITIES:
            out[f"published_{quantity}"] = row.get(quantity)
            out[f"recomputed_{quantity}"] = result.get(quantity, np.nan)
        out["n"] = result.get("n")
        out["k"] = result.get("k")
        out["method"] = result.get("method", "")
        out["status"], out["assumption"], out["explanation"] = result["status"], result["assumption"], result["explanation"]
        rows.append(out)
    return pd.DataFrame(rows)


def assumption_sensitivity(published: pd.DataFrame, patients: pd.DataFrame, assumptions: pd.DataFrame,
                           alpha: float = 0.05) -> pd.DataFrame:
    """Each PFS-based published result recomputed under the data as used and under every open reading.

    Parameters
    ----------
    published, patients, alpha
        As for :func:`reconcile`.
    assumptions : DataFrame
        ``patient_value_sources`` rows; those with an ``alternative_value`` are
        the values the paper leaves open.

    Returns
    -------
    DataFrame
        One row per (result, reading): ``result_id, study_id, reading`` ('as used'
        or e.g. 'NAB-08 pfs_event = 0'), ``estimate, ci_lower, ci_upper, p_value``,
        ``text`` (at the printed precision) and ``reproduces`` (bool). A hazard
        ratio whose printed numbers appear only in its alternative model is
        recomputed in that model. Empty when no study has an open reading.

    References
    ----------
    See :func:`reconcile`.
    """
    records = []
    for _, row in published[published["endpoint"].isin(_PFS_ENDPOINTS)].iterrows():
        readings = _readings(assumptions, row["study_id"])
        if not readings:
            continue
        options = {}
        reference = row.get("alternative_reference_level")
        if row["endpoint"] == "hazard_ratio" and isinstance(reference, str) and reference:
            if _mismatches(row, _recompute(row, patients, alpha)):
                options = {"alternative_model": True}
        for reading in [None, *readings]:
            data = patients if reading is None else _apply(patients, reading)
            result = _recompute(row, data, alpha, **options)
            if "reason" in result:
                break
            records.append({"result_id": row["result_id"], "study_id": row["study_id"],
                            "reading": "as used" if reading is None else reading.label,
                            **{q: result.get(q, np.nan) for q in _QUANTITIES},
                            "text": _brief(row, result), "reproduces": not _mismatches(row, result)})
    return pd.DataFrame(records, columns=["result_id", "study_id", "reading", *_QUANTITIES, "text", "reproduces"])
