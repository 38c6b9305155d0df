"""Benchmark of the analyses the pages run, on simulated cohorts of growing size.

Prints figures; asserts nothing about time (design.md: speed is measured by a
benchmark that prints figures, not by timed tests).

Usage (from the repository root)::

    .venv/bin/python bench/run.py                                 # 1k, 10k, 100k patients
    .venv/bin/python bench/run.py --sizes 1000,10000,100000,1000000
    .venv/bin/python bench/run.py --quick                         # well under a minute

For each size a fresh process simulates the cohort (``data/simulate.py``, a
``simulated_*`` study: never real patients) and times, as the pages call them:

* ``km_overall``: :func:`analysis.survival.kaplan_meier` with median and CI,
  S(t) at the landmarks (``survival_at_times``) and ``number_at_risk`` on the
  plot's time grid (Overview and Survival pages);
* ``km_by_group``: :func:`kaplan_meier_by_group` by histology group with
  landmarks, plus each curve's number at risk (Survival page);
* ``logrank``: :func:`logrank_table` over the histology groups;
* ``cox_univariate``: :func:`univariate_cox` over :data:`UNIVARIATE` (Hazard ratios page);
* ``cox_multivariable``: :func:`fit_cox` with :data:`MULTIVARIABLE`;
* ``response_table``: :func:`response_table` by histology group (Response page);
* ``subgroup_rates``: :func:`subgroup_rates` over :data:`SUBGROUPS` (forest plot);
* ``fisher_2x2``: :func:`response_comparison` of ORR and DCR by pazopanib;
* ``fisher_rx2``: :func:`response_comparison` of ORR by histology group
  (11 x 2 exact test, what the Response page runs when grouping by histology).
  A single call without warm-up: from 1,000 patients on it enumerates for
  10-30 s and 2-3 GiB before giving up ("table too large"), and at 1,000,000
  it dies with a MemoryError, so it is skipped above ``--fisher-max-n``
  (default 100,000) and by ``--quick``;
* ``ae_table``: :func:`ae_table` by pazopanib group (Adverse events page).

Each task runs once untimed, then ``--repeats`` times (each repeat runs the
task ``inner`` times so that it lasts at least 50 ms; the time per call is
reported): median and minimum. Peak memory of a task is the ``tracemalloc``
peak of one extra call (numpy buffers included); the process's peak resident
set (``ru_maxrss``) is printed per size. Where ``Rscript`` with package
``survival`` is installed, ``bench/r_timings.R`` times the same KM, log-rank
and Cox work on the same data in the same run (data written to a temporary
CSV; reading it is not timed) and the ratios ours / R of the medians and of
the minima are printed, with a check that both gave the same numbers (KM
median, log-rank chi-square, Cox coefficients); otherwise "R not installed".
Other processes on the machine inflate medians more than minima.

Extending: :func:`analysis_rows` returns the rows (:class:`Row`) of the
analysis table for one size. Another section, e.g. ``bench/app_timings.py``
for the app's cold start and the time from a filter change to the last chart
in headless Chromium, is a module listed in :data:`OPTIONAL_SECTIONS` (already
``bench.app_timings``: it is picked up as soon as the file exists) exposing
``section_rows(args: argparse.Namespace) -> list[Row]`` (``args.sizes``,
``args.repeats``, ``args.quick`` ... as parsed here) and optionally
``SECTION_TITLE``; its rows (``section="app"``, ``task`` a free label, times
in seconds in ``ours_median`` / ``ours_min``) are printed as a table of their
own after the analysis table, with the same columns.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402

from analysis.adverse_events import ae_table  # noqa: E402
from analysis.cox import fit_cox, univariate_cox  # noqa: E402
from analysis.response import response_comparison, response_table, subgroup_rates  # noqa: E402
from analysis.survival import kaplan_meier, kaplan_meier_by_group, logrank_table  # noqa: E402
from data.simulate import DEFAULT_SEED, simulate_cohort  # noqa: E402
from sarcoma_app.views.prepare import risk_grid  # the Survival page's number-at-risk times

R_SCRIPT = Path(__file__).resolve().parent / "r_timings.R"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000, 100_000)
LANDMARKS = (6.0, 12.0)
#: covariates screened one at a time (one Cox model each), as the Hazard ratios page does
UNIVARIATE = ("histology_group", "pazopanib", "ecog", "prior_lines", "primary_site_group", "sex", "age", "stage")
#: covariates of the multivariable Cox model (10 + 5 = 15 terms)
MULTIVARIABLE = ("histology_group", "pazopanib", "ecog", "prior_lines", "age", "sex")
#: subgroup columns of the forest plot (Response page)
SUBGROUPS = ("histology_group", "pazopanib", "ecog", "primary_site_group", "prior_lines", "sex")
#: tasks R also times (bench/r_timings.R), same names
R_TASKS = ("km_overall", "km_by_group", "logrank", "cox_univariate", "cox_multivariable")
#: modules providing further sections: ``section_rows(args) -> list[Row]``
OPTIONAL_SECTIONS = ("bench.app_timings",)
MIN_REPEAT_SECONDS = 0.05


@dataclass
class Row:
    """One line of a printed table (times in seconds, memory in MiB; None = not measured)."""

    section: str
    size: int | None
    task: str
    ours_median: float | None = None
    ours_min: float | None = None
    r_median: float | None = None
    r_min: float | None = None
    peak_mib: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """ours / R, medians."""
        if self.ours_median is None or not self.r_median:
            return None
        return self.ours_median / self.r_median

    @property
    def ratio_min(self) -> float | None:
        """ours / R, minima (less sensitive to other load on the machine)."""
        if self.ours_min is None or not self.r_min:
            return None
        return self.ours_min / self.r_min


# --------------------------------------------------------------------------- #
# Timing helpers
# --------------------------------------------------------------------------- #
def time_call(function: Callable[[], object], repeats: int, warm_up: bool = True,
              min_repeat_seconds: float = MIN_REPEAT_SECONDS) -> tuple[float, float, int]:
    """(median, min) seconds per call over `repeats`, and the inner loop count.

    One untimed warm-up call (also used to size the inner loop so that a
    repeat lasts at least `min_repeat_seconds`, as bench/r_timings.R does);
    ``gc.collect()`` before each repeat, outside the timing.
    """
    if warm_up:
        start = time.perf_counter()
        function()
        single = time.perf_counter() - start
        inner = max(1, math.ceil(min_repeat_seconds / max(single, 1e-6)))
    else:
        inner = 1
    per_call = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(inner):
            function()
        per_call.append((time.perf_counter() - start) / inner)
    return statistics.median(per_call), min(per_call), inner


def peak_memory_mib(function: Callable[[], object]) -> float:
    """Peak traced allocation (MiB) during one call, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 2**20


