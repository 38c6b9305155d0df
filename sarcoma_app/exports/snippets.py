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

from analysis.methods import BORROWING_MODELS, HETEROGENEITY_PRIORS, ZPH_TRANSFORMS
from data import registry
from sarcoma_app.text import STUDY_LABELS, one_line
from sarcoma_app.viewstate.url_state import (CI_METHODS, CONF_TYPES, COX_TERMS, DENOMINATORS, ENDPOINTS, GROUPINGS,
                                   SURVIVAL_ENDPOINTS, TIES)
from sarcoma_app.viewstate.url_state import P_ADJUST_METHODS

PATIENTS_CSV = "filtered_patients.csv"
ALL_PATIENTS_CSV = "all_patients.csv"
PUBLISHED_CSV = "published_results.csv"
STUDIES_CSV = "studies.csv"
VALUE_SOURCES_CSV = "patient_value_sources.csv"
RUN_NOTE = ("# Needs the project's analysis package: pip install -e <project repository> (or run it from\n"
            "# the repository root after pip install -r requirements.txt), with the CSV in the working directory.")
LINE_WIDTH = 88

#: Covariates entered as factors (one HR per level against a reference).
_FACTORS = tuple(c.key for c in registry.COVARIATE_LIST if c.kind == "factor")
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


def _format_parts(fmt: str) -> tuple[str, str]:
    """('ECOG ', '') of 'ECOG {value}': the text before and after the value."""
    before, _, after = fmt.partition("{value}")
    return before, after


def _py_group(grouping: str, target: str = "group") -> str:
    """Python setting ``patients[target]`` exactly as the app labels groups (from the registry's grouping)."""
    _check(grouping, GROUPINGS, "grouping")
    out = f'patients["{target}"]'
    if grouping == "none":
        return f'{out} = "All patients"'
    spec = registry.GROUPINGS[grouping]
    column, missing = f'patients["{spec.variable}"]', py_string(spec.missing_label)
    if grouping == "study":  # as sarcoma_app.text.study_label
        labels = json.dumps(STUDY_LABELS, indent=4, ensure_ascii=False)
        return (f"study_labels = {labels}\n"
                f"{out} = {column}.map(lambda s: study_labels.get(s) or (\n"
                '    f"Simulated registry {s.removeprefix(\'simulated_\')} (not real patients)"\n'
                '    if s.startswith("simulated_") else s))')
    if spec.value_labels:
        labels = "{" + ", ".join(f"{k!r}: {py_string(v)}" for k, v in spec.value_labels.items()) + "}"
        return f"labels = {labels}\n{out} = {column}.map(labels).fillna({missing})"
    if registry.VARIABLES[spec.variable].type == "integer":
        single = py_string(spec.value_format)
        text = (f"({single} if v == 1 else {py_string(spec.plural_format)})" if spec.plural_format else single)
        return (f'{out} = {column}.map(lambda v: {text}.format(value=int(v)), na_action="ignore")\n'
                f"{out} = {out}.fillna({missing})")
    return f"{out} = {column}.fillna({missing})"


def _r_group(grouping: str) -> str:
    """R setting ``patients$group`` the same way."""
    _check(grouping, GROUPINGS, "grouping")
    if grouping == "none":
        return 'patients$group <- "All patients"'
    spec = registry.GROUPINGS[grouping]
    column, missing = f"patients${spec.variable}", r_string(spec.missing_label)
    if grouping == "study":
        labels = ",\n                  ".join(f"{r_string(k)} = {r_string(v)}" for k, v in STUDY_LABELS.items())
        return (f"study_labels <- c({labels})\n"
                f"patients$group <- ifelse(!is.na(study_labels[{column}]), study_labels[{column}],\n"
                f"  ifelse(startsWith({column}, \"simulated_\"),\n"
                f"         paste0(\"Simulated registry \", sub(\"^simulated_\", \"\", {column}), \" (not real patients)\"),\n"
                f"         {column}))")
    if spec.value_labels:
        labels = ", ".join(f"{r_string(str(k).upper() if isinstance(k, bool) else k)} = {r_string(v)}"
                           for k, v in spec.value_labels.items())
        key = f"toupper(as.character({column}))"  # TRUE / FALSE whether R read logicals or pandas' True / False
        return (f"labels <- c({labels})\n"
                f"patients$group <- ifelse(is.na({column}), {missing}, labels[{key}])")
    if registry.VARIABLES[spec.variable].type == "integer":
        before, after = _format_parts(spec.value_format)
        text = f"paste0({r_string(before)}, {column}, {r_string(after)})"
        if spec.plural_format:
            plural_before, plural_after = _format_parts(spec.plural_format)
            text = (f"ifelse({column} == 1, {text},\n                         "
                    f"paste0({r_string(plural_before)}, {column}, {r_string(plural_after)}))")
        return f"patients$group <- ifelse(is.na({column}), {missing}, {text})"
    return f"patients$group <- ifelse(is.na({column}), {missing}, {column})"


def _py_read(csv_path: str, imports: str, title: str) -> str:
    return (f"# {comment(title)}\n{RUN_NOTE}\nimport pandas as pd\n{imports}\n\n"
            "# the patients of the view, as exported by the app\n"
            f"patients = pd.read_csv({json.dumps(csv_path)}, encoding=\"utf-8-sig\")\n")


