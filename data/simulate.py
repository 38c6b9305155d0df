"""Simulated sarcoma registry cohorts, for scale testing only (not real patients).

``simulate_cohort(n)`` returns a ``patients`` table with every column of the
bundled ``patients`` table (names, dtypes and allowed values of
``data/sources/data_dictionary.csv``, dtypes as DuckDB hands them to pandas)
and a per-patient ``adverse_events`` table consistent with it. Everything is
vectorised numpy (no Python loop over patients): one million patients take a
few seconds.

Data rules (shared/design.md): the rows belong to one study whose id says
``simulated`` (``simulated_100k`` ...), every row's ``source`` says
``simulated by data/simulate.py (seed N); not real patients``, and nothing
here is ever pooled with, or written into, the bundled database.

Command line::

    python data/simulate.py --patients 100000 --out /tmp/sim

writes ``patients``, ``adverse_events`` and ``studies`` as Parquet when
``pyarrow`` is installed, else CSV (``--format csv`` forces CSV).

Simulation model
----------------
All effects are illustrative round numbers chosen to look like an advanced
sarcoma registry; they are not estimates from the literature. The module-level
constants hold the truth, so tests can check that the analysis recovers it.

Baseline characteristics
    Histology code drawn from :data:`HISTOLOGY_WEIGHTS` (names and groups from
    ``histology_glossary.csv``); primary site group depending on the histology
    group (:data:`SITE_GROUP_WEIGHTS`, e.g. leiomyosarcoma mostly
    abdomen/pelvis, angiosarcoma mostly head and neck), then a site of that
    group from ``primary_site_groups.csv``; sex Female for uterus and vulva,
    otherwise 70% Female for leiomyosarcoma and 45% for the rest; age ~
    Normal(55, 14) (Normal(30, 12) for the paediatric/young-adult histologies
    osteosarcoma, rhabdomyosarcoma, synovial, epithelioid, DSRCT, ASPS),
    rounded and clipped to 12-90, 2% missing; stage IV (85%) or Unresectable
    (then no metastatic site); ECOG 0/1/2/3 with 40/45/12/3%; prior lines
    0..5 with 20/35/25/12/5/3%; pazopanib co-treatment 40%, then hidden
    (NULL) completely at random for 5% of patients. All independent of one
    another except where stated.

Progression-free survival (the true Cox model)
    Proportional hazards with a Weibull baseline (shape
    :data:`WEIBULL_SHAPE`; median :data:`BASELINE_MEDIAN_PFS_MONTHS` months
    for the reference profile: leiomyosarcoma, no pazopanib, ECOG 0, no prior
    line). Log hazard ratios: histology group (:data:`HISTOLOGY_GROUP_HAZARD_RATIOS`,
    reference leiomyosarcoma; angiosarcoma 0.75, rhabdomyosarcoma 1.6 ...),
    pazopanib :data:`PAZOPANIB_HAZARD_RATIO` (0.70, True vs False, on the true
    status also where it is hidden), ECOG :data:`ECOG_HAZARD_RATIO_PER_POINT`
    per point, prior lines :data:`PRIOR_LINE_HAZARD_RATIO` per line. Age,
    sex, primary site and stage have no effect (hazard ratio 1): they are null
    covariates. Censoring is independent of the progression time: staggered
    accrual over 36 months with the data cut at 42 months (administrative
    follow-up 6-42 months), loss to follow-up at rate 1/48 per month (after
    the first assessment at 2 months for evaluable patients), and for the
    non-evaluable patients lost or withdrawn before the first assessment,
    censoring at Uniform(0.1, 1.9) months: about 11% of PFS times are
    censored, median PFS of the whole cohort about 3.8 months. Times are rounded *up* to
    ``time_decimals`` decimals; the default ("auto") keeps 95% or more of
    them distinct at any size, ``time_decimals=2`` gives the ties of
    published data (64% distinct at 1k, 2% at 100k).

Overall survival
    Death at the progression time plus an exponential survival after progression (median
    :data:`MEDIAN_POST_PROGRESSION_MONTHS` months, independent of the covariates), with the censoring of
    PFS; drawn from a generator of its own, so the other columns do not change with it. ``died`` keeps
    its meaning (a fatal adverse event).

Response (associated with PFS)
    93% evaluable; the others get a reason (lost to follow-up, toxicity,
    withdrawal, no measurable disease) and no best response. First RECIST
    assessment at :data:`FIRST_ASSESSMENT_MONTHS` months: an evaluable patient
    whose true progression time is earlier has best response PD (their
    progression is always observed); otherwise CR/PR with probability
    ``expit(-2.2 + 1.1 log(T / 2))`` (12% of them CR), else SD. So response
    follows the PFS model (pazopanib and histology act on response through
    PFS), responders have longer PFS (median about 6.3 months vs 4.4 for SD
    and 1.1 for PD), ORR about 17% and DCR about 68% of all patients.

Adverse events
    Per patient a Poisson number of AEs with mean
    ``(1.2 + 0.12 min(PFS, 24)) x 1.5 if on pazopanib`` (true status): more
    exposure, more AEs; pazopanib adds toxicity. Each AE gets a term from
    :data:`AE_TERMS` (pazopanib shifts the mix to hypertension, diarrhoea,
    liver tests and hair depigmentation) and a CTCAE grade 1-5 with
    50/32/14/3.5/0.5%, capped at the term's maximum CTCAE v5 grade (about 2.1
    AEs per patient, 15% of patients without any). A grade 5
    (fatal) event is kept only for patients whose PFS ended in an event (death
    is a PFS event) and is otherwise recorded as grade 4; ``died`` is True for
    patients with a grade 5 AE and NULL (not reported) otherwise.
    ``n_adverse_events`` is the patient's number of AE rows and
    ``worst_ae_grade`` their highest grade (NULL with no AE).

Treatment
    A 3-weekly regimen (one cycle = 21 days): ``cycles_last_reported`` =
    cycles until the PFS time, ``cycles_to_progression`` the same when the
    PFS time is an event, ``cycles_to_response`` the cycle of the assessment
    (every 3 cycles) where the best response was first seen.
    ``treatment_status``: stopped after progression, toxicity or withdrawal,
    ongoing when censored at the data cut, NULL when lost to follow-up.
    ``weeks_on_nivolumab_derived`` is NULL (not a nivolumab study).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

try:  # imported as data.simulate, or run as python data/simulate.py
    from data import registry
except ImportError:  # pragma: no cover - script mode
    import registry  # type: ignore[no-redef]

__all__ = [
    "simulate_cohort",
    "study_record",
    "study_label",
    "write_cohort",
    "PATIENT_COLUMNS",
    "AE_COLUMNS",
    "DEFAULT_SEED",
    "HISTOLOGY_WEIGHTS",
    "HISTOLOGY_GROUP_HAZARD_RATIOS",
    "PAZOPANIB_HAZARD_RATIO",
    "ECOG_HAZARD_RATIO_PER_POINT",
    "PRIOR_LINE_HAZARD_RATIO",
    "BASELINE_MEDIAN_PFS_MONTHS",
    "WEIBULL_SHAPE",
    "FIRST_ASSESSMENT_MONTHS",
    "REFERENCE_HISTOLOGY_GROUP",
    "AE_TERMS",
]

DATA_DIR = Path(__file__).resolve().parent
SOURCES_DIR = DATA_DIR / "sources"
DEFAULT_SEED = 20261121

#: Columns of the ``patients`` table, in the database's order (data/registry.py).
PATIENT_COLUMNS = list(registry.PATIENT_COLUMNS)
#: Columns of the ``adverse_events`` table.
AE_COLUMNS = ["study_id", "patient_id", "patient_ref", "term", "term_group", "grade", "source", "note"]

# --------------------------------------------------------------------------- #
# The truth of the simulation
# --------------------------------------------------------------------------- #
#: Relative frequency of each histology code (normalised when used).
HISTOLOGY_WEIGHTS = {
    "LMS": 0.22, "UPS": 0.17, "OS": 0.09, "LPS-DD": 0.08, "SS": 0.08, "LPS": 0.05, "AS": 0.05,
    "RMS": 0.04, "MPNST": 0.04, "PLPS": 0.03, "FS": 0.03, "DC": 0.03, "EpS": 0.02, "DSRCT": 0.02,
    "MC": 0.01, "ASPS": 0.01, "IS": 0.01, "DFSP": 0.01,
}
#: True hazard ratio of PFS for each histology group (reference: Leiomyosarcoma).
HISTOLOGY_GROUP_HAZARD_RATIOS = {
    "Leiomyosarcoma": 1.00,
    "Liposarcoma": 0.90,
    "Undifferentiated pleomorphic sarcoma": 1.10,
    "Synovial sarcoma": 0.95,
    "Angiosarcoma": 0.75,
    "Epithelioid sarcoma": 1.05,
    "Fibrosarcoma": 1.20,
    "Rhabdomyosarcoma": 1.60,
    "Osteosarcoma": 1.40,
    "Chondrosarcoma": 1.50,
    "Other soft tissue sarcoma": 0.85,
}
REFERENCE_HISTOLOGY_GROUP = "Leiomyosarcoma"
#: True hazard ratio of PFS for pazopanib co-treatment (True vs False).
PAZOPANIB_HAZARD_RATIO = 0.70
#: True hazard ratio of PFS per ECOG point.
ECOG_HAZARD_RATIO_PER_POINT = 1.30
#: True hazard ratio of PFS per prior line of chemotherapy.
PRIOR_LINE_HAZARD_RATIO = 1.08
#: Median PFS (months) of the reference profile (leiomyosarcoma, no pazopanib, ECOG 0, 0 prior lines).
BASELINE_MEDIAN_PFS_MONTHS = 4.5
#: Median survival after progression (months, exponential), for overall survival.
MEDIAN_POST_PROGRESSION_MONTHS = 9.0
#: Shape of the Weibull baseline hazard (> 1: hazard rising with time).
WEIBULL_SHAPE = 1.3
#: Time of the first RECIST assessment (months).
FIRST_ASSESSMENT_MONTHS = 2.0
ACCRUAL_MONTHS, DATA_CUT_MONTHS = 36.0, 42.0
LOSS_TO_FOLLOW_UP_RATE = 1 / 48  # per month
CYCLE_MONTHS = 21 / 30.4375  # 3-weekly cycles
RESPONSE_INTERCEPT, RESPONSE_SLOPE, CR_SHARE_OF_RESPONDERS = -2.2, 1.1, 0.12

YOUNG_HISTOLOGY_GROUPS = ("Osteosarcoma", "Rhabdomyosarcoma", "Synovial sarcoma", "Epithelioid sarcoma")
YOUNG_HISTOLOGY_CODES = ("DSRCT", "ASPS")
SITE_GROUPS = ("Extremity", "Trunk", "Head and neck", "Abdomen/pelvis", "Chest")
#: P(primary site group | histology group), in the order of SITE_GROUPS; others use "default".
SITE_GROUP_WEIGHTS = {
    "default": (0.50, 0.25, 0.10, 0.10, 0.05),
    "Leiomyosarcoma": (0.20, 0.20, 0.03, 0.55, 0.02),
    "Angiosarcoma": (0.20, 0.25, 0.45, 0.05, 0.05),
    "Osteosarcoma": (0.70, 0.15, 0.10, 0.03, 0.02),
    "Liposarcoma": (0.55, 0.30, 0.02, 0.10, 0.03),
    "Other soft tissue sarcoma": (0.40, 0.25, 0.10, 0.10, 0.15),
}
#: P(site | site group) for the sites of data/sources/primary_site_groups.csv.
SITE_WEIGHTS = {
    "Head and neck": {"Head": 0.45, "Neck": 0.35, "Maxilla": 0.15, "Left maxilla": 0.05},
    "Extremity": {"Extremities": 0.95, "Right upper extremity": 0.05},
    "Trunk": {"Trunk": 1.0},
    "Abdomen/pelvis": {"Uterus": 0.85, "Vulva": 0.15},
    "Chest": {"Right pulmonary artery": 1.0},
}
METASTATIC_SITES = {"Lung": 0.45, "Lung and bone": 0.12, "Lung and lymph nodes": 0.10, "Liver": 0.12,
                    "Bone": 0.10, "Lymph nodes": 0.05, "Peritoneum": 0.06}
ECOG_WEIGHTS = (0.40, 0.45, 0.12, 0.03)
PRIOR_LINE_WEIGHTS = (0.20, 0.35, 0.25, 0.12, 0.05, 0.03)
P_STAGE_IV, P_PAZOPANIB, P_PAZOPANIB_UNKNOWN, P_AGE_UNKNOWN = 0.85, 0.40, 0.05, 0.02
P_NOT_EVALUABLE = 0.07
#: reason -> (probability among non-evaluable, censored before the first assessment, treatment status)
NOT_EVALUABLE_REASONS = {
    "Lost to follow-up before the first assessment": (0.40, True, None),
    "Toxicity before the first assessment": (0.30, False, "stopped"),
    "Withdrew consent": (0.15, True, "stopped"),
    "No measurable disease at baseline": (0.15, False, None),
}
#: term -> (term_group, weight without pazopanib, weight with pazopanib, maximum CTCAE v5 grade)
AE_TERMS = {
    "Fatigue": ("Fatigue", 14, 14, 3),
    "Nausea": ("Nausea", 10, 10, 3),
    "Anemia": ("Anemia", 8, 6, 5),
    "Diarrhea": ("Diarrhea", 7, 14, 5),
    "Anorexia": ("Anorexia", 6, 7, 5),
    "Neutrophil count decreased": ("Neutropenia", 6, 3, 4),
    "Alopecia": ("Alopecia", 5, 3, 2),
    "Peripheral sensory neuropathy": ("Peripheral neuropathy", 5, 4, 4),
    "ALT increased": ("LFTs", 4, 9, 4),
    "Platelet count decreased": ("Thrombocytopenia", 4, 4, 4),
    "Hypothyroidism": ("Hypothyroidism", 4, 6, 5),
    "Rash maculo-papular": ("Rash", 4, 4, 3),
    "AST increased": ("LFTs", 3, 7, 4),
    "Hypertension": ("Hypertension", 3, 14, 5),
    "Pneumonitis": ("Pneumonitis", 1.5, 1.5, 5),
    "Blood bilirubin increased": ("LFTs", 1, 2, 4),
    "Hair color changes": ("Hair depigmentation", 0.5, 6, 1),
}
AE_GRADE_WEIGHTS = (0.50, 0.32, 0.14, 0.035, 0.005)
AE_BASE_RATE, AE_RATE_PER_MONTH, AE_EXPOSURE_CAP_MONTHS, AE_PAZOPANIB_FACTOR = 1.2, 0.12, 24.0, 1.5


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #
def study_label(n_patients: int) -> str:
    """Short size label: 1000 -> "1k", 100000 -> "100k", 1000000 -> "1m", 2500 -> "2500"."""
    for divisor, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n_patients >= divisor and n_patients % divisor == 0:
            return f"{n_patients // divisor}{suffix}"
    return str(n_patients)


def _source_text(seed: int) -> str:
    return f"simulated by data/simulate.py (seed {seed}); not real patients"


def _normalised(weights) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """Category codes 0..k-1 drawn with the given weights."""
    return rng.choice(len(weights), size=n, p=_normalised(weights))


def _choice_by_row(rng: np.random.Generator, row_codes: np.ndarray, weight_matrix: np.ndarray) -> np.ndarray:
    """One category per element, with probabilities ``weight_matrix[row_codes[i]]`` (inverse CDF)."""
    cumulative = np.cumsum(weight_matrix / weight_matrix.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(row_codes.size)
    codes = np.zeros(row_codes.size, dtype=np.intp)
    for column in range(weight_matrix.shape[1] - 1):  # loop over categories, not patients
        codes += u >= cumulative[row_codes, column]
    return codes


def _int32(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    mask = np.zeros(values.shape, dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype(np.int32), mask)


def _boolean(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    mask = np.zeros(values.shape, dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & ~mask, mask)


def _text(labels, codes: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Object array of ``labels[codes]`` (None where ``missing``), as DuckDB returns text."""
    table = np.asarray(list(labels) + [None], dtype=object)
    if missing is not None:
        codes = np.where(missing, len(table) - 1, codes)
    return table[codes]


