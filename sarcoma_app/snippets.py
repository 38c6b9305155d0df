"""Reproducible code for every view: short Python (and R) snippets that recompute its table (pure, no streamlit).

Each function returns a :class:`Snippet` parameterised by the view's choices
(grouping, denominator, CI method, conf type, landmarks, ties, covariates).
The Python reads the CSV of the filtered patients the app offers next to the
code and calls the analysis API of README.md; the R calls ``survival``
(``survfit`` / ``survdiff`` / ``coxph``) on the same CSV for the survival
and Cox views. The snippets are executed by the tests and compared with the
app's numbers (``tests/test_snippets.py``).

Only constants of this module and values from the app's whitelists
(grouping names, method names, covariate keys, numbers) are put into the
code. Data text never becomes code: a data value that must appear as a
value (the reference level of a factor) is a string literal
(:func:`py_string`, :func:`r_string`), and one that appears in a comment
(a view's title holding a histology) goes through :func:`comment`, which
keeps it on the comment's line. Lines are kept short enough to read
without scrolling.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sarcoma_app.text import STUDY_LABELS, one_line
from sarcoma_app.url_state import CI_METHODS, CONF_TYPES, COX_TERMS, DENOMINATORS, ENDPOINTS, GROUPINGS, TIES

PATIENTS_CSV = "filtered_patients.csv"
ALL_PATIENTS_CSV = "all_patients.csv"
PUBLISHED_CSV = "published_results.csv"
STUDIES_CSV = "studies.csv"
VALUE_SOURCES_CSV = "patient_value_sources.csv"
RUN_NOTE = ("# Run from the root of the project repository (pip install -r requirements.txt),\n"
            "# with the CSV saved there.")
LINE_WIDTH = 88

#: grouping -> Python setting ``patients["group"]`` exactly as the app labels groups.
_PY_GROUP = {
    "none": 'patients["group"] = "All patients"',
    "study": 'study_labels = {study_labels}\npatients["group"] = patients["study_id"].replace(study_labels)',
    "histology_group": 'patients["group"] = patients["histology_group"].fillna("not reported")',
    "histology": 'patients["group"] = patients["histology"].fillna("not reported")',
    "pazopanib": ('on_pazopanib = {True: "on pazopanib", False: "no pazopanib"}\n'
                  'patients["group"] = patients["pazopanib"].map(on_pazopanib).fillna("not reported")'),
    "best_response": 'patients["group"] = patients["best_response"].fillna("NE")',
    "ecog": ('patients["group"] = patients["ecog"].map(lambda v: f"ECOG {v:g}", na_action="ignore")\n'
             'patients["group"] = patients["group"].fillna("not reported")'),
    "primary_site": 'patients["group"] = patients["primary_site_group"].fillna("not reported")',
    "prior_lines": ('patients["group"] = patients["prior_lines"].map(\n'
                    '    lambda v: f"{v:g} prior line" + ("" if v == 1 else "s"), na_action="ignore")\n'
                    'patients["group"] = patients["group"].fillna("not reported")'),
}
#: grouping -> R setting ``patients$group`` the same way.
_R_GROUP = {
    "study": ("study_labels <- c({study_labels})\n"
              "patients$group <- ifelse(is.na(study_labels[patients$study_id]), patients$study_id,\n"
              "                         study_labels[patients$study_id])"),
    "histology_group": ('patients$group <- ifelse(is.na(patients$histology_group), "not reported",\n'
                        '                         patients$histology_group)'),
    "histology": 'patients$group <- ifelse(is.na(patients$histology), "not reported", patients$histology)',
    "pazopanib": ('patients$group <- ifelse(is.na(patients$pazopanib), "not reported",\n'
                  '                         ifelse(patients$pazopanib, "on pazopanib", "no pazopanib"))'),
    "best_response": 'patients$group <- ifelse(is.na(patients$best_response), "NE", patients$best_response)',
    "ecog": 'patients$group <- ifelse(is.na(patients$ecog), "not reported", paste("ECOG", patients$ecog))',
    "primary_site": ('patients$group <- ifelse(is.na(patients$primary_site_group), "not reported",\n'
                     '                         patients$primary_site_group)'),
    "prior_lines": ('patients$group <- ifelse(is.na(patients$prior_lines), "not reported",\n'
                    '                         paste0(patients$prior_lines, " prior line",\n'
                    '                                ifelse(patients$prior_lines == 1, "", "s")))'),
}
#: Cox covariate key -> Python adding the column to ``data`` (as sarcoma_app.covariates builds it).
_PY_COVARIATE = {
    "angiosarcoma": ('# angiosarcoma vs all other subtypes (missing where the histology is not reported)\n'
                     'group = patients["histology_group"]\n'
                     'data["angiosarcoma"] = group.eq("Angiosarcoma").astype("boolean").mask(group.isna())'),
    "histology_group": ('# histology group: one HR per group vs the reference (the most frequent group)\n'
                        'reference = {reference}\n'
                        'data["histology_group"] = with_reference(patients["histology_group"], reference)'),
    "primary_site": ('# primary site as published: one HR per site vs the reference (the most frequent site)\n'
                     'reference = {reference}\n'
                     'data["primary_site"] = with_reference(patients["primary_site"], reference)'),
    "head_neck_primary": ('# head and neck primary vs other sites\n'
                          'site = patients["primary_site_group"]\n'
                          'data["head_neck_primary"] = site.eq("Head and neck").astype("boolean").mask(site.isna())'),
    "ecog": ('# ECOG 1 or more vs 0\n'
             'data["ecog"] = patients["ecog"].ge(1).astype("boolean").mask(patients["ecog"].isna())'),
    "prior_lines": ('# prior lines of chemotherapy, per line\n'
                    'data["prior_lines"] = patients["prior_lines"].astype(float)'),
}
_R_COVARIATE = {
    "angiosarcoma": 'data$angiosarcoma <- patients$histology_group == "Angiosarcoma"',
    "histology_group": ('data$histology_group <- relevel(factor(patients$histology_group),\n'
                        '                                ref = {reference})'),
    "primary_site": 'data$primary_site <- relevel(factor(patients$primary_site), ref = {reference})',
    "head_neck_primary": 'data$head_neck_primary <- patients$primary_site_group == "Head and neck"',
    "ecog": 'data$ecog <- patients$ecog >= 1  # ECOG 1 or more vs 0',
    "prior_lines": 'data$prior_lines <- as.numeric(patients$prior_lines)  # per line',
}
_FACTORS = ("histology_group", "primary_site")
_WITH_REFERENCE = '''

def with_reference(values, reference):
    """Factor whose first level (the Cox reference) is `reference`; the other
    levels by frequency, as the app orders them."""
    counts = values.dropna().astype(str).value_counts()
    others = sorted(set(counts.index) - {reference}, key=lambda v: (-counts[v], v))
    return pd.Categorical(values, categories=[reference] + others)
'''


@dataclass(frozen=True)
class Snippet:
    """Code recomputing a view.

    Attributes
    ----------
    python : str
        Self-contained Python (pandas + the analysis API).
    r : str or None
        The equivalent R ``survival`` call, for survival and Cox views.
    data_files : tuple of str
        CSV files the code reads (offered for download beside it).
    """

    python: str
    r: str | None = None
    data_files: tuple[str, ...] = (PATIENTS_CSV,)


def _check(value: str, allowed, name: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}")
    return value


#: Longest data text kept in a code comment.
COMMENT_LIMIT = 120


def comment(text: object) -> str:
    """Text for one ``#`` comment line of a Python or R snippet (the one helper for "text into code comments").

    Line breaks (every kind :meth:`str.splitlines` knows) and control
    characters become spaces, so nothing after them can leave the comment
    and run as code; long text is cut to :data:`COMMENT_LIMIT` characters.

    Examples
    --------
    >>> comment("Leiomyosarcoma" + chr(10) + "import os")
    'Leiomyosarcoma import os'
    """
    return one_line(text, COMMENT_LIMIT)


def py_string(text: object) -> str:
    """A Python string literal of ``text`` (JSON escaping: quotes, backslashes and line breaks escaped)."""
    return json.dumps(str(text), ensure_ascii=False)


def r_string(text: object) -> str:
    """An R string literal (the JSON escaping of :func:`py_string` is valid R too)."""
    return py_string(text)


def _number_list(values) -> str:
    return ", ".join(f"{float(v):g}" for v in values)


def _wrapped(prefix: str, items: list[str], suffix: str, open_: str = "[", close: str = "]") -> str:
    """``prefix[item, item, ...]suffix`` broken into lines of at most LINE_WIDTH characters."""
    lines, current = [], prefix + open_
    indent = " " * len(current)
    for index, item in enumerate(items):
        piece = item + (", " if index < len(items) - 1 else close + suffix)
        if len(current) + len(piece.rstrip()) > LINE_WIDTH and current.strip() not in (prefix + open_).strip():
            lines.append(current.rstrip())
            current = indent
        current += piece
    if not items:
        current += close + suffix
    lines.append(current)
    return "\n".join(lines)


def _py_list(prefix: str, values, suffix: str = "") -> str:
    return _wrapped(prefix, [py_string(v) for v in values], suffix)


def _r_vector(prefix: str, values, suffix: str = "") -> str:
    return _wrapped(prefix, [r_string(v) for v in values], suffix, "c(", ")")


def _py_group(grouping: str, target: str = "group") -> str:
    code = _PY_GROUP[_check(grouping, GROUPINGS, "grouping")]
    code = code.replace("{study_labels}", json.dumps(STUDY_LABELS, indent=4, ensure_ascii=False))
    return code.replace('patients["group"]', f'patients["{target}"]')


def _r_group(grouping: str) -> str:
    labels = ",\n                  ".join(f"{r_string(key)} = {r_string(value)}" for key, value in STUDY_LABELS.items())
    return _R_GROUP[_check(grouping, GROUPINGS, "grouping")].replace("{study_labels}", labels)


def _py_read(csv_path: str, imports: str, title: str) -> str:
    return (f"# {comment(title)}\n{RUN_NOTE}\nimport pandas as pd\n{imports}\n\n"
            "# the patients of the view, as exported by the app\n"
            f"patients = pd.read_csv({json.dumps(csv_path)}, encoding=\"utf-8-sig\")\n")


def _r_read(csv_path: str, title: str) -> str:
    return (f"# {comment(title)}\n# R with the survival package, the CSV in the working directory.\nlibrary(survival)\n"
            f"patients <- read.csv({r_string(csv_path)}, fileEncoding = \"UTF-8-BOM\",\n"
            "                     na.strings = c(\"\", \"NA\"))\n")


def _py_pfs() -> str:
    return ("# per-patient PFS is published for some studies only\n"
            'patients = patients.dropna(subset=["pfs_months", "pfs_event"])\n')


# --------------------------------------------------------------------------- #
# Response
# --------------------------------------------------------------------------- #
def response_counts(csv_path: str = PATIENTS_CSV) -> Snippet:
    """Best response per study and histology (the bar chart's counts)."""
    code = _py_read(csv_path, "", "Best response (RECIST 1.1) by study and histology") + (
        'patients["response"] = patients["best_response"].fillna("NE")  # NE = not evaluable\n'
        'patients["histology"] = patients["histology"].fillna("Histology not reported")\n'
        'by = ["study_id", "histology", "response"]\n'
        "counts = patients.groupby(by).size().unstack(fill_value=0)\n"
        "print(counts)\n")
    return Snippet(code)


def response_rates(grouping: str, denominator: str, ci: str, csv_path: str = PATIENTS_CSV) -> Snippet:
    """ORR and DCR with CIs by ``grouping`` (the page's ORR/DCR table)."""
    _check(denominator, DENOMINATORS, "denominator")
    _check(ci, CI_METHODS, "CI method")
    group_col = "None" if grouping == "none" else '"group"'
    columns = ["group", "n_treated", "n_evaluable", "CR", "PR", "SD", "PD", "denominator", "orr_count", "orr",
               "orr_lower", "orr_upper", "dcr_count", "dcr", "dcr_lower", "dcr_upper"]
    code = _py_read(csv_path, "from analysis.response import response_table", "ORR and DCR with 95% CIs") + (
        f"{_py_group(grouping)}\n\n"
        f"table = response_table(patients, group_col={group_col}, denominator={json.dumps(denominator)},\n"
        f"                       method={json.dumps(ci)})\n"
        "# ORR = (CR + PR) / denominator, DCR = (CR + PR + SD) / denominator (0-1 scale)\n"
        f"{_py_list('columns = ', columns)}\n"
        "print(table[columns].to_string(index=False))\n")
    return Snippet(code)


def fisher_tests(grouping: str, denominator: str, csv_path: str = PATIENTS_CSV) -> Snippet:
    """Fisher's exact test of ORR and DCR between the groups."""
    _check(denominator, DENOMINATORS, "denominator")
    code = _py_read(csv_path, "from analysis.response import response_comparison",
                    "Fisher's exact test of ORR and DCR between groups") + (
        f"{_py_group(grouping)}\n\n"
        "results = {}\n"
        f"for endpoint in {json.dumps(list(ENDPOINTS))}:\n"
        "    result = response_comparison(patients, \"group\", endpoint=endpoint,\n"
        f"                                 denominator={json.dumps(denominator)})\n"
        "    results[endpoint] = result\n"
        "    print(endpoint, result.test, \"p =\", result.p_value, \"odds ratio =\", result.odds_ratio)\n"
        "    print(dict(zip(result.groups, zip(result.events, result.denominators))))\n")
    return Snippet(code)


#: Subgroup variables of the Response page's forest plot, in its order.
FOREST_SUBGROUPS = ("study", "histology_group", "pazopanib", "ecog", "primary_site", "prior_lines")


def subgroup_forest(endpoint: str, denominator: str, ci: str, p_adjust: str, csv_path: str = PATIENTS_CSV) -> Snippet:
    """Rate per subgroup level vs the rest, Fisher p and multiplicity adjustment (the forest plot's table)."""
    _check(endpoint, ENDPOINTS, "endpoint")
    _check(denominator, DENOMINATORS, "denominator")
    _check(ci, CI_METHODS, "CI method")
    lines = "\n".join(_py_group(name, target=f"sg_{name}") for name in FOREST_SUBGROUPS)
    code = _py_read(csv_path, "from analysis.response import subgroup_rates",
                    f"{endpoint.upper()} by subgroup: each level vs all other patients") + (
        f"{lines}\n\n"
        f"{_py_list('subgroups = ', [f'sg_{name}' for name in FOREST_SUBGROUPS])}\n"
        f"rates = subgroup_rates(patients, subgroups, endpoint={json.dumps(endpoint)}, "
        f"denominator={json.dumps(denominator)},\n"
        f"                       method={json.dumps(ci)}, p_adjust_method={json.dumps(p_adjust)})\n"
        "# a level without patients, or a variable with a single level, compares nothing\n"
        "rates = rates[rates[\"n\"] > 0]\n"
        "rates = rates[rates.groupby(\"subgroup\")[\"level\"].transform(\"size\") > 1]\n"
        "print(rates.to_string(index=False))\n")
    return Snippet(code)


def per_study(denominator: str, ci: str, conf_type: str, csv_path: str = PATIENTS_CSV,
              title: str = "Per study: response rates and median PFS (never pooled across regimens)") -> Snippet:
    """ORR, DCR and median PFS per study (Overview and subtype-across-studies tables)."""
    _check(denominator, DENOMINATORS, "denominator")
    _check(ci, CI_METHODS, "CI method")
    _check(conf_type, CONF_TYPES, "conf type")
    rate_columns = ["denominator", "orr_count", "orr", "orr_lower", "orr_upper", "dcr_count", "dcr", "dcr_lower",
                    "dcr_upper"]
    code = _py_read(csv_path, "from analysis.response import response_table\n"
                              "from analysis.survival import kaplan_meier", title) + (
        "\nrows = []\n"
        "for study_id, cohort in patients.groupby(\"study_id\"):\n"
        f"    rates = response_table(cohort, denominator={json.dumps(denominator)}, "
        f"method={json.dumps(ci)}).iloc[-1]\n"
        "    row = {\"study\": study_id, \"patients\": len(cohort)}\n"
        f"{_py_list('    for name in ', rate_columns, ':')}\n"
        "        row[name] = rates[name]\n"
        "    # per-patient PFS is not published for every study\n"
        "    with_pfs = cohort.dropna(subset=[\"pfs_months\", \"pfs_event\"])\n"
        "    if len(with_pfs):\n"
        "        km = kaplan_meier(with_pfs[\"pfs_months\"], with_pfs[\"pfs_event\"].astype(int),\n"
        f"                          conf_type={json.dumps(conf_type)})\n"
        "        # a median of NaN = not reached\n"
        "        row.update(pfs_n=km.n, pfs_events=km.n_events, median_pfs=km.median,\n"
        "                   median_lower=km.median_ci[0], median_upper=km.median_ci[1])\n"
        "    rows.append(row)\n"
        "table = pd.DataFrame(rows)\n"
        "print(table.to_string(index=False))\n")
    return Snippet(code)


# --------------------------------------------------------------------------- #
# Survival
# --------------------------------------------------------------------------- #
def survival(grouping: str, conf_type: str, landmarks, csv_path: str = PATIENTS_CSV) -> Snippet:
    """Kaplan-Meier medians and landmark PFS by ``grouping``; R survfit."""
    _check(conf_type, CONF_TYPES, "conf type")
    times = _number_list(landmarks)
    code = _py_read(csv_path, "from analysis.survival import kaplan_meier_by_group",
                    "Kaplan-Meier PFS: medians and landmark rates") + _py_pfs() + (
        f"{_py_group(grouping)}\n\n"
        'time, event = patients["pfs_months"], patients["pfs_event"].astype(int)\n'
        'result = kaplan_meier_by_group(time, event, patients["group"],\n'
        f"                               conf_type={json.dumps(conf_type)}, landmarks=[{times}])\n"
        "# n, events, median and its 95% CI (NaN = not reached), S(t) at each landmark\n"
        "table = result.summary\n"
        "print(table.to_string(index=False))\n"
        "print(result.landmarks.to_string(index=False))  # with the numbers at risk\n")
    formula = "1" if grouping == "none" else "group"
    r = _r_read(csv_path, "Kaplan-Meier PFS, as R survival") + (
        "patients <- subset(patients, !is.na(pfs_months) & !is.na(pfs_event))\n"
        + (f"{_r_group(grouping)}\n" if grouping != "none" else "")
        + f"fit <- survfit(Surv(pfs_months, pfs_event) ~ {formula}, data = patients,\n"
        f"               conf.type = {r_string(conf_type)})\n"
        "print(fit)  # n, events, median and its 95% CI\n"
        + ("# landmark PFS with its 95% CI and the numbers at risk\n"
           f"summary(fit, times = c({times}), extend = TRUE)\n" if times else "")
        + ("survdiff(Surv(pfs_months, pfs_event) ~ group, data = patients)  # log-rank test\n"
           if grouping != "none" else ""))
    return Snippet(code, r)


def logrank(grouping: str, csv_path: str = PATIENTS_CSV) -> Snippet:
    """Log-rank test between the groups; R survdiff."""
    code = _py_read(csv_path, "from analysis.survival import logrank_table",
                    "Log-rank test (R survdiff, rho = 0)") + _py_pfs() + (
        f"{_py_group(grouping)}\n\n"
        'time, event = patients["pfs_months"], patients["pfs_event"].astype(int)\n'
        'test = logrank_table(time, event, patients["group"])\n'
        'print("chi-square", test.statistic, "df", test.df, "p", test.p_value)\n'
        "print(test.table.to_string(index=False))  # observed, expected, (O-E)^2/V per group\n")
    r = _r_read(csv_path, "Log-rank test, as R survival") + (
        "patients <- subset(patients, !is.na(pfs_months) & !is.na(pfs_event))\n"
        f"{_r_group(grouping)}\n"
        "lr <- survdiff(Surv(pfs_months, pfs_event) ~ group, data = patients)\nprint(lr)\n")
    return Snippet(code, r)


# --------------------------------------------------------------------------- #
# Cox
# --------------------------------------------------------------------------- #
def _covariate_code(keys, references: dict, language: str) -> str:
    table = _PY_COVARIATE if language == "python" else _R_COVARIATE
    quote = py_string if language == "python" else r_string
    lines = []
    for key in keys:
        _check(key, COX_TERMS, "covariate")
        line = table[key]
        if key in _FACTORS:
            reference = references.get(key)
            if reference is None:  # no level known: let the code take the most frequent one
                reference_code = (f'patients["{key}"].value_counts().index[0]' if language == "python"
                                  else f"names(which.max(table(patients${key})))")
            else:
                reference_code = quote(str(reference))
            line = line.replace("{reference}", reference_code)
        lines.append(line)
    return "\n".join(lines)


def _py_cox_data(keys, references) -> str:
    helper = _WITH_REFERENCE if any(key in _FACTORS for key in keys) else ""
    return (f"{helper}\n" + _py_pfs() +
            'data = pd.DataFrame({"pfs_months": patients["pfs_months"],\n'
            '                     "pfs_event": patients["pfs_event"].astype(int)})\n'
            f"{_covariate_code(keys, references, 'python')}\n")


def _r_cox_data(keys, references) -> str:
    return ("patients <- subset(patients, !is.na(pfs_months) & !is.na(pfs_event))\n"
            "data <- data.frame(pfs_months = patients$pfs_months, pfs_event = patients$pfs_event)\n"
            f"{_covariate_code(keys, references, 'r')}\n")


def cox_univariate(keys, ties: str, p_adjust: str, references: dict, csv_path: str = PATIENTS_CSV) -> Snippet:
    """One Cox model per covariate (the screening table); R coxph in a loop.

    ``references`` gives the reference level of each factor covariate (the
    app's most frequent level among the analysable patients).
    """
    _check(ties, TIES, "ties")
    keys = list(keys)
    adjust = p_adjust != "none"
    columns = ["term", "n", "events", "hr", "hr_lower", "hr_upper", "p"] + (["p_adjusted"] if adjust else [])
    code = _py_read(csv_path, "from analysis.cox import univariate_cox"
                    + ("\nfrom analysis.multiplicity import adjust_pvalues" if adjust else ""),
                    "Univariate Cox screening of PFS (one model per characteristic)") + (
        _py_cox_data(keys, references) + "\n"
        f"{_py_list('covariates = ', keys)}\n"
        f"screen = univariate_cox(data, \"pfs_months\", \"pfs_event\", covariates, ties={json.dumps(ties)})\n"
        + (f"p_values = screen[\"p\"].astype(float).to_numpy()\n"
           f"screen[\"p_adjusted\"] = adjust_pvalues(p_values, {json.dumps(p_adjust)})\n" if adjust else "")
        + f"{_py_list('columns = ', columns)}\n"
        "print(screen[columns].to_string(index=False))\n")
    r = _r_read(csv_path, "Univariate Cox screening, as R coxph") + _r_cox_data(keys, references) + (
        f"{_r_vector('covariates <- ', keys)}\n"
        "screen <- lapply(covariates, function(term)\n"
        "  coxph(as.formula(paste(\"Surv(pfs_months, pfs_event) ~\", term)), data = data,\n"
        f"        ties = {r_string(ties)}))\n"
        "names(screen) <- covariates\n"
        "for (fit in screen) print(summary(fit)$conf.int)  # HR = exp(coef), Wald 95% CI\n"
        + ("p <- unlist(lapply(screen, function(fit) summary(fit)$coefficients[, \"Pr(>|z|)\"]))\n"
           f"print(p.adjust(p, method = {r_string(p_adjust)}))\n" if adjust else ""))
    return Snippet(code, r)


def cox_multivariable(keys, ties: str, references: dict, csv_path: str = PATIENTS_CSV) -> Snippet:
    """One Cox model with all chosen covariates; R coxph."""
    _check(ties, TIES, "ties")
    keys = list(keys)
    code = _py_read(csv_path, "from analysis.cox import fit_cox", "Multivariable Cox model of PFS") + (
        _py_cox_data(keys, references) + "\n"
        f"{_py_list('covariates = ', keys)}\n"
        f"model = fit_cox(data, \"pfs_months\", \"pfs_event\", covariates, ties={json.dumps(ties)})\n"
        'print(model[["hr", "hr_lower", "hr_upper", "p", "n", "events"]])  # complete cases\n'
        'print("likelihood-ratio p", model.attrs["lr_p"], "score p", model.attrs["score_p"])\n')
    r = _r_read(csv_path, "Multivariable Cox model, as R coxph") + _r_cox_data(keys, references) + (
        f"model <- coxph(Surv(pfs_months, pfs_event) ~ {' + '.join(keys)},\n"
        f"               data = data, ties = {r_string(ties)})\n"
        "summary(model)  # HR = exp(coef), Wald 95% CI and p; likelihood-ratio, Wald and score tests\n")
    return Snippet(code, r)


def factor_references(frame) -> dict:
    """Reference (first) level of each categorical column of a covariate frame, for the Cox snippets."""
    references = {}
    for key in _FACTORS:
        if key in frame and hasattr(frame[key], "cat") and len(frame[key].cat.categories):
            references[key] = str(frame[key].cat.categories[0])
    return references


# --------------------------------------------------------------------------- #
# Published vs recomputed
# --------------------------------------------------------------------------- #
def reconciliation(published_path: str = PUBLISHED_CSV, patients_path: str = ALL_PATIENTS_CSV,
                   studies_path: str = STUDIES_CSV, value_sources_path: str = VALUE_SOURCES_CSV) -> Snippet:
    """Every published number beside its recomputation (analysis.reconcile)."""
    columns = ["result_id", "printed", "recomputed_estimate", "recomputed_ci_lower", "recomputed_ci_upper",
               "recomputed_p_value", "status", "assumption", "explanation"]
    code = (f"# Published numbers vs recomputed from the patients (whole published cohorts)\n{RUN_NOTE}\n"
            "import pandas as pd\nfrom analysis.reconcile import reconcile\n\n"
            f"published = pd.read_csv({json.dumps(published_path)}, encoding=\"utf-8-sig\")\n"
            "# all patients of the published cohorts, no filter\n"
            f"patients = pd.read_csv({json.dumps(patients_path)}, encoding=\"utf-8-sig\")\n"
            "# the software each paper names, and the values a paper leaves open (alternative_value)\n"
            f"studies = pd.read_csv({json.dumps(studies_path)}, encoding=\"utf-8-sig\")\n"
            f"value_sources = pd.read_csv({json.dumps(value_sources_path)}, encoding=\"utf-8-sig\", dtype=str)\n"
            "result = reconcile(published, patients, studies=studies, assumptions=value_sources)\n"
            f"{_py_list('columns = ', columns)}\n"
            "print(result[columns].to_string(index=False))\n"
            'print(result["status"].value_counts())\n')
    return Snippet(code, None, (published_path, patients_path, studies_path, value_sources_path))