def _r_read(csv_path: str, title: str) -> str:
    return (f"# {comment(title)}\n# R with the survival package, the CSV in the working directory.\nlibrary(survival)\n"
            f"patients <- read.csv({r_string(csv_path)}, fileEncoding = \"UTF-8-BOM\",\n"
            "                     na.strings = c(\"\", \"NA\"))\n")


def _endpoint(endpoint: str) -> registry.Endpoint:
    return registry.ENDPOINTS[_check(endpoint, SURVIVAL_ENDPOINTS, "endpoint")]


def _py_drop_missing(spec: registry.Endpoint) -> str:
    return (f"# patients with a recorded {spec.short} time and event\n"
            f'patients = patients.dropna(subset=["{spec.time}", "{spec.event}"])\n')


def _r_drop_missing(spec: registry.Endpoint) -> str:
    return f"patients <- subset(patients, !is.na({spec.time}) & !is.na({spec.event}))\n"


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


_R_NEWCOMBE = """\
# Wilson score interval without continuity correction (as prop.test(correct = FALSE))
wilson <- function(k, n, z = qnorm(0.975)) {
  p <- k / n
  centre <- (p + z^2 / (2 * n)) / (1 + z^2 / n)
  half <- z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2)) / (1 + z^2 / n)
  c(lower = if (k == 0) 0 else centre - half, upper = if (k == n) 1 else centre + half)
}
# Newcombe (1998) hybrid score interval of p1 - p2 (method 10)
newcombe <- function(k1, n1, k2, n2) {
  p1 <- k1 / n1; p2 <- k2 / n2; w1 <- wilson(k1, n1); w2 <- wilson(k2, n2)
  d <- p1 - p2
  c(difference = d,
    lower = d - sqrt((p1 - w1[["lower"]])^2 + (w2[["upper"]] - p2)^2),
    upper = d + sqrt((w1[["upper"]] - p1)^2 + (p2 - w2[["lower"]])^2))
}
"""


def proportion_difference(grouping: str, denominator: str, counts: dict, csv_path: str = PATIENTS_CSV) -> Snippet:
    """Two groups: difference in ORR and DCR with Newcombe's interval, Fisher p and the conditional-MLE odds ratio.

    ``counts``: endpoint -> ``(k1, n1, k2, n2)`` as the page counts them (the R code starts from these numbers;
    the Python recounts them from the CSV).
    """
    _check(denominator, DENOMINATORS, "denominator")
    counts = {_check(endpoint, ENDPOINTS, "endpoint"): tuple(int(v) for v in values)
              for endpoint, values in counts.items()}
    code = _py_read(csv_path, "from analysis.proportions import compare_proportions\n"
                    "from analysis.response import response_comparison",
                    "Difference in ORR and DCR between two groups (Newcombe 95% CI, Fisher p, odds ratio)") + (
        f"{_py_group(grouping)}\n\n"
        "differences = {}\n"
        f"for endpoint in {json.dumps(list(counts))}:\n"
        "    counted = response_comparison(patients, \"group\", endpoint=endpoint,\n"
        f"                                  denominator={json.dumps(denominator)})\n"
        "    (k1, k2), (n1, n2) = counted.events, counted.denominators\n"
        "    result = compare_proportions(k1, n1, k2, n2)  # first group minus second\n"
        "    differences[endpoint] = result\n"
        "    print(endpoint, counted.groups, f\"{k1}/{n1} vs {k2}/{n2}\",\n"
        "          \"difference\", result.difference, (result.lower, result.upper),\n"
        "          \"Fisher p\", result.fisher_p, \"odds ratio\", result.odds_ratio,\n"
        "          (result.odds_ratio_lower, result.odds_ratio_upper))\n")
    lines = "\n".join(f"  {endpoint} = c({', '.join(map(str, values))})" for endpoint, values in counts.items())
    r = ("# Difference in ORR and DCR between two groups (Newcombe 95% CI, Fisher p, odds ratio), base R.\n"
         "# Responders and denominators of the first and second group, as counted on the page:\n"
         f"counts <- list(\n{lines.replace(chr(10), ',' + chr(10))}\n)  # k1, n1, k2, n2\n"
         + _R_NEWCOMBE +
         "differences <- do.call(rbind, lapply(names(counts), function(endpoint) {\n"
         "  x <- counts[[endpoint]]\n"
         "  ci <- newcombe(x[1], x[2], x[3], x[4])\n"
         "  test <- fisher.test(matrix(c(x[1], x[2] - x[1], x[3], x[4] - x[3]), 2, byrow = TRUE))\n"
         "  data.frame(endpoint = endpoint, difference = ci[[\"difference\"]], lower = ci[[\"lower\"]],\n"
         "             upper = ci[[\"upper\"]], fisher_p = test$p.value, odds_ratio = unname(test$estimate),\n"
         "             or_lower = test$conf.int[1], or_upper = test$conf.int[2])\n"
         "}))\n"
         "print(differences)\n")
    return Snippet(code, r)


#: Subgroup variables of the Response page's forest plot, in its order.
#: Groupings of the subgroup forest plot (the registry's), in order.
FOREST_SUBGROUPS = tuple(g.key for g in registry.GROUPING_LIST if g.forest)