def _patient_ids(n: int) -> np.ndarray:
    width = max(7, len(str(n)))
    numbers = np.arange(1, n + 1).astype(str)
    if hasattr(np, "strings"):  # numpy >= 2: vectorised string ufuncs
        padded = np.strings.add("SIM-", np.strings.zfill(numbers, width))
    else:  # pragma: no cover - numpy 1.x
        padded = np.char.add("SIM-", np.char.zfill(numbers, width))
    return padded.astype(object)


def _read_mappings() -> tuple[pd.DataFrame, dict[str, str]]:
    glossary = pd.read_csv(SOURCES_DIR / "histology_glossary.csv", dtype=str, keep_default_na=False)
    glossary = glossary.set_index("histology_code")
    missing = set(HISTOLOGY_WEIGHTS) - set(glossary.index)
    if missing:
        raise RuntimeError(f"histology codes not in histology_glossary.csv: {sorted(missing)}")
    groups = set(glossary.loc[list(HISTOLOGY_WEIGHTS), "histology_group"])
    if groups != set(HISTOLOGY_GROUP_HAZARD_RATIOS):
        raise RuntimeError(f"HISTOLOGY_GROUP_HAZARD_RATIOS must cover exactly the groups {sorted(groups)}")
    sites = pd.read_csv(SOURCES_DIR / "primary_site_groups.csv", dtype=str, keep_default_na=False)
    site_group = dict(zip(sites["primary_site"], sites["primary_site_group"]))
    for group, weights in SITE_WEIGHTS.items():
        wrong = [site for site in weights if site_group.get(site) != group]
        if wrong:
            raise RuntimeError(f"sites {wrong} are not mapped to {group!r} in primary_site_groups.csv")
    return glossary, site_group


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #
def study_record(patients: pd.DataFrame) -> pd.DataFrame:
    """The ``studies`` row of a simulated cohort.

    Parameters
    ----------
    patients : pandas.DataFrame
        The ``patients`` table returned by :func:`simulate_cohort`.

    Returns
    -------
    pandas.DataFrame
        One row with the columns of the ``studies`` table (``n_treated`` and
        ``n_evaluable`` counted from `patients`, ``source`` naming the seed
        as the patients' rows do).
    """
    study_ids = patients["study_id"].unique()
    if len(study_ids) != 1 or not str(study_ids[0]).startswith("simulated_"):
        raise ValueError(f"expected one simulated study, got {list(study_ids)[:5]}")
    n_patients = len(patients)
    return pd.DataFrame([{
        "study_id": str(study_ids[0]),
        "seed_file": "none: simulated by data/simulate.py",
        "title_as_given": f"SIMULATED registry cohort of {n_patients} patients (not real patients)",
        "short_label": None,  # sarcoma_app.text.study_label names simulated studies by rule
        "regimen": "Simulated systemic therapy, with or without pazopanib (not a real regimen)",
        "dose_schedule": "Simulated 3-weekly cycles",
        "treatment_period": None,
        "follow_up": f"Simulated: accrual over {ACCRUAL_MONTHS:g} months, data cut at {DATA_CUT_MONTHS:g} months",
        "centre": None,
        "design": "Simulation for scale testing (see data/simulate.py for the model and its true effects)",
        "response_criteria": f"Simulated RECIST 1.1, first assessment at {FIRST_ASSESSMENT_MONTHS:g} months",
        "ae_criteria": "Simulated NCI CTCAE v5.0 grades",
        "n_treated": int(n_patients),
        "n_evaluable": int(patients["evaluable"].sum()),
        "statistics_software": None,
        "citation": None,
        "source": str(patients["source"].iloc[0]),
    }])


