"""The statistical method options, named and labelled once for analysis/ and the app.

Plain dicts and tuples, no numpy: the URL parser imports them at start-up (a link's filters are read
before anything slow runs). Each analysis module re-exports its own vocabulary; adding an option is its
name and label here plus its implementation in that module.
"""
from __future__ import annotations

__all__ = ["CI_METHODS", "CI_METHOD_LABELS", "CONF_TYPES", "CONF_TYPE_LABELS", "TIES_METHODS", "TIES_LABELS",
           "P_ADJUST_METHODS", "P_ADJUST_LABELS", "STRATIFY_METHODS", "STRATIFY_LABELS", "RISK_TABLES",
           "RISK_TABLE_LABELS"]

#: Confidence intervals of a proportion (analysis.response.proportion_ci).
CI_METHOD_LABELS = {"clopper-pearson": "Clopper–Pearson (exact)", "wilson": "Wilson score", "jeffreys": "Jeffreys"}
CI_METHODS = tuple(CI_METHOD_LABELS)
#: Pointwise confidence intervals of a Kaplan-Meier curve, as R survfit ``conf.type``.
CONF_TYPE_LABELS = {"log": "log (R default)", "log-log": "log-log", "plain": "plain (linear)", "logit": "logit",
                    "arcsin": "arcsine square root"}
CONF_TYPES = tuple(CONF_TYPE_LABELS)
#: The table under a Kaplan-Meier plot: at risk, cumulative events and censored (KMunicate, Morris et al. 2019),
#: or the number at risk only (analysis.survival.KaplanMeierResult.risk_table).
RISK_TABLE_LABELS = {"kmunicate": "at risk, events, censored (KMunicate)", "at_risk": "number at risk only"}
RISK_TABLES = tuple(RISK_TABLE_LABELS)
#: Pointwise CI bands of Kaplan-Meier curves: drawn, hidden, or drawn for up to 3 curves (many overlapping
#: bands hide the curves).
BANDS_LABELS = {"auto": "for up to 3 curves", "on": "always", "off": "never"}
BANDS = tuple(BANDS_LABELS)
#: Curves up to which "auto" draws the CI bands.
MAX_CURVES_WITH_BANDS = 3
__all__ += ["BANDS_LABELS", "BANDS", "MAX_CURVES_WITH_BANDS"]
#: Handling of tied event times in Cox models, as R coxph ``ties``.
TIES_LABELS = {"efron": "Efron (R default)", "breslow": "Breslow"}
TIES_METHODS = tuple(TIES_LABELS)
#: Stratification of tests and Cox models when the selection spans several studies (R ``strata(study)``).
STRATIFY_LABELS = {"study": "By study (R strata(study_id))", "none": "None (studies pooled)"}
STRATIFY_METHODS = tuple(STRATIFY_LABELS)
#: Time transforms of the proportional-hazards test, as R cox.zph ``transform``.
ZPH_TRANSFORM_LABELS = {"km": "1 − Kaplan–Meier (R default)", "rank": "rank of time", "identity": "time",
                        "log": "log time"}
ZPH_TRANSFORMS = tuple(ZPH_TRANSFORM_LABELS)
__all__ += ["ZPH_TRANSFORM_LABELS", "ZPH_TRANSFORMS"]
#: Multiplicity adjustments by their canonical R ``p.adjust`` names.
P_ADJUST_LABELS = {"BH": "Benjamini–Hochberg (FDR)", "holm": "Holm", "bonferroni": "Bonferroni", "none": "none"}
#: Accepted adjustment names (lower-cased) mapped to the canonical name ("fdr" is R's alias of BH).
P_ADJUST_METHODS = {**{name.lower(): name for name in P_ADJUST_LABELS}, "fdr": "BH"}
#: Prior scale of the between-subtype standard deviation tau (logit scale) of the hierarchical response model,
#: tau ~ half-normal(scale): Neuenschwander et al. (2016) use scale 1 for moderate heterogeneity
#: (analysis.hierarchical.hierarchical_rates).
HETEROGENEITY_SCALES = {"small": 0.5, "moderate": 1.0, "large": 2.0}
HETEROGENEITY_LABELS = {key: f"{key} (τ ~ half-normal, scale {scale:g})" for key, scale in HETEROGENEITY_SCALES.items()}
HETEROGENEITY_PRIORS = tuple(HETEROGENEITY_SCALES)
#: Borrowing models of the hierarchical response model: every subtype exchangeable (EX), or each subtype
#: exchangeable or not with prior weight 0.5 (EXNEX, Neuenschwander et al. 2016).
BORROWING_MODEL_LABELS = {"ex": "EX: all subtypes exchangeable",
                          "exnex": "EXNEX: each subtype exchangeable or not (robust)"}
BORROWING_MODELS = tuple(BORROWING_MODEL_LABELS)
__all__ += ["HETEROGENEITY_SCALES", "HETEROGENEITY_LABELS", "HETEROGENEITY_PRIORS", "BORROWING_MODEL_LABELS",
            "BORROWING_MODELS"]