def subgroup_forest(endpoint: str, denominator: str, ci: str, p_adjust: str, csv_path: str = PATIENTS_CSV,
                    subgroups=FOREST_SUBGROUPS, stratify: bool = False) -> Snippet:
    """Rate per subgroup level vs the rest, Fisher p and multiplicity adjustment (the forest plot's table).

    ``subgroups``: the groupings the page's forest plot uses (those the data record), in its order.
    ``stratify``: each level-vs-rest test is the exact Mantel-Haenszel test across studies
    (:func:`analysis.stratified.subgroup_rates_stratified`; R ``mantelhaen.test(exact = TRUE)``).
    """
    _check(endpoint, ENDPOINTS, "endpoint")
    subgroups = [_check(name, FOREST_SUBGROUPS, "subgroup") for name in subgroups]
    _check(denominator, DENOMINATORS, "denominator")
    _check(ci, CI_METHODS, "CI method")
    lines = "\n".join(_py_group(name, target=f"sg_{name}") for name in subgroups)
    function = "subgroup_rates_stratified" if stratify else "subgroup_rates"
    module = "analysis.stratified" if stratify else "analysis.response"
    code = _py_read(csv_path, f"from {module} import {function}",
                    f"{endpoint.upper()} by subgroup: each level vs all other patients"
                    + (", stratified by study (exact Mantel-Haenszel test)" if stratify else "")) + (
        f"{lines}\n\n"
        f"{_py_list('subgroups = ', [f'sg_{name}' for name in subgroups])}\n"
        + "# a not-reported level is shown but not tested, nor counted in the adjustment\n"
        + f"{_py_list('not_reported = ', missing_labels(subgroups))}\n"
        + (f"rates = {function}(patients, subgroups, \"study_id\", endpoint={json.dumps(endpoint)},\n"
           f"                                  denominator={json.dumps(denominator)}, method={json.dumps(ci)},\n"
           f"                                  p_adjust_method={json.dumps(p_adjust)}, missing_levels=not_reported)\n"
           if stratify else
           f"rates = subgroup_rates(patients, subgroups, endpoint={json.dumps(endpoint)}, "
           f"denominator={json.dumps(denominator)},\n"
           f"                       method={json.dumps(ci)}, p_adjust_method={json.dumps(p_adjust)},\n"
           "                       missing_levels=not_reported)\n")
        + "# a level without patients, or a variable with a single level, compares nothing\n"
        "rates = rates[rates[\"n\"] > 0]\n"
        "rates = rates[rates.groupby(\"subgroup\")[\"level\"].transform(\"size\") > 1]\n"
        "print(rates.to_string(index=False))\n")
    return Snippet(code)


def borrowing(grouping: str, denominator: str, endpoint: str, model: str, prior: str, threshold: float,
              csv_path: str = PATIENTS_CSV) -> Snippet:
    """Independent, pooled and hierarchical rates by ``grouping`` (the borrowing section's table)."""
    _check(denominator, DENOMINATORS, "denominator")
    _check(endpoint, ENDPOINTS, "endpoint")
    _check(model, BORROWING_MODELS, "model")
    _check(prior, HETEROGENEITY_PRIORS, "heterogeneity prior")
    if grouping == "none":
        raise ValueError("borrowing needs a grouping")
    threshold = float(threshold)
    if not 0 <= threshold <= 1:
        raise ValueError("threshold must lie between 0 and 1")
    missing = py_string(registry.GROUPINGS[_check(grouping, GROUPINGS, "grouping")].missing_label)
    imports = "from analysis.hierarchical import hierarchical_rates\nfrom analysis.response import response_table"
    code = _py_read(csv_path, imports, "Borrowing across subtypes (exploratory): independent, pooled, hierarchical") + (
        f"{_py_group(grouping)}\n\n"
        f'counts = response_table(patients, group_col="group", denominator={json.dumps(denominator)})\n'
        "# subtypes with patients in the denominator; a missing value is not a subtype\n"
        'keep = (counts["group"] != "All") & (counts["denominator"] > 0)\n'
        f'counts = counts[keep & (counts["group"] != {missing})]\n'
        f'result = hierarchical_rates(counts["{endpoint}_count"], counts["denominator"],\n'
        '                            counts["group"].tolist(),\n'
        f"                            model={json.dumps(model)}, tau_scale={json.dumps(prior)},\n"
        f"                            threshold={threshold!r})\n"
        "print(result.priors_text)\n"
        "print(result.table.to_string(index=False))\n"
        "print(result.tau)\n")
    return Snippet(code)


def missing_labels(groupings) -> list[str]:
    """The labels of a missing value of ``groupings`` (the forest plot's not-reported levels), from the registry."""
    return sorted({registry.GROUPINGS[_check(name, GROUPINGS, "grouping")].missing_label for name in groupings})


