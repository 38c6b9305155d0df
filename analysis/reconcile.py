"""Set every published number beside the one recomputed from the patient table.

Each row of ``published_results`` is recomputed where the per-patient data allow
and classified as ``reproduced`` (equal to the printed precision), ``differs``
(both shown) or ``not computable`` (with what is missing).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.cox import fit_cox
from analysis.response import proportion_ci
from analysis.survival import kaplan_meier

__all__ = ["reconcile", "REPRODUCED", "DIFFERS", "NOT_COMPUTABLE"]

REPRODUCED = "reproduced"
DIFFERS = "differs"
NOT_COMPUTABLE = "not computable"

_RESPONDERS = {"orr": {"CR", "PR"}, "dcr": {"CR", "PR", "SD"}}
_QUANTITIES = ("estimate", "ci_lower", "ci_upper", "p_value")


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


def _recompute(row: pd.Series, patients: pd.DataFrame, alpha: float) -> dict:
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
            lower, upper = km.median_ci
            return {"estimate": km.median, "ci_lower": lower, "ci_upper": upper, **common}
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
        reference = row.get("reference_level")
        if isinstance(reference, str) and reference:
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
        fit = fit_cox(data, "pfs_months", "pfs_event", [covariate], ties="efron", alpha=alpha)
        term = fit.loc[term_name]
        if not bool(term.get("estimable", True)):
            return {"reason": f"hazard ratio not estimable: {term.get('note', '')}"}
        return {"estimate": term["hr"], "ci_lower": term["hr_lower"], "ci_upper": term["hr_upper"],
                "p_value": term["p"], "n": int(fit.attrs["n"]), "k": int(fit.attrs["events"]),
                "method": f"univariate Cox (Efron ties), {comparison}; Wald CI and p"}

    return {"reason": f"no recomputation defined for endpoint {endpoint!r}"}


def reconcile(published: pd.DataFrame, patients: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Compare each published result with its recomputation from the patients.

    Parameters
    ----------
    published : DataFrame
        Rows of the ``published_results`` table (endpoint, population, estimate,
        ci_lower, ci_upper, p_value, precision, group_column, group_level, ...).
    patients : DataFrame
        Rows of the ``patients`` table.
    alpha : float
        1 - confidence level of recomputed intervals.

    Returns
    -------
    DataFrame
        One row per published result: ``published_*`` and ``recomputed_*`` for
        estimate, CI and p; ``n`` and ``k`` (patients and events/responders used),
        ``status`` (reproduced / differs / not computable), ``explanation`` and
        ``method``. A value is reproduced when it agrees within half a unit of the
        last printed digit (``precision``; for p values, the printed decimals).

    References
    ----------
    .. [1] Clopper CJ, Pearson ES. The use of confidence or fiducial limits
       illustrated in the case of the binomial. Biometrika 1934;26:404-413.
    .. [2] Kaplan EL, Meier P. Nonparametric estimation from incomplete
       observations. JASA 1958;53:457-481.
    .. [3] Cox DR. Regression models and life-tables. JRSS B 1972;34:187-220.
    """
    rows = []
    for _, row in published.iterrows():
        result = _recompute(row, patients, alpha)
        out = {key: row.get(key) for key in ["result_id", "study_id", "endpoint", "population", "subgroup",
                                             "comparison", "printed", "source", "unit"]}
        for quantity in _QUANTITIES:
            out[f"published_{quantity}"] = row.get(quantity)
            out[f"recomputed_{quantity}"] = result.get(quantity, np.nan)
        out["n"] = result.get("n")
        out["k"] = result.get("k")
        out["method"] = result.get("method", "")
        if "reason" in result:
            out["status"], out["explanation"] = NOT_COMPUTABLE, result["reason"]
        else:
            mismatches = []
            for quantity in _QUANTITIES:
                published_value = row.get(quantity)
                if published_value is None or pd.isna(published_value):
                    continue
                tolerance = (_printed_decimals_precision(published_value) if quantity == "p_value"
                             else float(row["precision"])) / 2 + 1e-9
                ours = result.get(quantity, np.nan)
                if ours is None or (isinstance(ours, float) and math.isnan(ours)) or abs(ours - published_value) > tolerance:
                    mismatches.append(f"{quantity.replace('_', ' ')}: published {published_value:g}, recomputed "
                                      f"{'not available' if ours is None or pd.isna(ours) else format(ours, '.4g')}")
            out["status"] = DIFFERS if mismatches else REPRODUCED
            out["explanation"] = "; ".join(filter(None, mismatches + [result.get("note", "")]))
            unknown = result.get("n_unknown", 0)
            if mismatches and row["endpoint"].startswith("count_") and unknown:
                published_count, recorded = row["estimate"], result["estimate"]
                if recorded <= published_count <= recorded + unknown:
                    out["status"] = NOT_COMPUTABLE
                    out["explanation"] = (f"{recorded:g} recorded; {unknown} patients have {row['group_column']} not "
                                          f"reported, so the published {published_count:g} can be neither confirmed nor refuted")
        rows.append(out)
    return pd.DataFrame(rows)
