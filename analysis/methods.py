"""The names of the statistical method options, defined once for analysis/ and the app.

Plain tuples and a dict, no numpy: the URL parser imports them at start-up (a link's filters are read
before anything slow runs). Each analysis module re-exports its own vocabulary.
"""
from __future__ import annotations

__all__ = ["CI_METHODS", "CONF_TYPES", "TIES_METHODS", "P_ADJUST_METHODS"]

#: Confidence intervals of a proportion (analysis.response.proportion_ci).
CI_METHODS = ("clopper-pearson", "wilson", "jeffreys")
#: Pointwise confidence intervals of a Kaplan-Meier curve, as R survfit ``conf.type``.
CONF_TYPES = ("log", "log-log", "plain")
#: Handling of tied event times in Cox models, as R coxph ``ties``.
TIES_METHODS = ("efron", "breslow")
#: Accepted multiplicity-adjustment names (lower-cased) mapped to the canonical R ``p.adjust`` name.
P_ADJUST_METHODS = {
    "bh": "BH",
    "fdr": "BH",
    "holm": "holm",
    "bonferroni": "bonferroni",
    "none": "none",
}