def per_study(denominator: str, ci: str, conf_type: str, csv_path: str = PATIENTS_CSV,
              title: str = "Per study: response rates and median PFS (never pooled across regimens)",
              published: dict[str, str] | None = None) -> Snippet:
    """ORR, DCR and median PFS per study (Overview and subtype-across-studies tables).

    ``published``: study id -> the denominator of its paper's rates (the Overview's headline); other studies
    use ``denominator``. With it, ``table`` holds each study's headline rates and ``both`` the rates with
    each denominator (the Overview shows both where the counts differ).
    """
    _check(denominator, DENOMINATORS, "denominator")
    _check(ci, CI_METHODS, "CI method")
    _check(conf_type, CONF_TYPES, "conf type")
    rate_columns = ["denominator", "orr_count", "orr", "orr_lower", "orr_upper", "dcr_count", "dcr", "dcr_lower",
                    "dcr_upper"]
    if published is None:
        rates_code = (
            f"    rates = response_table(cohort, denominator={json.dumps(denominator)}, "
            f"method={json.dumps(ci)}).iloc[-1]\n"
            "    row = {\"study\": study_id, \"patients\": len(cohort)}\n"
            f"{_py_list('    for name in ', rate_columns, ':')}\n"
            "        row[name] = rates[name]\n")
        head = ""
    else:
        pairs = ", ".join(f"{py_string(k)}: {py_string(_check(v, DENOMINATORS, 'denominator'))}"
                          for k, v in sorted(published.items()))
        head = ("\n# each study's own published denominator (its paper's population); other studies: "
                f"{json.dumps(denominator)}\nown_denominator = {{{pairs}}}\n"
                f"{_py_list('shown = ', rate_columns)}\nboth = []\n")
        rates_code = (
            f"    own = own_denominator.get(study_id, {json.dumps(denominator)})\n"
            "    row = {\"study\": study_id, \"patients\": len(cohort)}\n"
            "    for used in dict.fromkeys([own, \"all\", \"evaluable\"]):\n"
            f"        rates = response_table(cohort, denominator=used, method={json.dumps(ci)}).iloc[-1]\n"
            "        both.append({\"study\": study_id, \"population\": rates[\"denominator_label\"],\n"
            "                     \"headline\": used == own, **rates[shown].to_dict()})\n"
            "        if used == own:  # the headline: the paper's own denominator\n"
            "            row.update(rates[shown].to_dict(), population=rates[\"denominator_label\"])\n")
    code = _py_read(csv_path, "from analysis.response import response_table\n"
                              "from analysis.survival import kaplan_meier", title) + head + (
        "\nrows = []\n"
        "for study_id, cohort in patients.groupby(\"study_id\"):\n"
        + rates_code +
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
        "print(table.to_string(index=False))\n"
        + ("both = pd.DataFrame(both)  # every study with each denominator\n"
           "print(both.to_string(index=False))\n" if published is not None else ""))
    return Snippet(code)


# --------------------------------------------------------------------------- #
# Survival
# --------------------------------------------------------------------------- #
def survival(grouping: str, conf_type: str, landmarks, csv_path: str = PATIENTS_CSV,
             endpoint: str = registry.DEFAULT_ENDPOINT) -> Snippet:
    """Kaplan-Meier medians and landmark rates of ``endpoint`` by ``grouping``; R survfit."""
    _check(conf_type, CONF_TYPES, "conf type")
    spec = _endpoint(endpoint)
    surv = f"Surv({spec.time}, {spec.event})"
    times = _number_list(landmarks)
    code = _py_read(csv_path, "from analysis.survival import kaplan_meier_by_group",
                    f"Kaplan-Meier {spec.short}: medians and landmark rates") + _py_drop_missing(spec) + (
        f"{_py_group(grouping)}\n\n"
        f'time, event = patients["{spec.time}"], patients["{spec.event}"].astype(int)\n'
        'result = kaplan_meier_by_group(time, event, patients["group"],\n'
        f"                               conf_type={json.dumps(conf_type)}, landmarks=[{times}])\n"
        "# n, events, median and its 95% CI (NaN = not reached), S(t) at each landmark\n"
        "table = result.summary\n"
        "print(table.to_string(index=False))\n"
        "print(result.landmarks.to_string(index=False))  # with the numbers at risk\n")
    formula = "1" if grouping == "none" else "group"
    r = _r_read(csv_path, f"Kaplan-Meier {spec.short}, as R survival") + (
        _r_drop_missing(spec)
        + (f"{_r_group(grouping)}\n" if grouping != "none" else "")
        + f"fit <- survfit({surv} ~ {formula}, data = patients,\n"
        f"               conf.type = {r_string(conf_type)})\n"
        "print(fit)  # n, events, median and its 95% CI\n"
        + (f"# landmark {spec.short} with its 95% CI and the numbers at risk\n"
           f"summary(fit, times = c({times}), extend = TRUE)\n" if times else "")
        + (f"survdiff({surv} ~ group, data = patients)  # log-rank test\n"
           if grouping != "none" else ""))
    return Snippet(code, r)


def logrank(grouping: str, csv_path: str = PATIENTS_CSV, endpoint: str = registry.DEFAULT_ENDPOINT,
            stratify: bool = False) -> Snippet:
    """Log-rank test of ``endpoint`` between the groups; R survdiff (``stratify``: ``+ strata(study_id)``)."""
    spec = _endpoint(endpoint)
    strata = ', strata=patients["study_id"]' if stratify else ""
    code = _py_read(csv_path, "from analysis.survival import logrank_table",
                    f"Log-rank test of {spec.short} (R survdiff, rho = 0)"
                    + (", stratified by study" if stratify else "")) + _py_drop_missing(spec) + (
        f"{_py_group(grouping)}\n\n"
        f'time, event = patients["{spec.time}"], patients["{spec.event}"].astype(int)\n'
        f'test = logrank_table(time, event, patients["group"]{strata})\n'
        'print("chi-square", test.statistic, "df", test.df, "p", test.p_value)\n'
        "print(test.table.to_string(index=False))  # observed, expected, (O-E)^2/V per group\n")
    r = _r_read(csv_path, f"Log-rank test of {spec.short}, as R survival") + (
        _r_drop_missing(spec)
        + f"{_r_group(grouping)}\n"
        f"lr <- survdiff(Surv({spec.time}, {spec.event}) ~ group"
        + (" + strata(study_id)" if stratify else "") + ", data = patients)\nprint(lr)\n")
    return Snippet(code, r)


