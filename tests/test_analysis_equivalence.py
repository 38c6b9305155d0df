"""The vectorised analyses against straightforward reference implementations.

response.py, adverse_events.py and cox.py count with integer codes
(factorised labels, bincount, blocked matrix products) so that a 100,000
patient cohort stays interactive. Each reference here is written the plain
way instead -- a boolean mask or a Python set per group and level, one
scalar :func:`proportion_ci` call per row, one sum per pair of terms -- and
the results must be identical (floats exactly, except the Cox information
matrix, summed in another order). Simulated cohorts (``data/simulate.py``)
and small hand-made tables with awkward values (missing groups, a real
"Missing" level, unused categories, messy labels, duplicate patients)
are used. No timings here: speed is measured by ``bench/run.py``.
"""

import math

import numpy as np
import pandas as pd
import pytest

from analysis import cox
from analysis.adverse_events import ANY_AE_LABEL, ANY_GRADE_LABEL, DEFAULT_GRADE_BANDS, ae_table
from analysis.multiplicity import adjust_pvalues
from analysis.response import (
    CI_METHODS,
    DENOMINATORS,
    ENDPOINTS,
    RESPONSE_CATEGORIES,
    _proportion_cis,
    fisher_test,
    normalise_best_response,
    proportion_ci,
    response_comparison,
    response_table,
    subgroup_rates,
)
from data.simulate import simulate_cohort

MISSING = "Missing"


# --------------------------------------------------------------------------
# reference implementations (one mask / set per group, scalar calls)
# --------------------------------------------------------------------------
def is_missing(value):
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def ref_normalise(values):
    out = []
    for value in values:
        if is_missing(value):
            out.append(None)
            continue
        label = str(value).strip().upper()
        if label == "NE":
            out.append(None)
        elif label in RESPONSE_CATEGORIES:
            out.append(label)
        else:
            raise ValueError(f"unknown label {value!r}")
    return out


