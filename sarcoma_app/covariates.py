"""Covariates offered to the Cox models: how each is built from the patients table.

Pure data shaping (no statistics): each covariate is a column handed to
:func:`analysis.cox.fit_cox`, which treats booleans as 1 vs 0, numbers per
unit and text/categoricals as factors with the first category as reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from sarcoma_app.text import escape_markdown


def _flag(condition: pd.Series, known: pd.Series) -> pd.Series:
    """Nullable boolean: ``condition`` where ``known``, else missing."""
    values = pd.array(condition.astype("boolean").fillna(False).to_numpy(dtype=bool), dtype="boolean")
    values[~known.to_numpy()] = pd.NA
    return pd.Series(values, index=condition.index)


def _factor_most_frequent_first(values: pd.Series) -> pd.Series:
    """Categorical whose reference (first category) is the most frequent level."""
    counts = values.dropna().astype(str).value_counts()
    ordered = sorted(counts.index, key=lambda level: (-counts[level], level))
    return pd.Series(pd.Categorical(values.astype(object).where(values.notna(), None), categories=ordered),
                     index=values.index)


@dataclass(frozen=True)
class Covariate:
    """A Cox covariate: URL key, label, how it is built, what its HR means."""

    key: str
    label: str
    build: Callable[[pd.DataFrame], pd.Series]
    meaning: str


COVARIATES: dict[str, Covariate] = {
    c.key: c
    for c in (
        Covariate(
            "angiosarcoma", "Angiosarcoma vs other subtypes",
            lambda p: _flag(p["histology_group"].eq("Angiosarcoma"), p["histology_group"].notna()),
            "HR of angiosarcoma relative to all other histologies (as seed 002).",
        ),
        Covariate(
            "histology_group", "Histology group (reference: most frequent)",
            lambda p: _factor_most_frequent_first(p["histology_group"]),
            "One HR per histology group relative to the most frequent group.",
        ),
        Covariate(
            "primary_site", "Primary site as published (reference: most frequent)",
            lambda p: _factor_most_frequent_first(p["primary_site"]),
            "One HR per published primary site relative to the most frequent site "
            "(seed 002's 'head' HR is Head vs Extremities in this model).",
        ),
        Covariate(
            "head_neck_primary", "Head and neck primary vs other sites",
            lambda p: _flag(p["primary_site_group"].eq("Head and neck"), p["primary_site_group"].notna()),
            "HR of a head-and-neck primary relative to all other site groups.",
        ),
        Covariate(
            "ecog", "ECOG 1 or more vs 0",
            lambda p: _flag(pd.to_numeric(p["ecog"]).ge(1), p["ecog"].notna()),
            "HR of ECOG performance status >= 1 relative to ECOG 0.",
        ),
        Covariate(
            "prior_lines", "Prior lines of chemotherapy (per line)",
            lambda p: pd.to_numeric(p["prior_lines"]).astype(float),
            "HR per additional prior line of chemotherapy.",
        ),
    )
}


def covariate_frame(patients: pd.DataFrame, keys: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """``pfs_months``, ``pfs_event`` and one column per covariate key."""
    frame = pd.DataFrame({"pfs_months": patients["pfs_months"].astype(float),
                          "pfs_event": patients["pfs_event"].astype(int)}, index=patients.index)
    for key in keys:
        frame[key] = COVARIATES[key].build(patients)
    return frame


FACTOR_NAMES = {"histology_group": "Histology group", "primary_site": "Primary site"}
#: What the reference (0 / False) of each yes/no covariate is.
FLAG_REFERENCES = {"angiosarcoma": "other subtypes", "head_neck_primary": "other sites", "ecog": "ECOG 0"}


def reference_label(covariate: str, reference: object) -> str:
    """Readable reference level of a term ('ECOG 0', 'other subtypes', or the factor level)."""
    if str(reference) == "False":
        return FLAG_REFERENCES.get(covariate, "all others")
    return str(reference)


def term_label(covariate: str, level: object, reference: object) -> str:
    """Readable label of a Cox term."""
    spec = COVARIATES.get(covariate)
    if spec is None:
        return str(covariate)
    if covariate in FACTOR_NAMES:
        return f"{FACTOR_NAMES[covariate]}: {level}"
    return spec.label.split(" (")[0]


def reference_note(terms: pd.DataFrame) -> str:
    """'Reference levels: histology group = UPS; ...' for the factor terms of a Cox table (Markdown, levels escaped)."""
    factors = terms[terms["covariate"].isin(list(FACTOR_NAMES))].drop_duplicates("covariate")
    parts = [f"{FACTOR_NAMES[c].lower()} = {escape_markdown(r)}" for c, r in zip(factors["covariate"], factors["reference"])]
    return ("Factor terms are relative to the most frequent level (" + "; ".join(parts) + ").") if parts else ""