def simulate_cohort(n_patients: int, seed: int = DEFAULT_SEED, label: str | None = None,
                    time_decimals: int | str | None = "auto") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate a sarcoma registry cohort: patients and their adverse events.

    The model and its true effects are described in the module docstring and
    held by the module constants (e.g. :data:`PAZOPANIB_HAZARD_RATIO`).

    Parameters
    ----------
    n_patients : int
        Number of patients (>= 1). 1,000,000 takes a few seconds.
    seed : int, default 20261121
        Seed of :func:`numpy.random.default_rng`; the same seed and size give
        identical tables. Independent streams (``SeedSequence.spawn``) are used
        for baseline, outcome, response and AE draws.
    label : str, optional
        Study label: ``study_id`` is ``f"simulated_{label}"``. Default
        :func:`study_label` of `n_patients` (``"100k"`` for 100,000).
    time_decimals : int, "auto" or None, default "auto"
        PFS times are rounded up to this many decimals of a month. "auto"
        uses ``max(2, ceil(log10(n_patients)) + 1)`` decimals, which keeps
        about 95% or more of the times distinct at any size (4 decimals for
        1,000 patients, 6 for 100,000); 2 decimals, as in the papers, give
        64% distinct times at 1,000 patients and 2% at 100,000 (heavy ties,
        like real dates). None: full precision.

    Returns
    -------
    patients : pandas.DataFrame
        One row per patient with the columns of the ``patients`` table
        (:data:`PATIENT_COLUMNS`) and the dtypes DuckDB gives them (text as
        object, integers as nullable ``Int32``, ``pazopanib`` and ``died`` as
        nullable ``boolean``, ``evaluable`` as ``bool``, ``pfs_months``
        float64). ``patient_id`` is ``SIM-0000001``... and every ``source``
        says the row is simulated.
    adverse_events : pandas.DataFrame
        One row per AE with the columns of the ``adverse_events`` table
        (:data:`AE_COLUMNS`), in patient order; per patient as many rows as
        ``n_adverse_events`` and a highest grade equal to ``worst_ae_grade``.

    Raises
    ------
    ValueError
        If `n_patients` is not a positive integer or `seed` not a
        non-negative integer.

    Examples
    --------
    >>> patients, events = simulate_cohort(1000)
    >>> patients["study_id"].iloc[0], len(patients)
    ('simulated_1k', 1000)
    >>> int(patients["n_adverse_events"].sum()) == len(events)
    True
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, got {n_patients!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (the data must be reproducible), got {seed!r}")
    n = int(n_patients)
    label = study_label(n) if label is None else str(label)
    glossary, site_group_of = _read_mappings()
    baseline_rng, outcome_rng, response_rng, ae_rng, survival_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))

    # --- baseline characteristics ---------------------------------------------------------
    codes = list(HISTOLOGY_WEIGHTS)
    histology_code = _choice(baseline_rng, n, list(HISTOLOGY_WEIGHTS.values()))
    group_names = list(HISTOLOGY_GROUP_HAZARD_RATIOS)
    group_of_code = np.array([group_names.index(glossary.loc[c, "histology_group"]) for c in codes])
    histology_group = group_of_code[histology_code]

    site_group_matrix = np.array([SITE_GROUP_WEIGHTS.get(g, SITE_GROUP_WEIGHTS["default"]) for g in group_names])
    site_group = _choice_by_row(baseline_rng, histology_group, site_group_matrix)
    site_names = [site for group in SITE_GROUPS for site in SITE_WEIGHTS[group]]
    site_matrix = np.array([[SITE_WEIGHTS[group].get(site, 0.0) for site in site_names] for group in SITE_GROUPS])
    site = _choice_by_row(baseline_rng, site_group, site_matrix)
    female_only = np.isin(site, [site_names.index("Uterus"), site_names.index("Vulva")])
    p_female = np.where(histology_group == group_names.index("Leiomyosarcoma"), 0.70, 0.45)
    female = female_only | (baseline_rng.random(n) < p_female)

    young = np.isin(histology_group, [group_names.index(g) for g in YOUNG_HISTOLOGY_GROUPS]) | \
        np.isin(histology_code, [codes.index(c) for c in YOUNG_HISTOLOGY_CODES])
    age = np.clip(np.rint(np.where(young, 30.0, 55.0) + np.where(young, 12.0, 14.0) * baseline_rng.standard_normal(n)),
                  12, 90).astype(np.int32)
    age_missing = baseline_rng.random(n) < P_AGE_UNKNOWN
    stage_iv = baseline_rng.random(n) < P_STAGE_IV
    metastatic = _choice(baseline_rng, n, list(METASTATIC_SITES.values()))
    ecog = _choice(baseline_rng, n, ECOG_WEIGHTS)
    prior_lines = _choice(baseline_rng, n, PRIOR_LINE_WEIGHTS)
    pazopanib = baseline_rng.random(n) < P_PAZOPANIB
    pazopanib_hidden = baseline_rng.random(n) < P_PAZOPANIB_UNKNOWN
    not_evaluable = baseline_rng.random(n) < P_NOT_EVALUABLE
    reason_names = list(NOT_EVALUABLE_REASONS)
    reason = _choice(baseline_rng, n, [v[0] for v in NOT_EVALUABLE_REASONS.values()])

    # --- progression-free survival --------------------------------------------------------
    group_log_hr = np.log(np.array([HISTOLOGY_GROUP_HAZARD_RATIOS[g] for g in group_names]))
    linear_predictor = (group_log_hr[histology_group] + math.log(PAZOPANIB_HAZARD_RATIO) * pazopanib
                        + math.log(ECOG_HAZARD_RATIO_PER_POINT) * ecog
                        + math.log(PRIOR_LINE_HAZARD_RATIO) * prior_lines)
    weibull_scale = BASELINE_MEDIAN_PFS_MONTHS / math.log(2) ** (1 / WEIBULL_SHAPE)
    # S(t | x) = exp(-(t / scale)^shape exp(lp))  =>  T = scale (E exp(-lp))^(1 / shape), E ~ Exp(1)
    progression = weibull_scale * (outcome_rng.standard_exponential(n) * np.exp(-linear_predictor)) ** (1 / WEIBULL_SHAPE)
    administrative = DATA_CUT_MONTHS - ACCRUAL_MONTHS * outcome_rng.random(n)
    lost = outcome_rng.standard_exponential(n) / LOSS_TO_FOLLOW_UP_RATE
    early_exit = outcome_rng.uniform(0.1, FIRST_ASSESSMENT_MONTHS - 0.1, n)
    censored_early = not_evaluable & np.array([v[1] for v in NOT_EVALUABLE_REASONS.values()])[reason]
    # an evaluable patient was followed at least to the first assessment
    lost = np.where(not_evaluable, lost, FIRST_ASSESSMENT_MONTHS + lost)
    lost = np.where(censored_early, np.minimum(lost, early_exit), lost)
    censoring = np.minimum(administrative, lost)
    event = progression <= censoring
    observed = np.minimum(progression, censoring)
    if time_decimals == "auto":
        time_decimals = max(2, math.ceil(math.log10(n)) + 1)
    if time_decimals is not None:
        factor = 10.0 ** time_decimals
        observed = np.ceil(np.round(observed * factor, 6)) / factor  # round up: no time 0
    censored_at_cut = ~event & (administrative <= lost)
    # overall survival: progression plus an exponential survival after it, same censoring
    death = progression + survival_rng.standard_exponential(n) * MEDIAN_POST_PROGRESSION_MONTHS / math.log(2)
    os_event = death <= censoring
    os_observed = np.minimum(death, censoring)
    if time_decimals is not None:
        os_observed = np.maximum(np.ceil(np.round(os_observed * factor, 6)) / factor, observed)

    # --- best response (follows the true progression time) --------------------------------
    early_progression = progression < FIRST_ASSESSMENT_MONTHS
    with np.errstate(divide="ignore"):
        logit = RESPONSE_INTERCEPT + RESPONSE_SLOPE * np.log(progression / FIRST_ASSESSMENT_MONTHS)
    responder = response_rng.random(n) < 1 / (1 + np.exp(-logit))
    complete = response_rng.random(n) < CR_SHARE_OF_RESPONDERS
    response_names = ["CR", "PR", "SD", "PD"]
    response = np.where(early_progression, 3, np.where(responder, np.where(complete, 0, 1), 2))
    assessment_of_response = 1 + (response_rng.random(n) < 0.4) + (response_rng.random(n) < 0.25)

    # cycles of a 3-weekly regimen
    cycles_last = np.maximum(1, np.ceil(observed / CYCLE_MONTHS - 1e-9)).astype(np.int32)
    cycles_to_response = np.minimum(3 * np.where(response == 2, 1, assessment_of_response), cycles_last)

    # --- adverse events --------------------------------------------------------------------
    exposure = np.minimum(observed, AE_EXPOSURE_CAP_MONTHS)
    ae_mean = (AE_BASE_RATE + AE_RATE_PER_MONTH * exposure) * np.where(pazopanib, AE_PAZOPANIB_FACTOR, 1.0)
    n_events = ae_rng.poisson(ae_mean)
    ae_patient = np.repeat(np.arange(n), n_events)
    term_names = list(AE_TERMS)
    term_matrix = np.array([[v[1] for v in AE_TERMS.values()], [v[2] for v in AE_TERMS.values()]], dtype=float)
    term = _choice_by_row(ae_rng, pazopanib[ae_patient].astype(np.intp), term_matrix)
    max_grade = np.array([v[3] for v in AE_TERMS.values()])
    grade = np.minimum(1 + _choice(ae_rng, ae_patient.size, AE_GRADE_WEIGHTS), max_grade[term])
    grade = np.where((grade == 5) & ~event[ae_patient], 4, grade)  # fatal only when PFS ends in an event
    worst = np.zeros(n, dtype=np.int64)
    has_events = n_events > 0
    if ae_patient.size:  # AE rows are in patient order: highest grade per run of rows
        starts = np.concatenate(([0], np.cumsum(n_events)[:-1]))[has_events]
        worst[has_events] = np.maximum.reduceat(grade, starts)
    died = worst == 5

    # --- assemble --------------------------------------------------------------------------
    source = _source_text(seed)
    study_id = f"simulated_{label}"
    patient_ids = _patient_ids(n)
    histology_names = [glossary.loc[c, "histology"] for c in codes]
    response_missing = not_evaluable
    label_codes = np.where(response_missing, 4, response) * len(codes) + histology_code
    label_table = [f"Simulated: {r}, {h}" for r in response_names + ["not evaluable"] for h in histology_names]
    status = np.where(event, 0, np.where(censored_at_cut, 1, 2))  # stopped / ongoing / unknown
    reason_status = np.array([{"stopped": 0, None: 2}[v[2]] for v in NOT_EVALUABLE_REASONS.values()])
    status = np.where(not_evaluable & ~event & (reason_status[reason] == 0), 0, status)
    patients = pd.DataFrame({
        "study_id": np.full(n, study_id, dtype=object),
        "patient_id": patient_ids,
        "patient_label": _text(label_table, label_codes),
        "age": _int32(age, age_missing),
        "sex": _text(["Male", "Female"], female.astype(np.intp)),
        "histology": _text(histology_names, histology_code),
        "histology_code": _text(codes, histology_code),
        "histology_group": _text(group_names, histology_group),
        "primary_site": _text(site_names, site),
        "primary_site_group": _text([site_group_of[s] for s in site_names], site),
        "metastatic_site": _text(list(METASTATIC_SITES), metastatic, missing=~stage_iv),
        "stage": _text(["Unresectable", "IV"], stage_iv.astype(np.intp)),
        "ecog": _int32(ecog),
        "prior_lines": _int32(prior_lines),
        "pazopanib": _boolean(pazopanib, pazopanib_hidden),
        "evaluable": ~not_evaluable,
        "not_evaluable_reason": _text(reason_names, reason, missing=~not_evaluable),
        "best_response": _text(response_names, response, missing=response_missing),
        "pfs_months": observed.astype(float),
        "pfs_event": _int32(event.astype(np.int32)),
        "os_months": os_observed.astype(float),
        "os_event": _int32(os_event.astype(np.int32)),
        "n_adverse_events": _int32(n_events),
        "worst_ae_grade": _int32(worst, ~has_events),
        "cycles_to_response": _int32(cycles_to_response, response_missing | (response == 3)),
        "cycles_to_progression": _int32(cycles_last, ~event),
        "cycles_last_reported": _int32(cycles_last),
        "weeks_on_nivolumab_derived": _int32(np.zeros(n, dtype=np.int32), np.ones(n, dtype=bool)),
        "treatment_status": _text(["stopped", "ongoing"], status, missing=status == 2),
        "died": _boolean(died, ~died),
        "source": np.full(n, source, dtype=object),
        "notes": np.empty(n, dtype=object),
    }, columns=PATIENT_COLUMNS)

    adverse_events = pd.DataFrame({
        "study_id": np.full(ae_patient.size, study_id, dtype=object),
        "patient_id": patient_ids[ae_patient],
        "patient_ref": np.empty(ae_patient.size, dtype=object),
        "term": _text(term_names, term),
        "term_group": _text([v[0] for v in AE_TERMS.values()], term),
        "grade": _int32(grade),
        "source": np.full(ae_patient.size, source, dtype=object),
        "note": np.empty(ae_patient.size, dtype=object),
    }, columns=AE_COLUMNS)
    return patients, adverse_events


