"""Benchmark of the pages' analyses on a registry read in place, with DuckDB doing the counting.

Prints figures; asserts nothing about time. Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python bench/make_registry.py --patients 1000000 --out /tmp/reg_1m
    PYTHONPATH=. .venv/bin/python bench/scale.py --registry /tmp/reg_1m            # with R on the same data
    PYTHONPATH=. .venv/bin/python bench/scale.py --registry /tmp/reg_10m --no-r --survival-only

The registry is opened as the app opens it (:func:`sarcoma_app.sources.registry_files.open_registry`) and every
page task runs as the page runs it on a source above :data:`sarcoma_app.limits.SCALE`: one count query over the
filtered rows (all patients here, the slowest case) and the exact count-based analysis on its result. The
patient table is never loaded for these tasks. Each task runs once untimed, then ``--repeats`` times; median
and minimum are printed, with the rows of the count table. The process's peak RSS (``ru_maxrss``) is printed
after the count tasks, before anything patient-level.

Then, unless ``--survival-only``: Cox (univariate, 8 models; multivariable, 15 terms) on the patient-level
columns it needs (Cox with a numeric covariate such as age has no compact form), read from the registry
through DuckDB; and, unless ``--no-r``, ``bench/r_timings.R`` on the same patients (written to a temporary
CSV by DuckDB; reading it is not timed), so R's KM, log-rank and Cox are measured in the same run. The
machine is shared: figures are noisy, minima less so.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from analysis.adverse_events import ae_table_from_counts  # noqa: E402
from analysis.cox import fit_cox, univariate_cox  # noqa: E402
from analysis.response import response_comparison, response_table, subgroup_rates  # noqa: E402
from analysis.survival import (kaplan_meier_by_group_from_counts, kaplan_meier_from_counts,  # noqa: E402
                               logrank_table_from_counts)
from bench.run import LANDMARKS, MULTIVARIABLE, R_COLUMNS, SUBGROUPS, UNIVARIATE, r_available, r_timings_from_csv  # noqa: E402
from sarcoma_app.sources import count_sql, filter_sql, registry_files  # noqa: E402
from sarcoma_app.views.prepare import risk_grid  # noqa: E402
from sarcoma_app.viewstate.url_state import FilterState  # noqa: E402

FILTERS = FilterState()


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

    return {"AE table by pazopanib (1 count query + table)": ae_page,
            "response_comparison ORR+DCR 2x2 (count query + Fisher)": fisher_2x2,
            "subgroup_rates 6 columns (count query + Fisher)": forest,
            "Response page: 3 count queries + table + 2 Fisher + forest": response_page}


def cox_tasks(con) -> dict:
    columns = sorted(set(UNIVARIATE) | set(MULTIVARIABLE))
    frame = fetch(con, f"SELECT pfs_months, pfs_event, {', '.join(columns)} FROM patients "
                       "WHERE pfs_months IS NOT NULL AND pfs_event IS NOT NULL", ())
    return {"Cox univariate, 8 models (patient-level columns)": lambda: univariate_cox(frame, "pfs_months", "pfs_event",
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
    args = parser.parse_args(argv)

    start = time.perf_counter()
    con = registry_files.open_registry(args.registry, memory_limit=args.memory_limit)
    n = registry_files.patient_count(con)
    print(f"registry {args.registry}: {n:,} patients, opened in {time.perf_counter() - start:.2f} s; "
          f"DuckDB {duckdb.__version__}, threads {con.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}")
    tasks = survival_tasks(con)
    if not args.survival_only:
        tasks.update(other_page_tasks(con))
    page = next(function for name, function in tasks.items() if name.startswith("Survival page: count query +"))
    page()
    print(f"first Survival page answer (cold, opening included): {time.perf_counter() - start:.2f} s")
    print(f"{'task':<82} {'median':>9} {'min':>9}")
    for name, function in tasks.items():
        median, low, _ = timed(function, args.repeats)
        print(f"{name:<82} {median * 1000:>7.0f}ms {low * 1000:>7.0f}ms", flush=True)
    print(f"peak RSS after the count-based tasks: {maxrss_mib():,.0f} MiB")
    if args.survival_only:
        return 0

    cox = cox_tasks(con)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