def ref_levels(column):
    """Levels in table order and the label of each row ("Missing" for missing)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = list(column.cat.categories)
    else:
        present = [v for v in column.tolist() if not is_missing(v)]
        distinct = list(dict.fromkeys(present))
        levels = sorted(distinct, key=lambda v: (0, v, "") if isinstance(v, (int, float, np.number)) else (1, 0, str(v)))
    labels = [MISSING if is_missing(v) else v for v in column.tolist()]
    if any(is_missing(v) for v in column.tolist()):
        levels.append(MISSING)
    return levels, labels


def ref_response_table(df, group_col, response_col, denominator, method):
    responses = ref_normalise(df[response_col].tolist())
    groups = []
    if group_col is not None:
        levels, labels = ref_levels(df[group_col])
        for level in levels:
            groups.append((level, [r for r, lab in zip(responses, labels) if lab == level]))
    groups.append(("All", responses))
    rows = []
    for level, members in groups:
        counts = {cat: sum(r == cat for r in members) for cat in RESPONSE_CATEGORIES}
        n_treated = len(members)
        n_evaluable = sum(r is not None for r in members)
        used = n_treated if denominator == "all" else n_evaluable
        row = {"group": level, "n_treated": n_treated, "n_evaluable": n_evaluable,
               "n_not_evaluable": n_treated - n_evaluable, **counts, "denominator": used,
               "denominator_label": DENOMINATORS[denominator]}
        for endpoint, categories in ENDPOINTS.items():
            events = sum(counts[c] for c in categories)
            rate = lower = upper = math.nan
            if used:
                rate, lower, upper = proportion_ci(events, used, method)
            row.update({f"{endpoint}_count": events, endpoint: rate,
                        f"{endpoint}_lower": lower, f"{endpoint}_upper": upper})
        row["note"] = ("" if used else "no treated patients in this group" if n_treated == 0
                       else "no evaluable patients (all not evaluable)")
        rows.append(row)
    return pd.DataFrame(rows)


def ref_event_flags(df, response_col, endpoint, denominator):
    responses = ref_normalise(df[response_col].tolist())
    is_event = [r in ENDPOINTS[endpoint] for r in responses]
    in_denominator = [True if denominator == "all" else r is not None for r in responses]
    return is_event, in_denominator


def ref_subgroup_rates(df, columns, endpoint, denominator, method, response_col, test_missing=False):
    is_event, in_den = ref_event_flags(df, response_col, endpoint, denominator)
    rows = []
    for column in columns:
        levels, labels = ref_levels(df[column])
        # R na.omit: the level of missing values is shown, not tested, and not part of any level's rest
        untested = MISSING if (not test_missing and df[column].isna().any()) else object()
        for level in levels:
            inside = [lab == level and d for lab, d in zip(labels, in_den)]
            outside = [lab != level and lab != untested and d for lab, d in zip(labels, in_den)]
            n, k = sum(inside), sum(e for e, i in zip(is_event, inside) if i)
            n_rest, k_rest = sum(outside), sum(e for e, o in zip(is_event, outside) if o)
            row = {"subgroup": column, "level": level, "n": n, "k": k, "rate": math.nan,
                   "lower": math.nan, "upper": math.nan, "p_value": math.nan, "note": ""}
            if n == 0:
                row["note"] = "no patients in the denominator"
            elif level == untested:
                row["rate"], row["lower"], row["upper"] = proportion_ci(k, n, method)
                row["note"] = "not reported: shown, not tested (not in the adjustment)"
            else:
                row["rate"], row["lower"], row["upper"] = proportion_ci(k, n, method)
                if n_rest == 0:
                    row["note"] = "no patients outside this level to compare with"
                else:
                    row["p_value"] = fisher_test([[k, n - k], [k_rest, n_rest - k_rest]]).p_value
            rows.append(row)
    table = pd.DataFrame(rows)
    table.insert(8, "p_adjusted", adjust_pvalues(table["p_value"].to_numpy(dtype=float)))
    return table


def ref_comparison_counts(df, group_col, endpoint, denominator, response_col):
    is_event, in_den = ref_event_flags(df, response_col, endpoint, denominator)
    levels, labels = ref_levels(df[group_col])
    if MISSING in levels and df[group_col].isna().any():
        levels = [level for level in levels if level != MISSING]
    groups, events, denominators = [], [], []
    for level in levels:
        members = [lab == level and d for lab, d in zip(labels, in_den)]
        if sum(members):
            groups.append(level)
            events.append(sum(e for e, m in zip(is_event, members) if m))
            denominators.append(sum(members))
    return tuple(groups), tuple(events), tuple(denominators)


def ref_ae_table(ae, patients, group_col, bands, include_any_grade):
    population = patients.drop_duplicates(subset="patient_id")
    ids = set(population["patient_id"])
    events = [(p, "(term missing)" if is_missing(t) else t, None if is_missing(g) else int(g))
              for p, t, g in zip(ae["patient_id"], ae["term"], ae["grade"]) if p in ids]
    groups = []
    if group_col is not None:
        levels, labels = ref_levels(population[group_col])
        for level in levels:
            groups.append((level, {p for p, lab in zip(population["patient_id"], labels) if lab == level}))
    groups.append(("All", ids))
    specs = list(bands) + ([(ANY_GRADE_LABEL, None, None)] if include_any_grade else [])
    terms = {}
    for p, t, _ in events:
        terms.setdefault(t, set()).add(p)
    order = sorted(terms, key=lambda t: (-len(terms[t]), str(t)))
    rows = []
    for term in [ANY_AE_LABEL] + order:
        for label, low, high in specs:
            affected = {p for p, t, g in events
                        if (term == ANY_AE_LABEL or t == term)
                        and (low is None or (g is not None and low <= g <= high))}
            for group, members in groups:
                n, d = len(affected & members), len(members)
                rate, lower, upper = proportion_ci(n, d) if d else (math.nan,) * 3
                rows.append({"group": group, "term": term, "band": label, "n_patients": n,
                             "denominator": d, "percent": 100 * rate,
                             "percent_lower": 100 * lower, "percent_upper": 100 * upper})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[(400, 7), (3000, 20261121)], ids=["n400", "n3000"])
def cohort(request):
    n, seed = request.param
    patients, adverse_events = simulate_cohort(n, seed=seed)
    patients = patients.copy()
    patients["histology_cat"] = pd.Categorical(
        patients["histology_group"],
        categories=sorted(patients["histology_group"].dropna().unique()) + ["Unused level"])
    patients["site_missing_word"] = patients["primary_site_group"].where(np.arange(n) % 5 != 0, MISSING)
    patients.loc[patients.index[::9], "site_missing_word"] = None
    patients["age_float"] = patients["age"].astype("float64")
    messy = patients["best_response"].map(lambda v: v if v is None else f" {v.lower()} ")
    messy.iloc[::13] = "ne"
    patients["response_messy"] = messy
    return patients, adverse_events


GROUPINGS = [None, "histology_group", "histology_cat", "pazopanib", "ecog", "sex",
             "site_missing_word", "age_float"]


def small_table():
    nan = float("nan")
    patients = pd.DataFrame({
        "patient_id": ["a", "b", "c", "d", "e", "b", "f", "g"],
        "group": ["x", None, MISSING, "y", "x", "y", nan, "y"],
        "number": [1, 2, np.nan, 1.0, 2, 3, 1, 3],
        "flag": pd.array([True, None, False, True, False, True, None, False], dtype="boolean"),
        "best_response": ["cr", " PR", "NE", None, "sd ", "pd", nan, "PR"],
    })
    patients["group_cat"] = pd.Categorical(patients["group"], categories=["y", MISSING, "x", "z"])
    ae = pd.DataFrame({
        "patient_id": ["a", "a", "b", "c", "zz", "e", "e", "f", "d", "g"],
        "term": ["Rash", "Rash", None, "Nausea", "Rash", "(term missing)", "Fatigue", "Fatigue", "Fatigue", "Rash"],
        "grade": pd.array([1, 3, None, 2, 5, 4, 5, 1, 2, None], dtype="Int64"),
    })
    return patients, ae


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------
def assert_same(actual, expected):
    pd.testing.assert_frame_equal(actual.reset_index(drop=True), expected, check_dtype=False,
                                  check_exact=True)


@pytest.mark.parametrize("response_col", ["best_response", "response_messy"])
def test_normalise_best_response_matches_reference(cohort, response_col):
    patients, _ = cohort
    result = normalise_best_response(patients[response_col])
    assert result.tolist() == ref_normalise(patients[response_col].tolist())
    assert result.index.equals(patients.index) and result.dtype == object


def test_normalise_best_response_names_unknown_labels_in_order():
    with pytest.raises(ValueError, match=r"\['iCR', 3\]"):
        normalise_best_response(["CR", "iCR", None, 3, "iCR", "pr"])
    categorical = pd.Series(pd.Categorical(["CR", "PR"], categories=["CR", "PR", "weird"]))
    assert normalise_best_response(categorical).tolist() == ["CR", "PR"]  # unused category ignored


@pytest.mark.parametrize("group_col", GROUPINGS)
@pytest.mark.parametrize("denominator, method", [("all", "clopper-pearson"), ("evaluable", "wilson")])
def test_response_table_matches_reference(cohort, group_col, denominator, method):
    patients, _ = cohort
    for response_col in ("best_response", "response_messy"):
        result = response_table(patients, group_col, response_col=response_col,
                                denominator=denominator, method=method)
        assert_same(result, ref_response_table(patients, group_col, response_col, denominator, method))


@pytest.mark.parametrize("endpoint, denominator, method",
                         [("orr", "all", "clopper-pearson"), ("dcr", "evaluable", "jeffreys")])
@pytest.mark.parametrize("test_missing", [False, True])
def test_subgroup_rates_matches_reference(cohort, endpoint, denominator, method, test_missing):
    patients, _ = cohort
    columns = [c for c in GROUPINGS if c is not None]
    result = subgroup_rates(patients, columns, endpoint=endpoint, denominator=denominator, method=method,
                            test_missing=test_missing)
    assert_same(result, ref_subgroup_rates(patients, columns, endpoint, denominator, method, "best_response",
                                           test_missing))


@pytest.mark.parametrize("group_col", ["pazopanib", "sex", "site_missing_word", "histology_cat"])
def test_response_comparison_counts_match_reference(cohort, group_col):
    patients, _ = cohort
    for endpoint, denominator in [("orr", "all"), ("dcr", "evaluable")]:
        if group_col == "histology_cat" and len(patients) > 1000:
            continue  # the r x 2 exact test is slow at this size; the counts are the same code
        result = response_comparison(patients, group_col, endpoint=endpoint, denominator=denominator)
        groups, events, denominators = ref_comparison_counts(patients, group_col, endpoint, denominator,
                                                             "best_response")
        assert (result.groups, result.events, result.denominators) == (groups, events, denominators)
        if len(groups) == 2:
            table = [[events[0], denominators[0] - events[0]], [events[1], denominators[1] - events[1]]]
            assert result.p_value == fisher_test(table).p_value


@pytest.mark.parametrize("group_col, bands, include_any", [
    ("pazopanib", DEFAULT_GRADE_BANDS, True),
    (None, DEFAULT_GRADE_BANDS, True),
    ("histology_cat", (("low", 1, 3), ("high", 2, 5)), True),
    ("site_missing_word", (("3+", 3, 5),), False),
])
def test_ae_table_matches_reference(cohort, group_col, bands, include_any):
    patients, adverse_events = cohort
    events = adverse_events.copy()
    events.loc[events.index[::11], "grade"] = pd.NA
    events.loc[events.index[::17], "term"] = None
    # half the cohort (the other half's AEs are ignored); a patient listed twice counts once
    population = pd.concat([patients.iloc[: len(patients) // 2], patients.iloc[:20]])
    result = ae_table(events, population, group_col=group_col, grade_bands=bands,
                      include_any_grade=include_any)
    expected = ref_ae_table(events, population, group_col, bands, include_any)
    assert_same(result, expected)


def test_small_awkward_table_matches_reference():
    patients, ae = small_table()
    for group_col in [None, "group", "group_cat", "number", "flag"]:
        for denominator in DENOMINATORS:
            assert_same(response_table(patients, group_col, denominator=denominator),
                        ref_response_table(patients, group_col, "best_response", denominator,
                                           "clopper-pearson"))
        for bands, include_any in [(DEFAULT_GRADE_BANDS, True), ((("any", 1, 5),), False)]:
            assert_same(ae_table(ae, patients, group_col=group_col, grade_bands=bands,
                                 include_any_grade=include_any),
                        ref_ae_table(ae, patients, group_col, bands, include_any))
    columns = ["group", "group_cat", "number", "flag"]
    assert_same(subgroup_rates(patients, columns, endpoint="dcr"),
                ref_subgroup_rates(patients, columns, "dcr", "all", "clopper-pearson", "best_response"))
    for group_col in columns:
        result = response_comparison(patients, group_col, endpoint="dcr", denominator="evaluable")
        assert (result.groups, result.events, result.denominators) == ref_comparison_counts(
            patients, group_col, "dcr", "evaluable", "best_response")


@pytest.mark.parametrize("method", CI_METHODS)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_vectorised_intervals_equal_scalar_ones(method, alpha):
    rng = np.random.default_rng(3)
    n = np.r_[np.repeat(np.arange(1, 60), 2), rng.integers(1, 2_000_000, 200)]
    k = np.array([rng.integers(0, m + 1) for m in n])
    k[:20], k[20:40] = 0, n[20:40]
    intervals = _proportion_cis(k, n, method, alpha)
    for pair in zip(k.tolist(), n.tolist()):
        assert intervals[pair] == pytest.approx(proportion_ci(*pair, method, alpha), rel=0, abs=0)


def test_cox_information_matches_pairwise_sums():
    rng = np.random.default_rng(11)
    for p, n in [(1, 20_000), (3, 9_000), (15, 50_000), (40, 3_000)]:
        a, b = rng.standard_normal((p, n)), rng.standard_normal((p, n))
        risk_sets = cox._RiskSets.__new__(cox._RiskSets)
        risk_sets.p = p
        risk_sets.upper_i, risk_sets.upper_j = np.triu_indices(p)
        product = risk_sets._cross(a * 0.5 + b, b)  # any pair: only the upper triangle is computed
        upper = {(i, j): math.fsum((a[i] * 0.5 + b[i]) * b[j]) for i, j in zip(*np.triu_indices(p))}
        expected = np.array([[upper[min(i, j), max(i, j)] for j in range(p)] for i in range(p)])
        np.testing.assert_allclose(product, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
        assert np.array_equal(product, product.T)


def ref_extremes(x, deaths, risk_start):
    at_max, at_min = [], []
    for column in x.T:
        highest = all(column[d] == column[s:].max() for d, s in zip(deaths, risk_start))
        lowest = all(column[d] == column[s:].min() for d, s in zip(deaths, risk_start))
        varies = any(column[s:].max() > column[s:].min() for s in risk_start)
        at_max.append(highest and varies)
        at_min.append(lowest and varies)
    return np.array(at_max), np.array(at_min)


@pytest.mark.parametrize("seed", range(6))
def test_risk_set_extremes_match_reference(seed):
    rng = np.random.default_rng(seed)
    n = 400
    time = np.sort(rng.integers(0, 120, n)).astype(float)
    event = rng.random(n) < 0.6
    deaths = np.flatnonzero(event)
    risk_start = np.searchsorted(time, time[deaths], side="left")
    earliest = -time  # every death has the highest value of its risk set
    late = earliest.copy()
    late[deaths[-5]] = -1000.0  # extreme for the first deaths only: passes the screen, fails later
    columns = [rng.integers(0, 2, n).astype(float), earliest, time, late, -late, np.arange(n, 0, -1.0),
               np.where(event, 1.0, 0.0), np.ones(n), rng.standard_normal(n)]
    x = np.column_stack(columns)
    expected = ref_extremes(x, deaths, risk_start)
    for n_screen in (1, 3, 64, 10_000):
        result = cox._at_risk_set_extremes(x, deaths, risk_start, n_screen=n_screen)
        assert np.array_equal(result[0], expected[0]) and np.array_equal(result[1], expected[1])


def test_cox_fit_with_blocked_information_matches_pairwise_version(monkeypatch):
    patients, _ = simulate_cohort(3000, seed=5)
    data = patients[patients["pfs_months"].notna() & patients["pfs_event"].notna()].copy()
    data["pfs_months"] = data["pfs_months"].astype(float)
    data["pfs_event"] = data["pfs_event"].astype(int)
    data["pfs_rounded"] = np.ceil(data["pfs_months"] * 2) / 2  # heavy ties: Efron blocks
    covariates = ["histology_group", "pazopanib", "ecog", "prior_lines", "age", "sex"]
    fits = {}
    for version in ("blocked", "pairwise"):
        if version == "pairwise":
            def pairwise(self, a, b):
                upper = [(a[i] * b[j]).sum() for i, j in zip(self.upper_i, self.upper_j)]
                product = np.empty((self.p, self.p))
                product[self.upper_i, self.upper_j] = upper
                product[self.upper_j, self.upper_i] = upper
                return product
            monkeypatch.setattr(cox._RiskSets, "_cross", pairwise)
        fits[version] = [cox.fit_cox(data, duration, "pfs_event", covariates, ties=ties)
                         for duration, ties in [("pfs_months", "efron"), ("pfs_rounded", "efron"),
                                                ("pfs_rounded", "breslow")]]
    for blocked, pairwise in zip(fits["blocked"], fits["pairwise"]):
        pd.testing.assert_frame_equal(blocked, pairwise, rtol=1e-9, atol=1e-12)
        assert blocked.attrs["iterations"] == pairwise.attrs["iterations"]
        np.testing.assert_allclose(blocked.attrs["loglik"], pairwise.attrs["loglik"], rtol=1e-12)