def rmst(grouping: str, tau: float | None, csv_path: str = PATIENTS_CSV,
         endpoint: str = registry.DEFAULT_ENDPOINT) -> Snippet:
    """RMST up to ``tau`` (None: the shortest group's last follow-up) by ``grouping``, the two-group difference and
    ratio (survRM2 ``rmst2``) and the reverse-KM median follow-up; R ``print(survfit, rmean = tau)``."""
    spec = _endpoint(endpoint)
    if tau is not None and not (isinstance(tau, (int, float)) and 0 < float(tau) < float("inf")):
        raise ValueError(f"unknown tau {tau!r}")
    py_tau = "None  # None = the shortest group's last follow-up" if tau is None else f"{float(tau):g}"
    code = _py_read(csv_path, "from analysis.follow_up import median_follow_up\n"
                              "from analysis.rmst import rmst_by_group, rmst_contrast",
                    f"Restricted mean {spec.short} time (RMST) and median follow-up") + _py_drop_missing(spec) + (
        f"{_py_group(grouping)}\n\n"
        f'time, event = patients["{spec.time}"], patients["{spec.event}"].astype(int)\n'
        f"tau = {py_tau}\n"
        'result = rmst_by_group(time, event, patients["group"], tau=tau)\n'
        'print("tau =", result.tau)\n'
        "table = result.table  # rmst, se and 95% CI (rmst -+ 1.96 se) per group\n"
        "print(table.to_string(index=False))\n"
        "if len(result.groups) == 2:  # second group vs first, as survRM2 rmst2\n"
        "    contrast = rmst_contrast(result)\n"
        "    print(contrast)\n"
        "follow = median_follow_up(time, event)  # reverse Kaplan-Meier\n"
        'print("median follow-up", follow.median, follow.lower, follow.upper)\n')
    r_tau = ("min(tapply(patients$time, patients$group, max))  # shortest group's last follow-up"
             if tau is None else f"{float(tau):g}")
    r = _r_read(csv_path, f"RMST of {spec.short} and median follow-up, as R survival") + (
        _r_drop_missing(spec)
        + f"{_r_group(grouping)}\n"
        "# groups in the app's order (sorted by code point)\n"
        "patients$group <- factor(patients$group, levels = sort(unique(patients$group), method = \"radix\"))\n"
        f"patients$time <- patients${spec.time}\n"
        f"patients$event <- as.numeric(patients${spec.event})\n"
        f"tau <- {r_tau}\n"
        "fit <- survfit(Surv(time, event) ~ group, data = patients)\n"
        "tab <- summary(fit, rmean = tau)$table\n"
        "if (is.null(dim(tab))) tab <- t(as.matrix(tab))\n"
        "z <- qnorm(0.975)\n"
        "rmst <- data.frame(group = levels(patients$group), rmst = tab[, \"rmean\"], se = tab[, \"se(rmean)\"])\n"
        "rmst$lower <- rmst$rmst - z * rmst$se\n"
        "rmst$upper <- rmst$rmst + z * rmst$se\n"
        "print(rmst)\n"
        "if (nrow(rmst) == 2) {  # survRM2 rmst2 (unadjusted): second group vs first\n"
        "  d <- rmst$rmst[2] - rmst$rmst[1]; d_se <- sqrt(sum(rmst$se^2))\n"
        "  lr <- log(rmst$rmst[2] / rmst$rmst[1]); lr_se <- sqrt(sum(rmst$se^2 / rmst$rmst^2))\n"
        "  contrast <- data.frame(difference = d, difference_lower = d - z * d_se, difference_upper = d + z * d_se,\n"
        "                         difference_p = 2 * pnorm(-abs(d) / d_se), ratio = exp(lr),\n"
        "                         ratio_lower = exp(lr - z * lr_se), ratio_upper = exp(lr + z * lr_se),\n"
        "                         ratio_p = 2 * pnorm(-abs(lr) / lr_se))\n"
        "  print(contrast)\n"
        "}\n"
        "# median follow-up: reverse Kaplan-Meier (censoring as the event)\n"
        "follow <- survfit(Surv(time, 1 - event) ~ 1, data = patients)\n"
        "print(follow)\n")
    return Snippet(code, r)


