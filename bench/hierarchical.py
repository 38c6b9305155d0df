"""Time of the hierarchical response model (the Response page's borrowing section) per filter change.

Prints figures; asserts nothing (design.md: speed is measured by a benchmark that prints figures).

Usage (from the repository root)::

    .venv/bin/python bench/hierarchical.py               # 5, 10, 20, 40 subtypes; EX and EXNEX
    .venv/bin/python bench/hierarchical.py --repeats 3

Each row is :func:`analysis.hierarchical.hierarchical_rates` on seeded random subtypes: "small" subtypes have
1-9 patients (as the bundled cohorts; zero and all-responder subtypes widen the lattice: the worst case), "large"
ones 50-500, "registry" ones 2,000-10,000 (a simulated registry: the finest lattice, capped at 4,000 cells). Median and minimum of the repeats, after one warm-up call.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.hierarchical import hierarchical_rates  # noqa: E402

SIZES = {"small": (1, 10), "large": (50, 501), "registry": (2000, 10001)}


def rows(subtypes=(5, 10, 20, 40), repeats: int = 7, seed: int = 16) -> list[dict]:
    """One timing per (number of subtypes, subtype size, model)."""
    out = []
    rng = np.random.default_rng(seed)
    for j in subtypes:
        for size, (low, high) in SIZES.items():
            n = rng.integers(low, high, j)
            y = rng.binomial(n, rng.uniform(0.02, 0.5, j))
            for model in ("ex", "exnex"):
                hierarchical_rates(y, n, model=model)  # warm-up
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    hierarchical_rates(y, n, model=model)
                    times.append(time.perf_counter() - started)
                out.append({"subtypes": j, "size": size, "model": model, "median_ms": 1000 * statistics.median(times),
                            "min_ms": 1000 * min(times)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"{'subtypes':>8}  {'patients each':<14} {'model':<6} {'median ms':>10} {'min ms':>8}")
    for row in rows(repeats=args.repeats):
        size = {"small": "1-9", "large": "50-500", "registry": "2000-10000"}[row["size"]]
        print(f"{row['subtypes']:>8}  {size:<14} {row['model']:<6} {row['median_ms']:>10.1f} {row['min_ms']:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
