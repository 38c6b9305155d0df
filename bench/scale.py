"""Benchmark of the pages' analyses on a registry read in place, with DuckDB doing the counting.

Prints figures; asserts nothing about time. Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python bench/make_registry.py --patients 1000000 --out /tmp/reg_1m
    PYTHONPATH=. .venv/bin/python bench/scale.py --registry /tmp/reg_1m            # with R on the same data
    PYTHONPATH=. .venv/bin/python bench/scale.py --registry /tmp/reg_10m --no-r --survival-only
    PYTHONPATH=. .venv/bin/python bench/scale.py --registry /tmp/reg_1m --no-r --only "Hazard ratios"

The registry is opened as the app opens it (:func:`sarcoma_app.sources.registry_files.open_registry`) and every
page task runs as the page runs it on a source above :data:`sarcoma_app.limits.SCALE`: one count query over the
filtered rows (all patients here, the slowest case) and the exact count-based analysis on its result. The
patient table is never loaded for these tasks. Each task runs once untimed, then ``--repeats`` times; median
and minimum are printed, with the rows of the count table. The process's peak RSS (``ru_maxrss``) is printed
after the count tasks, before anything patient-level.

The count tasks include the Response page, the Overview and the Hazard ratios page (with the page's default
model, and with :data:`COUNTED_COX`, whose table the page refuses at 1,000,000 patients) as the app builds them
(views/*_counts.py; the count queries as ``sources.db``'s, the row limit included) and a
Cox model of :data:`COUNTED_COX` from a count query (:func:`analysis.cox.fit_cox_from_counts`). Then, unless
``--survival-only``: Cox (univariate, 8 models; multivariable, 15 terms; and :data:`COUNTED_COX` again, to
compare) on the patient-level columns it needs (Cox with a numeric covariate such as age has no compact form),
read from the registry through DuckDB; and, unless ``--no-r``, ``bench/r_timings.R`` and R ``coxph`` of
:data:`COUNTED_COX` on the same patients (written to a temporary CSV by DuckDB; reading it is not timed), so
R's KM, log-rank and Cox are measured in the same run. The machine is shared: figures are noisy, minima less so.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from analysis.adverse_events import ae_table_from_counts  # noqa: E402
from analysis.cox import fit_cox, fit_cox_from_counts, univariate_cox  # noqa: E402
from analysis.response import response_comparison, response_table, subgroup_rates  # noqa: E402
from analysis.survival import (kaplan_meier_by_group_from_counts, kaplan_meier_from_counts,  # noqa: E402
                               logrank_table_from_counts)
from bench.run import LANDMARKS, MULTIVARIABLE, R_COLUMNS, SUBGROUPS, UNIVARIATE, r_available, r_timings_from_csv  # noqa: E402
from sarcoma_app import limits  # noqa: E402
from sarcoma_app.render import memory, ui  # noqa: E402,F401  (as in the app: Altair's per-object validation off)
from sarcoma_app.sources import count_sql, filter_sql, registry_files  # noqa: E402
from sarcoma_app.views import (adverse_events_counts, borrowing, hazard_ratios_counts, overview_counts,  # noqa: E402
                               response_counts, subtype, subtype_counts)
from sarcoma_app.views.prepare import risk_grid  # noqa: E402
from sarcoma_app.viewstate.url_state import FilterState, MethodState  # noqa: E402

FILTERS = FilterState()
#: A filter of the Adverse events page (the events of half the patients, found by a semi-join).
AE_FILTERED = FilterState(pazopanib=("yes",))
#: The counted Cox model: the multivariable model without age (a number with many values has no compact count).
COUNTED_COX = tuple(c for c in MULTIVARIABLE if c != "age")
#: A counted Cox model with few covariate patterns (within the patterns path of analysis/cox.py).
COUNTED_COX_FEW = ("histology_group", "pazopanib")
#: R coxph of the counted model on the same patients (one warm-up, then timed repeats; prints coefficients).
R_COX = """suppressPackageStartupMessages(library(survival))
a <- commandArgs(trailingOnly = TRUE); d <- read.csv(a[1], na.strings = "", stringsAsFactors = FALSE)
for (v in c("histology_group", "sex")) d[[v]] <- factor(d[[v]], levels = sort(unique(d[[v]][!is.na(d[[v]])]),
  method = "radix"))