# --------------------------------------------------------------------------- #
# The analyses
# --------------------------------------------------------------------------- #
def analysis_tasks(patients: pd.DataFrame, adverse_events: pd.DataFrame,
                   grid: np.ndarray) -> dict[str, Callable[[], object]]:
    """The analyses of the pages as zero-argument callables, by task name."""
    analysable = patients[patients["pfs_months"].notna() & patients["pfs_event"].notna()].copy()
    analysable["pfs_months"] = analysable["pfs_months"].astype(float)  # as sarcoma_app.views.prepare.endpoint_data
    analysable["pfs_event"] = analysable["pfs_event"].astype(int)
    durations, events = analysable["pfs_months"], analysable["pfs_event"]
    groups = analysable["histology_group"]
    landmarks = list(LANDMARKS)
    ae_population = patients[["patient_id", "pazopanib"]]

    def km_overall():
        km = kaplan_meier(durations, events, conf_type="log")
        return km.median, km.median_ci, km.survival_at_times(landmarks), km.number_at_risk(grid)

    def km_by_group():
        result = kaplan_meier_by_group(durations, events, groups, conf_type="log", landmarks=landmarks)
        return result.summary, [fit.number_at_risk(grid) for fit in result.fits.values()]

    return {
        "km_overall": km_overall,
        "km_by_group": km_by_group,
        "logrank": lambda: logrank_table(durations, events, groups),
        "cox_univariate": lambda: univariate_cox(analysable, "pfs_months", "pfs_event", list(UNIVARIATE)),
        "cox_multivariable": lambda: fit_cox(analysable, "pfs_months", "pfs_event", list(MULTIVARIABLE)),
        "response_table": lambda: response_table(patients, group_col="histology_group"),
        "subgroup_rates": lambda: subgroup_rates(patients, list(SUBGROUPS), endpoint="orr"),
        "fisher_2x2": lambda: [response_comparison(patients, "pazopanib", endpoint=e) for e in ("orr", "dcr")],
        "fisher_rx2": lambda: response_comparison(patients, "histology_group", endpoint="orr"),
        "ae_table": lambda: ae_table(adverse_events, ae_population, group_col="pazopanib"),
    }