def pairwise_logrank(grouping: str, p_adjust: str, csv_path: str = PATIENTS_CSV,
                     endpoint: str = registry.DEFAULT_ENDPOINT) -> Snippet:
    """Log-rank test of each pair of groups, p adjusted across the pairs; R survdiff per pair + p.adjust."""
    _check(p_adjust, P_ADJUST_METHODS, "p-value adjustment")
    spec = _endpoint(endpoint)
    code = _py_read(csv_path, "from analysis.pairwise import pairwise_logrank",
                    f"Pairwise log-rank tests of {spec.short} (as survminer pairwise_survdiff)") + (
        _py_drop_missing(spec) + f"{_py_group(grouping)}\n\n"
        f'time, event = patients["{spec.time}"], patients["{spec.event}"].astype(int)\n'
        f'pairs = pairwise_logrank(time, event, patients["group"], p_adjust={json.dumps(p_adjust)})\n'
        "# chi-square, p and p adjusted across the pairs (NaN = no event in the pair)\n"
        "print(pairs.to_string(index=False))\n")
    r = _r_read(csv_path, f"Pairwise log-rank tests of {spec.short}, as R survival") + (
        _r_drop_missing(spec) + f"{_r_group(grouping)}\n"
        "# survdiff on the patients of each pair of groups, then p.adjust over the pairs\n"
        "# (as survminer::pairwise_survdiff, which needs the survminer package)\n"
        'pairs <- combn(sort(unique(patients$group), method = "radix"), 2)\n'
        "tests <- apply(pairs, 2, function(pair) {\n"
        "  lr <- survdiff(Surv(" + spec.time + ", " + spec.event + ") ~ group,\n"
        "                 data = patients[patients$group %in% pair, ])\n"
        "  df <- sum(lr$exp > 0) - 1\n"
        "  c(chisq = lr$chisq, p = if (df < 0) NA else pchisq(lr$chisq, df, lower.tail = FALSE))\n"
        "})\n"
        'pairwise <- data.frame(group_1 = pairs[1, ], group_2 = pairs[2, ], chisq = tests["chisq", ],\n'
        '                       p = tests["p", ])\n'
        f"pairwise$p_adjusted <- p.adjust(pairwise$p, method = {r_string(p_adjust)})\n"
        "print(pairwise)\n")
    return Snippet(code, r)


# --------------------------------------------------------------------------- #
# Cox
# --------------------------------------------------------------------------- #
def _covariate_line(key: str, reference_code: str, language: str) -> str:
    """Code adding covariate ``key`` to ``data`` as :mod:`sarcoma_app.views.covariates` builds it (from the registry)."""
    spec = registry.COVARIATES[key]
    if language == "python":
        column = f'patients["{spec.variable}"]'
        target = f'data["{key}"]'
        head = f"# {comment(spec.label)}\n"
        if spec.kind == "flag":
            level = repr(spec.level) if isinstance(spec.level, bool) else py_string(spec.level)
            return head + f'{target} = {column}.eq({level}).astype("boolean").mask({column}.isna())'
        if spec.kind == "at_least":
            return head + f'{target} = {column}.ge({spec.threshold:g}).astype("boolean").mask({column}.isna())'
        if spec.kind == "factor":
            return head + f"reference = {reference_code}\n{target} = with_reference({column}, reference)"
        return head + f"{target} = {column}.astype(float)"
    column, target = f"patients${spec.variable}", f"data${key}"
    if spec.kind == "flag" and isinstance(spec.level, bool):  # pandas writes True / False, R reads them as text
        level = r_string("TRUE" if spec.level else "FALSE")
        return f"{target} <- toupper(as.character({column})) == {level}  # {comment(spec.label)}"
    if spec.kind == "flag":
        return f"{target} <- {column} == {r_string(spec.level)}  # {comment(spec.label)}"
    if spec.kind == "at_least":
        return f"{target} <- {column} >= {spec.threshold:g}  # {comment(spec.label)}"
    if spec.kind == "factor":
        return f"{target} <- relevel(factor({column}), ref = {reference_code})"
    return f"{target} <- as.numeric({column})  # {comment(spec.label)}"


def _covariate_code(keys, references: dict, language: str) -> str:
    quote = py_string if language == "python" else r_string
    lines = []
    for key in keys:
        _check(key, COX_TERMS, "covariate")
        reference_code = ""
        if key in _FACTORS:
            column = registry.COVARIATES[key].variable
            reference = references.get(key)
            if reference is None:  # no level known: let the code take the most frequent one
                reference_code = (f'patients["{column}"].value_counts().index[0]' if language == "python"
                                  else f"names(which.max(table(patients${column})))")
            else:
                reference_code = quote(str(reference))
        lines.append(_covariate_line(key, reference_code, language))
    return "\n".join(lines)


def _py_cox_data(keys, references, spec: registry.Endpoint, stratify: bool = False) -> str:
    helper = _WITH_REFERENCE if any(key in _FACTORS for key in keys) else ""
    return (f"{helper}\n" + _py_drop_missing(spec) +
            f'data = pd.DataFrame({{"{spec.time}": patients["{spec.time}"],\n'
            f'                     "{spec.event}": patients["{spec.event}"].astype(int)}})\n'
            + ('data["study_id"] = patients["study_id"]  # the strata\n' if stratify else "")
            + f"{_covariate_code(keys, references, 'python')}\n")


def _r_cox_data(keys, references, spec: registry.Endpoint, stratify: bool = False) -> str:
    return (_r_drop_missing(spec)
            + f"data <- data.frame({spec.time} = patients${spec.time}, {spec.event} = patients${spec.event})\n"
            + ("data$study_id <- patients$study_id  # the strata\n" if stratify else "")
            + f"{_covariate_code(keys, references, 'r')}\n")


