"""bench/run.py still runs (a smoke test: no timing assertions, R not called)."""
from __future__ import annotations

from bench import run


def test_analysis_rows_cover_every_task():
    rows = run.analysis_rows(300, repeats=1, with_r=False, memory=False, fisher_max_n=0, min_repeat_seconds=0)
    tasks = [row.task for row in rows if row.section == "analysis"]
    assert tasks == list(run.TASK_LABELS)
    timed = [row for row in rows if row.section == "analysis" and row.task != "fisher_rx2"]
    assert all(row.ours_median is not None and row.ours_median >= 0 for row in timed)
    assert rows[-1].section == "process" and rows[-1].extra["maxrss_mib"] > 0
    table = run.format_table([row for row in rows if row.section == "analysis"])
    assert "Cox univariate" in table and "skipped" in table


def test_sizes_parse():
    assert run._parse_sizes("1k,10000,1m") == [1_000, 10_000, 1_000_000]