TASK_LABELS = {
    "km_overall": "KM all: median+CI, S(6,12), at risk",
    "km_by_group": "KM by histology group (11 curves)",
    "logrank": "log-rank, 11 histology groups",
    "cox_univariate": f"Cox univariate, {len(UNIVARIATE)} models",
    "cox_multivariable": f"Cox multivariable, {len(MULTIVARIABLE)} covariates (15 terms)",
    "response_table": "response_table by histology group",
    "subgroup_rates": f"subgroup_rates, {len(SUBGROUPS)} columns (ORR)",
    "fisher_2x2": "response_comparison ORR+DCR, pazopanib (2x2)",
    "fisher_rx2": "response_comparison ORR, histology (11x2)",
    "ae_table": "ae_table by pazopanib group",
}


def r_available() -> tuple[bool, str]:
    """(True, "") when Rscript and package survival are usable, else (False, reason)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return False, "R not installed"
    probe = subprocess.run([rscript, "-e", "suppressPackageStartupMessages(library(survival))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return False, "R package survival not installed"
    return True, ""


R_COLUMNS = ["pfs_months", "pfs_event", "histology_group", "pazopanib", "ecog", "prior_lines",
             "primary_site_group", "sex", "age", "stage"]


def r_timings(analysable: pd.DataFrame, repeats: int, grid: np.ndarray,
              min_repeat_seconds: float = MIN_REPEAT_SECONDS) -> dict:
    """Run bench/r_timings.R on `analysable`; {"time": {task: [s...]}, "check": {...}, ...}."""
    frame = analysable[R_COLUMNS].copy()
    frame["pazopanib"] = frame["pazopanib"].astype("Int8")  # 0/1/empty
    with tempfile.TemporaryDirectory(prefix="sarcoma-bench-") as tmp:
        path = Path(tmp) / "cohort.csv"
        frame.to_csv(path, index=False, na_rep="", float_format="%.17g")
        return r_timings_from_csv(path, repeats, grid, min_repeat_seconds)


def r_timings_from_csv(path: Path, repeats: int, grid: np.ndarray,
                       min_repeat_seconds: float = MIN_REPEAT_SECONDS) -> dict:
    """Run bench/r_timings.R on a CSV with the columns :data:`R_COLUMNS` (see :func:`r_timings`)."""
    command = ["Rscript", str(R_SCRIPT), str(path), str(repeats),
               ",".join(f"{t:.17g}" for t in LANDMARKS), ",".join(f"{t:.17g}" for t in grid),
               ",".join(UNIVARIATE), ",".join(MULTIVARIABLE), f"{min_repeat_seconds:g}"]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/r_timings.R failed:\n{completed.stderr[-2000:]}")
    result: dict = {"time": {}, "inner": {}, "check": {}, "read": None, "version": ""}
    for line in completed.stdout.splitlines():
        parts = line.rstrip("\t ").split("\t")
        if parts[0] == "time":
            result["time"][parts[1]] = [float(v) for v in parts[3].split(",")]
            result["inner"][parts[1]] = int(parts[2])
        elif parts[0] == "check":
            result["check"][parts[1]] = [float(v) for v in parts[2].split(",")]
        elif parts[0] == "read":
            result["read"] = float(parts[1])
        elif parts[0] == "version":
            result["version"] = " / survival ".join(parts[1:3])
    return result


def analysis_rows(n_patients: int, repeats: int = 5, seed: int = DEFAULT_SEED, with_r: bool = True,
                  memory: bool = True, fisher_max_n: int = 100_000, skip: tuple[str, ...] = (),
                  time_decimals: int | str | None = "auto",
                  min_repeat_seconds: float = MIN_REPEAT_SECONDS) -> list[Row]:
    """Rows of the analysis table for one cohort size (runs in the calling process).

    Parameters
    ----------
    n_patients : int
        Size of the simulated cohort.
    repeats : int
        Timed repeats per task (after one warm-up call).
    seed : int
        Seed of :func:`data.simulate.simulate_cohort`.
    with_r : bool
        Also time the KM, log-rank and Cox work in R (if installed).
    memory : bool
        Measure each task's tracemalloc peak with one extra call.
    fisher_max_n : int
        Skip the r x 2 Fisher test above this many patients.
    skip : tuple of str
        Task names not to run.
    time_decimals : int, "auto" or None
        Passed to :func:`data.simulate.simulate_cohort` ("auto": mostly
        distinct PFS times; 2: the heavy ties of published data).
    min_repeat_seconds : float
        A repeat runs a fast task several times to last at least this long.

    Returns
    -------
    list of Row
        One row per task, plus a final "process" row holding the peak RSS,
        the simulation time and R-vs-ours checks in ``extra``.
    """
    start = time.perf_counter()
    patients, adverse_events = simulate_cohort(n_patients, seed=seed, time_decimals=time_decimals)
    simulate_seconds = time.perf_counter() - start
    grid = risk_grid(float(patients["pfs_months"].max()))
    tasks = analysis_tasks(patients, adverse_events, grid)
    checks: dict = {}

    def maxrss_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    by_name: dict[str, Row] = {}
    # the 11 x 2 Fisher test runs last, so the peak RSS without it can be reported too
    order = [name for name in tasks if name != "fisher_rx2"] + ["fisher_rx2"]
    maxrss_before_fisher = None
    for name in order:
        function = tasks[name]
        row = by_name[name] = Row("analysis", n_patients, name)
        if name in skip:
            row.note = "skipped (--skip)"
        elif name == "fisher_rx2" and n_patients > fisher_max_n:
            row.note = ("skipped (--quick or --fisher-max-n 0)" if fisher_max_n == 0
                        else f"skipped: n > --fisher-max-n={fisher_max_n}")
        elif name == "fisher_rx2":
            # slow (seconds) and memory-hungry: a single call, no warm-up, no tracemalloc pass
            gc.collect()
            maxrss_before_fisher = maxrss_mib()
            start = time.perf_counter()
            result = function()
            row.ours_median = row.ours_min = time.perf_counter() - start
            grown = maxrss_mib() - maxrss_before_fisher
            row.note = (f"1 call; peak RSS +{grown:,.0f} MiB; "
                        + (f"p = {result.p_value:.3g}" if not math.isnan(result.p_value) else f"no p: {result.note}"))
        else:
            row.ours_median, row.ours_min, inner = time_call(function, repeats,
                                                             min_repeat_seconds=min_repeat_seconds)
            row.extra["inner"] = inner
            if memory:
                row.peak_mib = peak_memory_mib(function)
    rows = [by_name[name] for name in tasks]

    r_note = ""
    if with_r:
        available, r_note = r_available()
        if available:
            analysable = patients[patients["pfs_months"].notna() & patients["pfs_event"].notna()]
            r = r_timings(analysable, repeats, grid, min_repeat_seconds)
            for row in rows:
                if row.task in r["time"]:
                    row.r_median = statistics.median(r["time"][row.task])
                    row.r_min = min(r["time"][row.task])
            checks = _check_against_r(tasks, r["check"])
            checks["r_read_seconds"] = r["read"]
            checks["r_version"] = r["version"]
    else:
        r_note = "R skipped (--no-r)"
    for row in rows:
        if row.task in R_TASKS and row.r_median is None and r_note and not row.note:
            row.note = r_note
    rows.append(Row("process", n_patients, "process", extra={
        "maxrss_mib": maxrss_mib(),
        "maxrss_before_fisher_mib": maxrss_before_fisher,
        "simulate_seconds": simulate_seconds,
        "n_adverse_events": len(adverse_events),
        "pfs_events": int(patients["pfs_event"].sum()),
        "distinct_pfs_times": int(patients["pfs_months"].nunique()),
        **checks,
    }))
    return rows


def _check_against_r(tasks: dict, r_check: dict) -> dict:
    """Largest differences between our results and R's on the same data (same work?)."""
    km = tasks["km_overall"]()
    lr = tasks["logrank"]()
    cox = tasks["cox_multivariable"]()
    out = {}
    if "km_median" in r_check:
        out["km_median_diff"] = abs(km[0] - r_check["km_median"][0])
    if "logrank_chisq" in r_check:
        out["logrank_rel_diff"] = abs(lr.statistic - r_check["logrank_chisq"][0]) / abs(lr.statistic)
    if "cox_coef" in r_check and len(r_check["cox_coef"]) == len(cox):
        out["cox_coef_max_diff"] = float(np.max(np.abs(cox["coef"].to_numpy() - np.array(r_check["cox_coef"]))))
    return out