def cox_univariate(keys, ties: str, p_adjust: str, references: dict, csv_path: str = PATIENTS_CSV,
                   endpoint: str = registry.DEFAULT_ENDPOINT, stratify: bool = False) -> Snippet:
    """One Cox model per covariate (the screening table); R coxph in a loop.

    ``references`` gives the reference level of each factor covariate (the
    app's most frequent level among the analysable patients). ``stratify``:
    each model stratified by study (R ``+ strata(study_id)``).
    """
    _check(ties, TIES, "ties")
    spec = _endpoint(endpoint)
    keys = list(keys)
    adjust = p_adjust != "none"
    columns = ["term", "n", "events", "hr", "hr_lower", "hr_upper", "p"] + (["p_adjusted"] if adjust else [])
    code = _py_read(csv_path, "from analysis.cox import univariate_cox"
                    + ("\nfrom analysis.multiplicity import adjust_pvalues" if adjust else ""),
                    f"Univariate Cox screening of {spec.short} (one model per characteristic)"
                    + (", stratified by study" if stratify else "")) + (
        _py_cox_data(keys, references, spec, stratify) + "\n"
        f"{_py_list('covariates = ', keys)}\n"
        f"screen = univariate_cox(data, \"{spec.time}\", \"{spec.event}\", covariates, ties={json.dumps(ties)}"
        + (', strata="study_id"' if stratify else "") + ")\n"
        + (f"p_values = screen[\"p\"].astype(float).to_numpy()\n"
           f"screen[\"p_adjusted\"] = adjust_pvalues(p_values, {json.dumps(p_adjust)})\n" if adjust else "")
        + f"{_py_list('columns = ', columns)}\n"
        "print(screen[columns].to_string(index=False))\n")
    r = _r_read(csv_path, "Univariate Cox screening, as R coxph") + _r_cox_data(keys, references, spec, stratify) + (
        f"{_r_vector('covariates <- ', keys)}\n"
        "screen <- lapply(covariates, function(term)\n"
        f"  coxph(as.formula(paste(\"Surv({spec.time}, {spec.event}) ~\", term"
        + (', "+ strata(study_id)"' if stratify else "") + ")), data = data,\n"
        f"        ties = {r_string(ties)}))\n"
        "names(screen) <- covariates\n"
        "for (fit in screen) print(summary(fit)$conf.int)  # HR = exp(coef), Wald 95% CI\n"
        + ("p <- unlist(lapply(screen, function(fit) summary(fit)$coefficients[, \"Pr(>|z|)\"]))\n"
           f"print(p.adjust(p, method = {r_string(p_adjust)}))\n" if adjust else ""))
    return Snippet(code, r)


def cox_multivariable(keys, ties: str, references: dict, csv_path: str = PATIENTS_CSV,
                      endpoint: str = registry.DEFAULT_ENDPOINT, stratify: bool = False) -> Snippet:
    """One Cox model with all chosen covariates; R coxph (``stratify``: ``+ strata(study_id)``)."""
    _check(ties, TIES, "ties")
    spec = _endpoint(endpoint)
    keys = list(keys)
    code = _py_read(csv_path, "from analysis.cox import fit_cox", f"Multivariable Cox model of {spec.short}"
                    + (", stratified by study" if stratify else "")) + (
        _py_cox_data(keys, references, spec, stratify) + "\n"
        f"{_py_list('covariates = ', keys)}\n"
        f"model = fit_cox(data, \"{spec.time}\", \"{spec.event}\", covariates, ties={json.dumps(ties)}"
        + (', strata="study_id"' if stratify else "") + ")\n"
        'print(model[["hr", "hr_lower", "hr_upper", "p", "n", "events"]])  # complete cases\n'
        'print("likelihood-ratio p", model.attrs["lr_p"], "score p", model.attrs["score_p"])\n')
    r = _r_read(csv_path, "Multivariable Cox model, as R coxph") + _r_cox_data(keys, references, spec, stratify) + (
        f"model <- coxph(Surv({spec.time}, {spec.event}) ~ {' + '.join(keys)}"
        + (" + strata(study_id)" if stratify else "") + ",\n"
        f"               data = data, ties = {r_string(ties)})\n"
        "summary(model)  # HR = exp(coef), Wald 95% CI and p; likelihood-ratio, Wald and score tests\n")
    return Snippet(code, r)


def cox_zph(keys, ties: str, references: dict, csv_path: str = PATIENTS_CSV,
            endpoint: str = registry.DEFAULT_ENDPOINT, transform: str = "km") -> Snippet:
    """Proportional-hazards check of the multivariable Cox model; R cox.zph (score test, survival 3.x)."""
    _check(ties, TIES, "ties")
    _check(transform, ZPH_TRANSFORMS, "transform")
    spec = _endpoint(endpoint)
    keys = list(keys)
    code = _py_read(csv_path, "from analysis.proportional_hazards import cox_zph",
                    f"Proportional-hazards check (cox.zph) of the Cox model of {spec.short}") + (
        _py_cox_data(keys, references, spec) + "\n"
        f"{_py_list('covariates = ', keys)}\n"
        f"zph = cox_zph(data, \"{spec.time}\", \"{spec.event}\", covariates, ties={json.dumps(ties)},\n"
        f"              transform={json.dumps(transform)})\n"
        'print(zph["table"])  # chi-square, df and p per term and GLOBAL\n'
        'print(zph["residuals"].head())  # scaled Schoenfeld residuals against transformed time\n')
    r = _r_read(csv_path, "Proportional-hazards check, as R cox.zph") + _r_cox_data(keys, references, spec) + (
        f"model <- coxph(Surv({spec.time}, {spec.event}) ~ {' + '.join(keys)},\n"
        f"               data = data, ties = {r_string(ties)})\n"
        f"zph <- cox.zph(model, transform = {r_string(transform)}, terms = TRUE)\n"
        "print(zph)  # chi-square, df and p per term and GLOBAL\n"
        "plot(zph)  # scaled Schoenfeld residuals (beta(t)) against transformed time\n")
    return Snippet(code, r)