d$pazopanib <- as.logical(d$pazopanib)
f <- as.formula(paste("Surv(pfs_months, pfs_event) ~", gsub(",", " + ", a[2])))
fit <- coxph(f, data = d, ties = "efron")
t <- sapply(seq_len(as.integer(a[3])), function(i) system.time(coxph(f, data = d, ties = "efron"))[["elapsed"]])
cat("time", paste(t, collapse = ","), "\n", sep = "\t")
cat("coef", paste(sprintf("%.17g", coef(fit)), collapse = ","), "\n", sep = "\t")
cat("loglik", sprintf("%.17g", fit$loglik[2]), "\n", sep = "\t")
"""


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function, repeats: int) -> tuple[float, float, object]:
    result = function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def fetch(con, sql: str, parameters: tuple):
    cursor = con.cursor()
    try:
        return cursor.execute(sql, list(parameters)).df()
    finally:
        cursor.close()


def subgroup_counts_sql() -> str:
    columns = ", ".join(SUBGROUPS)
    where, _ = filter_sql.where_clause(FILTERS, hide_simulated=False)
    return (f"SELECT {columns}, best_response, CAST(count(*) AS BIGINT) AS n FROM patients {where} "
            "GROUP BY ALL")


def survival_tasks(con) -> dict:
    """The Survival page (KM by histology group with risk table and landmarks, log-rank, follow-up), and KM
    of all patients (Overview)."""
    def counts(grouping):
        sql, parameters = count_sql.survival_counts_sql(FILTERS, "pfs", grouping, hide_simulated=False)
        return fetch(con, sql, parameters)

    def km_overall():
        c = counts("none")
        complete = c[c["time"].notna()]
        fit = kaplan_meier_from_counts(complete["time"], complete["n_event"], complete["n_censor"])
        grid = risk_grid(float(complete["time"].max()))
        return fit.median, fit.median_ci, fit.survival_at_times(list(LANDMARKS)), fit.number_at_risk(grid), len(c)

    def survival_page():
        c = counts("histology_group")
        complete = c[c["time"].notna()]
        result = kaplan_meier_by_group_from_counts(complete, landmarks=list(LANDMARKS))
        grid = risk_grid(float(complete["time"].max()))
        risk = [fit.risk_table(grid) for fit in result.fits.values()]
        test = logrank_table_from_counts(complete, stratified=False)
        follow = kaplan_meier_from_counts(complete["time"], complete["n_censor"], complete["n_event"])
        return result.summary, risk, test.statistic, follow.median, len(c)

    def count_only():
        return len(counts("histology_group"))

    return {"km_overall (count query + KM)": km_overall,
            "Survival page: count query": count_only,
            "Survival page: count query + KM 11 groups + risk table + log-rank + follow-up": survival_page}


#: The Response page's choices in the benchmark: ORR/DCR and Fisher by pazopanib, the forest plot.
PAGE_METHODS = MethodState(response_by="pazopanib", stratify="none")


def counted_cox_tasks(con) -> dict:
    """Cox of :data:`COUNTED_COX` from a count query (events and censorings per pattern and time)."""
    def counts():
        return fetch(con, *count_sql.cox_counts_sql(FILTERS, "pfs", COUNTED_COX, hide_simulated=False))

    def fit():
        return fit_cox_from_counts(counts(), list(COUNTED_COX))

    def few():
        return fit_cox_from_counts(fetch(con, *count_sql.cox_counts_sql(FILTERS, "pfs", COUNTED_COX_FEW,
                                                                        hide_simulated=False)), list(COUNTED_COX_FEW))

    return {"Cox counted: count query": lambda: len(counts()),
            f"Cox counted: count query + fit ({', '.join(COUNTED_COX)})": fit,
            f"Cox counted: count query + fit ({', '.join(COUNTED_COX_FEW)}; few patterns)": few}


def other_page_tasks(con) -> dict:
    def response_page():
        sql, parameters = count_sql.response_counts_sql(FILTERS, "histology_group", hide_simulated=False)
        by_histology = fetch(con, sql, parameters)
        table = response_table(by_histology, group_col="group", count_col="n")
        sql, parameters = count_sql.response_counts_sql(FILTERS, "pazopanib", hide_simulated=False)
        by_pazopanib = fetch(con, sql, parameters)
        tests = [response_comparison(by_pazopanib, "group", endpoint=e, count_col="n") for e in ("orr", "dcr")]
        forest = subgroup_rates(fetch(con, subgroup_counts_sql(), ()), list(SUBGROUPS), count_col="n")
        return table, tests, forest

    def fisher_2x2():
        sql, parameters = count_sql.response_counts_sql(FILTERS, "pazopanib", hide_simulated=False)
        by_pazopanib = fetch(con, sql, parameters)
        return [response_comparison(by_pazopanib, "group", endpoint=e, count_col="n") for e in ("orr", "dcr")]

    def forest():
        return subgroup_rates(fetch(con, subgroup_counts_sql(), ()), list(SUBGROUPS), count_col="n")

    def ae_page():
        counts = count_sql.split_ae_counts(fetch(con, *count_sql.adverse_event_counts_sql(FILTERS, "pazopanib",
                                                                                        hide_simulated=False)))
        return ae_table_from_counts(counts["term_masks"], counts["any_masks"], counts["denominators"])

    def ae_view(filters):
        def build():
            counts = count_sql.split_ae_counts(fetch(con, *count_sql.adverse_event_counts_sql(filters,
                                                                                            hide_simulated=False)))
            return adverse_events_counts.build(counts, int(counts["denominators"]["n"].sum()))
        return build

    def response_view():
        counts = {part: fetch(con, *count_sql.pattern_counts_sql(FILTERS, columns, hide_simulated=False))
                  for part, columns in response_counts.queries(PAGE_METHODS).items()}
        return response_counts.build(counts, int(counts["rates"]["n"].sum()), PAGE_METHODS)

    studies = fetch(con, "SELECT * FROM studies", ())

    def overview_view():
        counts = {part: fetch(con, *count_sql.pattern_counts_sql(FILTERS, columns, hide_simulated=False))
                  for part, columns in overview_counts.QUERIES.items()}
        return overview_counts.build(counts, PAGE_METHODS, studies)

    recorded = {c: (int(v[0]), int(v[1])) for c, v in _recorded(con).items()}

    n_patients = registry_files.patient_count(con)
    fetched = []

    def hazard_ratios_view(methods):
        def cox_counts(columns):  # as sources.db.cox_counts: at most one row more than the limit
            fetched.append(columns)
            return fetch(con, *count_sql.cox_counts_sql(FILTERS, "pfs", list(columns), hide_simulated=False,
                                                        max_rows=limits.SCALE.cox_count_rows.value))

        def build():
            fetched.clear()
            return hazard_ratios_counts.page(cox_counts, recorded, 1, n_patients, methods)
        return build

    def hazard_ratios_label(methods):
        blocks = hazard_ratios_view(methods)()
        views = {getattr(b, "key", "") for b in blocks}
        fitted = ("8 + 1 Cox fits, cox.zph, all blocks" if "cox_zph" in views else
                  "8 + 1 Cox fits, all blocks" if "cox_multivariable" in views else
                  "8 Cox fits; the model's table > row limit, refused" if "cox_univariate" in views else
                  "refused: a table > row limit")
        return f"Hazard ratios as the app, {len(methods.cox_terms)}-covariate model ({len(fetched)} queries, {fitted})"

    def subtype_view():
        borrowing._fit.cache_clear()  # each run fits the hierarchical model, as after a filter change
        menu = fetch(con, *count_sql.pattern_counts_sql(FILTERS, subtype.MENU_COLUMNS, hide_simulated=False))
        choice = subtype_counts.chosen(menu, None)
        pfs = fetch(con, *count_sql.survival_counts_within_sql(FILTERS, choice.column, choice.value,
                                                               subtype_counts.ENDPOINT, "study", hide_simulated=False))
        selection = fetch(con, *count_sql.pattern_counts_sql(FILTERS, subtype.COUNTED_COLUMNS, hide_simulated=False))
        return subtype_counts.build(menu, selection, pfs, PAGE_METHODS, pooled=True, studies=studies)

    return {"AE table by pazopanib (1 count query + table)": ae_page,
            "Subtype page as the app (views/subtype_counts.py: 3 count queries + all blocks)": subtype_view,
            **{hazard_ratios_label(methods): hazard_ratios_view(methods) for methods in HAZARD_RATIO_METHODS},
            "AE page as the app (views/adverse_events_counts.py: 1 count query + blocks)": ae_view(FILTERS),
            "AE page as the app, filter pazopanib = yes": ae_view(AE_FILTERED),
            "Response page as the app (views/response_counts.py: 3 count queries + all blocks)": response_view,
            "Overview as the app (views/overview_counts.py: 2 count queries + all blocks)": overview_view,
            "response_comparison ORR+DCR 2x2 (count query + Fisher)": fisher_2x2,
            "subgroup_rates 6 columns (count query + Fisher)": forest,
            "Response page: 3 count queries + table + 2 Fisher + forest": response_page}


#: The Hazard ratios page's choices in the benchmark: the screening with the page's default model, and with
#: the counted Cox model as multivariable (at 1,000,000 patients its count table passes the row limit: the
#: page then says so, after its count queries, and fits nothing).
HAZARD_RATIO_METHODS = (MethodState(), MethodState(cox_terms=COUNTED_COX))


def _recorded(con) -> dict:
    row = fetch(con, filter_sql.recorded_counts_sql(), ()).iloc[0]
    return {c: (row[f"{c}__n"], row[f"{c}__d"]) for c in filter_sql.PATIENT_COLUMNS}


def cox_tasks(con) -> dict:
    columns = sorted(set(UNIVARIATE) | set(MULTIVARIABLE))
    frame = fetch(con, f"SELECT pfs_months, pfs_event, {', '.join(columns)} FROM patients "
                       "WHERE pfs_months IS NOT NULL AND pfs_event IS NOT NULL", ())
    return {"frame": frame,
            "Cox univariate, 8 models (patient-level columns)": lambda: univariate_cox(frame, "pfs_months", "pfs_event",
                                                                                     list(UNIVARIATE)),
            "Cox multivariable, 15 terms (patient-level columns)": lambda: fit_cox(frame, "pfs_months", "pfs_event",
                                                                                 list(MULTIVARIABLE))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--r-repeats", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--survival-only", action="store_true")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 1GB")
    parser.add_argument("--only", default=None, metavar="TEXT",
                        help="time only the count tasks whose name contains TEXT (e.g. 'Hazard ratios'), then stop")
    args = parser.parse_args(argv)
    memory.freeze_long_lived()  # as the app's first run: the modules out of the collector's full passes

    start = time.perf_counter()
    con = registry_files.open_registry(args.registry, memory_limit=args.memory_limit)
    n = registry_files.patient_count(con)
    print(f"registry {args.registry}: {n:,} patients, opened in {time.perf_counter() - start:.2f} s; "
          f"DuckDB {duckdb.__version__}, threads {con.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}")
    tasks = survival_tasks(con)
    if not args.survival_only:
        tasks.update(other_page_tasks(con))
        tasks.update(counted_cox_tasks(con))
    page = next(function for name, function in tasks.items() if name.startswith("Survival page: count query +"))
    page()
    print(f"first Survival page answer (cold, opening included): {time.perf_counter() - start:.2f} s")
    if args.only is not None:
        tasks = {name: function for name, function in tasks.items() if args.only in name}
    print(f"{'task':<82} {'median':>9} {'min':>9}")
    for name, function in tasks.items():
        median, low, _ = timed(function, args.repeats)
        print(f"{name:<82} {median * 1000:>7.0f}ms {low * 1000:>7.0f}ms", flush=True)
    print(f"peak RSS after the count-based tasks: {maxrss_mib():,.0f} MiB")
    if args.survival_only or args.only is not None:
        return 0
    cox_counts = fetch(con, *count_sql.cox_counts_sql(FILTERS, "pfs", COUNTED_COX, hide_simulated=False))
    counted_fit = fit_cox_from_counts(cox_counts, list(COUNTED_COX))
    print(f"Cox count table: {len(cox_counts):,} rows (pattern x time) for {n:,} patients")

    cox = cox_tasks(con)
    frame = cox.pop("frame")
    patient_fit = fit_cox(frame, "pfs_months", "pfs_event", list(COUNTED_COX))
    cox[f"Cox patient-level ({', '.join(COUNTED_COX)})"] = lambda: fit_cox(frame, "pfs_months", "pfs_event",
                                                                         list(COUNTED_COX))
    cox[f"Cox patient-level ({', '.join(COUNTED_COX_FEW)})"] = lambda: fit_cox(frame, "pfs_months", "pfs_event",
                                                                             list(COUNTED_COX_FEW))
    gap = float((counted_fit["coef"] - patient_fit["coef"]).abs().max())
    print(f"Cox counted vs patient-level: largest coefficient difference {gap:.1e}")
    ours = {}
    for name, function in cox.items():
        median, low, _ = timed(function, max(1, args.repeats // 2))
        ours[name] = (median, low)
        print(f"{name:<82} {median * 1000:>7.0f}ms {low * 1000:>7.0f}ms", flush=True)
    print(f"peak RSS after Cox (patient-level columns loaded): {maxrss_mib():,.0f} MiB")

    if args.no_r:
        return 0
    available, why = r_available()
    if not available:
        print(why)
        return 0
    with tempfile.TemporaryDirectory(prefix="sarcoma-scale-") as tmp:
        path = Path(tmp) / "cohort.csv"
        select = ", ".join("CAST(pazopanib AS INTEGER) AS pazopanib" if c == "pazopanib" else c for c in R_COLUMNS)
        exporter = duckdb.connect(":memory:")
        files = registry_files.find_files(args.registry).parquet["patients"]
        source = "read_parquet([" + ", ".join(f"'{p}'" for p in files) + "])"
        exporter.execute(f"COPY (SELECT {select} FROM {source} WHERE pfs_months IS NOT NULL AND pfs_event IS NOT "
                         f"NULL) TO '{path}' (HEADER, NULL '')")
        grid = risk_grid(float(exporter.execute(f"SELECT max(pfs_months) FROM {source}").fetchone()[0]))
        r = r_timings_from_csv(path, args.r_repeats, grid)
        script = Path(tmp) / "cox.R"
        script.write_text(R_COX)
        r_cox = subprocess.run(["Rscript", str(script), str(path), ",".join(COUNTED_COX), str(args.r_repeats)],
                               capture_output=True, text=True, check=True).stdout
    print(f"R ({r['version']}), same patients, read in {r['read']:.1f} s (not timed):")
    for task, times in r["time"].items():
        print(f"  R {task:<40} median {statistics.median(times) * 1000:>8.0f}ms  min {min(times) * 1000:>8.0f}ms")
    print(f"  R check: KM median {r['check'].get('km_median')}, log-rank chi2 {r['check'].get('logrank_chisq')}")
    c = fetch(con, *count_sql.survival_counts_sql(FILTERS, "pfs", "histology_group", hide_simulated=False))
    complete = c[c["time"].notna()]
    ours_chisq = logrank_table_from_counts(complete, stratified=False).statistic
    ours_median = kaplan_meier_from_counts(complete["time"], complete["n_event"], complete["n_censor"]).median
    print(f"  ours:    KM median {ours_median!r}, log-rank chi2 {ours_chisq!r} "
          f"(relative difference {abs(ours_chisq - r['check']['logrank_chisq'][0]) / ours_chisq:.1e})")
    lines = dict(line.rstrip("\t ").split("\t", 1) for line in r_cox.splitlines() if "\t" in line)
    times = [float(v) for v in lines["time"].split(",")]
    r_coef = [float(v) for v in lines["coef"].split(",")]
    print(f"  R coxph {', '.join(COUNTED_COX)} (efron): median {statistics.median(times) * 1000:.0f}ms  "
          f"min {min(times) * 1000:.0f}ms; counted fit vs R: largest relative coefficient difference "
          f"{max(abs(a - b) / abs(b) for a, b in zip(counted_fit['coef'], r_coef)):.1e}, log-likelihood "
          f"{counted_fit.attrs['loglik'][1]!r} vs {float(lines['loglik'])!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