# --------------------------------------------------------------------------- #
# Printing
# --------------------------------------------------------------------------- #
def environment_lines() -> list[str]:
    """CPU, Python and library versions, R if present."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
               if k in os.environ}
    lines = [
        f"CPU: {os.cpu_count()} logical CPUs ({affinity} usable), {cpu or 'model unknown'}",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"scipy {scipy.__version__}" + (f", threads {threads}" if threads else ""),
    ]
    available, reason = r_available()
    if available:
        version = subprocess.run(
            ["Rscript", "-e", "cat(R.version.string, '/ survival', as.character(packageVersion('survival')))"],
            capture_output=True, text=True).stdout.strip()
        lines.append(f"R: {version}")
    else:
        lines.append(f"R: {reason}")
    return lines


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def format_table(rows: list[Row]) -> str:
    """Fixed-width table of timing rows (times in ms)."""
    header = ["n", "analysis", "ours median ms", "ours min ms", "R median ms", "R min ms", "ours/R",
              "ours/R (min)", "peak MiB", "note"]
    body = []
    for row in rows:
        body.append([
            f"{row.size:,}" if row.size is not None else "",
            TASK_LABELS.get(row.task, row.task),
            _ms(row.ours_median), _ms(row.ours_min), _ms(row.r_median), _ms(row.r_min),
            f"{row.ratio:.2f}" if row.ratio is not None else "-",
            f"{row.ratio_min:.2f}" if row.ratio_min is not None else "-",
            f"{row.peak_mib:.1f}" if row.peak_mib is not None else "-",
            row.note,
        ])
    widths = [max(len(str(line[i])) for line in [header] + body) for i in range(len(header))]
    right = {0, 2, 3, 4, 5, 6, 7, 8}

    def render(line):
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        return " | ".join(cells).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    lines = [render(header), rule]
    previous = None
    for row, line in zip(rows, body):
        if previous is not None and row.size != previous:
            lines.append(rule)
        lines.append(render(line))
        previous = row.size
    return "\n".join(lines)


def format_process_lines(process_rows: list[Row]) -> list[str]:
    lines = []
    for row in process_rows:
        x = row.extra
        rss = f"peak RSS {x['maxrss_mib']:.0f} MiB"
        if x.get("maxrss_before_fisher_mib") is not None:
            rss = f"peak RSS {x['maxrss_before_fisher_mib']:.0f} MiB ({x['maxrss_mib']:.0f} MiB with the 11x2 Fisher test)"
        text = (f"n={row.size:,}: {rss}; simulated in {x['simulate_seconds']:.2f} s "
                f"({x['n_adverse_events']:,} AEs, {x['pfs_events']:,} PFS events, "
                f"{x['distinct_pfs_times']:,} distinct PFS times)")
        if "cox_coef_max_diff" in x:
            text += (f"; same result as R: |KM median diff| {x.get('km_median_diff', float('nan')):.1g}, "
                     f"log-rank rel. diff {x.get('logrank_rel_diff', float('nan')):.1g}, "
                     f"max |Cox coef diff| {x['cox_coef_max_diff']:.1g}; R CSV read {x['r_read_seconds']:.2f} s (not timed)")
        lines.append(text)
    return lines


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #
def _parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        multiplier = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        sizes.append(int(float(part.rstrip("km")) * multiplier))
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the pages' analyses on simulated cohorts (prints figures).")
    parser.add_argument("--sizes", default=None,
                        help="comma-separated cohort sizes, e.g. 1000,10000,100000,1000000 (or 1k,10k,1m); "
                             "default 1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per task (default 5, quick 2)")
    parser.add_argument("--quick", action="store_true",
                        help="1k,10k,100k with 2 repeats of >= 20 ms, no tracemalloc pass, no 11 x 2 Fisher "
                             "(under a minute)")
    parser.add_argument("--no-r", action="store_true", help="do not time R even if installed")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--fisher-max-n", type=int, default=None,
                        help="skip the 11 x 2 Fisher test above this many patients (default 100000, quick 0)")
    parser.add_argument("--skip", default="", help="comma-separated task names not to run")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--time-decimals", default="auto",
                        help="decimals of the simulated PFS times: auto (mostly distinct, default) or an integer "
                             "(2 = ties as in published data)")
    parser.add_argument("--in-process", action="store_true",
                        help="run all sizes in this process (default: a fresh process per size, for a clean peak RSS)")
    parser.add_argument("--app-only", action="store_true", help="only the app section (browser timings)")
    parser.add_argument("--no-app", action="store_true", help="skip the app section")
    parser.add_argument("--app-pages", default="overview,survival,response,hazard-ratios",
                        help="comma-separated pages timed in the browser (overview = the home page)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = _parse_sizes(args.sizes) if args.sizes else list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    args.min_repeat_seconds = 0.02 if args.quick else MIN_REPEAT_SECONDS
    if args.fisher_max_n is None:
        args.fisher_max_n = 0 if args.quick else 100_000
    if args.quick:
        args.no_memory = True
    args.skip = tuple(s for s in args.skip.split(",") if s)
    args.app_pages = tuple("" if s == "overview" else s for s in args.app_pages.split(",") if s)
    if args.time_decimals != "auto":
        args.time_decimals = int(args.time_decimals)
    return args


def _rows_for_size(n: int, args: argparse.Namespace) -> list[Row]:
    kwargs = dict(repeats=args.repeats, seed=args.seed, with_r=not args.no_r, memory=not args.no_memory,
                  fisher_max_n=args.fisher_max_n, skip=args.skip, time_decimals=args.time_decimals,
                  min_repeat_seconds=args.min_repeat_seconds)
    if args.in_process:
        return analysis_rows(n, **kwargs)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(n), "--repeats", str(args.repeats),
               "--seed", str(args.seed), "--fisher-max-n", str(args.fisher_max_n), "--skip", ",".join(args.skip),
               "--time-decimals", str(args.time_decimals)] + ["--quick"] * args.quick
    command += ["--no-r"] * args.no_r + ["--no-memory"] * args.no_memory
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        return [Row("analysis", n, "worker", note=f"failed (exit {completed.returncode}): "
                    f"{completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else ''}")]
    return [Row(**row) for row in json.loads(completed.stdout.strip().splitlines()[-1])]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:  # child process: one size, rows as JSON on the last line
        rows = analysis_rows(args.worker, repeats=args.repeats, seed=args.seed, with_r=not args.no_r,
                             memory=not args.no_memory, fisher_max_n=args.fisher_max_n, skip=args.skip,
                             time_decimals=args.time_decimals, min_repeat_seconds=args.min_repeat_seconds)
        print(json.dumps([asdict(row) for row in rows]))
        return 0

    started = time.perf_counter()
    print("Sarcoma explorer benchmark: analyses on simulated cohorts (data/simulate.py; not real patients)")
    for line in environment_lines():
        print(line)
    print(f"sizes {', '.join(f'{n:,}' for n in args.sizes)}; {args.repeats} repeats per task after one warm-up "
          f"(median and min per call); seed {args.seed}; PFS time decimals {args.time_decimals}"
          + ("; --quick" if args.quick else ""), flush=True)
    print()
    rows = []
    for n in [] if args.app_only else args.sizes:
        size_start = time.perf_counter()
        rows += _rows_for_size(n, args)
        print(f"  [n={n:,} done in {time.perf_counter() - size_start:.1f} s]", file=sys.stderr, flush=True)
    if rows:
        print("Analyses (analysis/), per call")
        print(format_table([r for r in rows if r.section == "analysis"]))
        print()
        for line in format_process_lines([r for r in rows if r.section == "process"]):
            print(line)

    for module_name in () if args.no_app else OPTIONAL_SECTIONS:  # e.g. bench/app_timings.py
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        section = module.section_rows(args)
        if section:
            print()
            print(f"{getattr(module, 'SECTION_TITLE', module_name)}")
            print(format_table(section))
    print()
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
