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
from data import registry


def _flag(condition: pd.Series, known: pd.Series) -> pd.Series:
    """Nullable boolean: ``condition`` where ``known``, else missing."""
    values = pd.array(condition.astype("boolean").fillna(False).to_numpy(dtype=bool), dtype="boolean")
    values[~known.to_numpy()] = pd.NA
    return pd.Series(values, index=condition.index)


def _factor_most_frequent_first(values: pd.Series, weights: pd.Series | None = None) -> pd.Series:
    """Categorical whose reference (first category) is the most frequent level (``weights``: the patients
    each row stands for, in a table of counts)."""
    known = values.notna()
    if weights is None:
        counts = values[known].astype(str).value_counts()
    else:
        counts = pd.Series(weights[known].to_numpy()).groupby(values[known].astype(str).to_numpy()).sum()
    ordered = sorted(counts.index, key=lambda level: (-counts[level], level))
    return pd.Series(pd.Categorical(values.astype(object).where(values.notna(), None), categories=ordered),
                     index=values.index)


@dataclass(frozen=True)
class Covariate:
    """A Cox covariate: URL key, label, how it is built, what its HR means (from :data:`data.registry.COVARIATES`)."""

    key: str
    label: str
    build: Callable[..., pd.Series]  # (patients) or (counts, weights): the patients each row stands for
    meaning: str


def _builder(spec: registry.Covariate) -> Callable[[pd.DataFrame], pd.Series]:
    """The column a registry covariate hands to :func:`analysis.cox.fit_cox`."""
    column = spec.variable
    if spec.kind == "flag":
        return lambda p, weights=None: _flag(p[column].eq(spec.level), p[column].notna())
    if spec.kind == "at_least":
        return lambda p, weights=None: _flag(pd.to_numeric(p[column]).ge(spec.threshold), p[column].notna())
    if spec.kind == "factor":
        return lambda p, weights=None: _factor_most_frequent_first(p[column], weights)
    return lambda p, weights=None: pd.to_numeric(p[column]).astype(float)


COVARIATES: dict[str, Covariate] = {
    spec.key: Covariate(spec.key, spec.label, _builder(spec), spec.meaning) for spec in registry.COVARIATE_LIST
}


def covariate_frame(patients: pd.DataFrame, keys: list[str] | tuple[str, ...],
                    endpoint: str = registry.DEFAULT_ENDPOINT) -> pd.DataFrame:
    """The endpoint's time and event columns (e.g. ``pfs_months``, ``pfs_event``) and one column per covariate key."""
    spec = registry.ENDPOINTS[endpoint]
    frame = pd.DataFrame({spec.time: patients[spec.time].astype(float),
                          spec.event: patients[spec.event].astype(int)}, index=patients.index)
    for key in keys:
        frame[key] = COVARIATES[key].build(patients)
    return frame


def offered(patients: pd.DataFrame) -> tuple[str, ...]:
    """Covariates that take at least two values among ``patients`` (the analysable ones), in registry order.

    A flag whose level no patient has (no angiosarcoma among them), or a column the data do not record, can
    answer nothing and is not offered.
    """
    return tuple(key for key, spec in COVARIATES.items()
                 if registry.COVARIATES[key].variable in patients
                 and spec.build(patients).nunique(dropna=True) >= 2)


FACTOR_NAMES = {c.key: c.term_label for c in registry.COVARIATE_LIST if c.kind == "factor"}
#: What the reference (0 / False) of each yes/no covariate is.
FLAG_REFERENCES = {c.key: c.reference for c in registry.COVARIATE_LIST if c.kind in ("flag", "at_least")}


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