_R_FIRTH = """\
# Firth-penalised Cox (as coxphf, Breslow ties): maximise l(beta) + 1/2 log det I(beta), with
# l and I^-1 from coxph.fit at fixed beta (iter.max = 0); profile penalised-likelihood CI and p.
at_beta <- function(beta, time, status, X, toler = 1e-300)
  coxph.fit(X, Surv(time, status), strata = NULL, offset = NULL, init = beta, weights = NULL,
            control = coxph.control(iter.max = 0, toler.chol = toler), method = "breslow", rownames = NULL)
penalised <- function(beta, time, status, X) {
  fit <- at_beta(beta, time, status, X)
  info <- tryCatch(solve(fit$var), error = function(e) NULL)
  if (is.null(info) || any(!is.finite(fit$var))) return(-1e10)
  fit$loglik[2] + 0.5 * as.numeric(determinant(info)$modulus)
}
maximise <- function(f, start) {
  if (length(start) == 0) return(list(par = start, value = f(start)))
  gradient <- function(b) vapply(seq_along(b), function(j) {
    e <- replace(numeric(length(b)), j, 1e-5); (f(b + e) - f(b - e)) / 2e-5 }, 0)
  fit <- list(par = start)
  for (pass in 1:2) fit <- optim(fit$par, f, gradient, method = "BFGS",
                                 control = list(fnscale = -1, reltol = 1e-16, maxit = 5000))
  list(par = fit$par, value = fit$value)
}
firth_cox <- function(time, status, X) {
  X <- as.matrix(X)
  f <- function(b) penalised(b, time, status, X)
  best <- maximise(f, rep(0, ncol(X)))
  beta <- best$par
  se <- sqrt(diag(at_beta(beta, time, status, X, toler = 1e-9)$var))
  rows <- lapply(seq_along(beta), function(r) {
    profile <- function(b) maximise(function(o) f(append(o, b, after = r - 1)), beta[-r])$value
    deviance <- function(b) 2 * (best$value - profile(b)) - qchisq(0.95, 1)
    w <- max(se[r], 0.1)
    lower <- uniroot(deviance, c(beta[r] - w, beta[r]), extendInt = "downX", tol = 1e-11)$root
    upper <- uniroot(deviance, c(beta[r], beta[r] + w), extendInt = "upX", tol = 1e-11)$root
    data.frame(term = colnames(X)[r], hr = exp(beta[r]), lower = exp(lower), upper = exp(upper),
               p = pchisq(deviance(0) + qchisq(0.95, 1), 1, lower.tail = FALSE))
  })
  do.call(rbind, rows)
}
"""


def cox_firth(keys, references: dict, separately: bool, csv_path: str = PATIENTS_CSV,
              endpoint: str = registry.DEFAULT_ENDPOINT) -> Snippet:
    """Firth-penalised Cox (:func:`analysis.firth.firth_cox`): one model per covariate (``separately``, the
    screening) or one model of all; R: the penalised likelihood maximised with optim, profile limits by uniroot."""
    spec = _endpoint(endpoint)
    keys = list(keys)
    title = f"Firth-penalised Cox of {spec.short} (as R coxphf: Breslow ties, profile 95% CI)"
    fit = ("firth = pd.concat([firth_cox(data, TIME, EVENT, [key]) for key in covariates])\n" if separately
           else "firth = firth_cox(data, TIME, EVENT, covariates)\n")
    code = _py_read(csv_path, "from analysis.firth import firth_cox", title) + (
        _py_cox_data(keys, references, spec) + "\n"
        f"{_py_list('covariates = ', keys)}\n"
        f"TIME, EVENT = \"{spec.time}\", \"{spec.event}\"\n" + fit +
        'print(firth[["hr", "hr_lower", "hr_upper", "p", "n", "events"]])  # p: penalised likelihood ratio\n')
    model_terms = "term" if separately else " + ".join(keys)
    fit_r = (f"{_r_vector('covariates <- ', keys)}\n"
             "firth <- do.call(rbind, lapply(covariates, function(term) {\n"
             f"  used <- data[complete.cases(data[, c(\"{spec.time}\", \"{spec.event}\", term)]), ]\n"
             "  X <- model.matrix(as.formula(paste(\"~\", term)), used)[, -1, drop = FALSE]\n"
             f"  firth_cox(used${spec.time}, used${spec.event}, X)\n"
             "}))\n") if separately else (
             f"used <- na.omit(data[, c(\"{spec.time}\", \"{spec.event}\", {', '.join(map(r_string, keys))})])\n"
             f"X <- model.matrix(~ {model_terms}, used)[, -1, drop = FALSE]\n"
             f"firth <- firth_cox(used${spec.time}, used${spec.event}, X)\n")
    r = (_r_read(csv_path, title) + _r_cox_data(keys, references, spec) + _R_FIRTH + fit_r
         + "print(firth)  # HR, profile 95% CI, penalised likelihood-ratio p\n")
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