# --------------------------------------------------------------------------- #
# Writing files
# --------------------------------------------------------------------------- #
def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans as true/false and NULL as an empty cell, like data/sources/*.csv."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_bool_dtype(out[column]):
            text = np.where(out[column].fillna(False).to_numpy(dtype=bool), "true", "false").astype(object)
            text[out[column].isna().to_numpy()] = None
            out[column] = text
    return out


def write_cohort(patients: pd.DataFrame, adverse_events: pd.DataFrame, out_dir: Path | str,
                 file_format: str = "auto") -> list[Path]:
    """Write ``patients``, ``adverse_events`` and ``studies`` files into `out_dir`.

    Parameters
    ----------
    patients, adverse_events : pandas.DataFrame
        As returned by :func:`simulate_cohort`.
    out_dir : path
        Directory (created if needed).
    file_format : {"auto", "parquet", "csv"}, default "auto"
        "auto" writes Parquet when ``pyarrow`` is installed, else CSV.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    if file_format not in ("auto", "parquet", "csv"):
        raise ValueError(f"file_format must be 'auto', 'parquet' or 'csv', got {file_format!r}")
    if file_format == "auto":
        file_format = "parquet" if _has_pyarrow() else "csv"
    if file_format == "parquet" and not _has_pyarrow():
        raise RuntimeError("Parquet needs pyarrow (pip install pyarrow), or use --format csv")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    studies = study_record(patients)
    written = []
    for name, frame in (("patients", patients), ("adverse_events", adverse_events), ("studies", studies)):
        path = out / f"{name}.{file_format}"
        if file_format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            _csv_ready(frame).to_csv(path, index=False)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Simulate a sarcoma registry cohort (NOT real patients) for scale tests.")
    parser.add_argument("--patients", type=int, default=100_000, help="number of patients (default 100000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--label", default=None, help="study label: study_id = simulated_<label> (default from size)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--format", choices=("auto", "parquet", "csv"), default="auto",
                        help="auto = parquet if pyarrow is installed, else csv")
    parser.add_argument("--time-decimals", default="auto",
                        help="decimals of PFS months: an integer, or auto (default: mostly distinct times)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    decimals = args.time_decimals if args.time_decimals == "auto" else int(args.time_decimals)
    patients, events = simulate_cohort(args.patients, seed=args.seed, label=args.label, time_decimals=decimals)
    simulated = time.perf_counter() - start
    paths = write_cohort(patients, events, args.out, args.format)
    print(f"simulated {len(patients)} patients and {len(events)} adverse events "
          f"(study {patients['study_id'].iloc[0]}, seed {args.seed}) in {simulated:.2f} s")
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
