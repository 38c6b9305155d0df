"""Write a simulated registry (NOT real patients) as a Parquet folder in parts, for scale tests.

    PYTHONPATH=. .venv/bin/python bench/make_registry.py --patients 10000000 --part 1000000 --out /tmp/reg_10m

Each part of ``--part`` patients is simulated by :func:`data.simulate.simulate_cohort` with its own seed
(seed + part number), so memory stays that of one part; patient ids get the part number as a prefix so they
stay unique. The folder holds ``patients/part-NNN.parquet``, ``adverse_events/part-NNN.parquet`` and
``studies.parquet`` (one study, ``simulated_<label>``), the layout
:mod:`sarcoma_app.sources.registry_files` reads. Never commit the output.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from data.simulate import DEFAULT_SEED, simulate_cohort, study_label, study_record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, required=True)
    parser.add_argument("--part", type=int, default=1_000_000, help="patients per Parquet part")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--time-decimals", type=int, default=2,
                        help="decimals of a month of the PFS/OS times (2, as the papers and date-based registries)")
    args = parser.parse_args(argv)
    label = study_label(args.patients)
    (args.out / "patients").mkdir(parents=True, exist_ok=True)
    (args.out / "adverse_events").mkdir(parents=True, exist_ok=True)
    start, done, studies = time.perf_counter(), 0, None
    for part in range((args.patients + args.part - 1) // args.part):
        n = min(args.part, args.patients - done)
        patients, events = simulate_cohort(n, seed=args.seed + part, label=label, time_decimals=args.time_decimals)
        prefix = f"P{part:03d}-"
        patients["patient_id"] = prefix + patients["patient_id"].astype(str)
        events["patient_id"] = prefix + events["patient_id"].astype(str)
        patients.to_parquet(args.out / "patients" / f"part-{part:03d}.parquet", index=False)
        events.to_parquet(args.out / "adverse_events" / f"part-{part:03d}.parquet", index=False)
        record = study_record(patients)
        studies = record if studies is None else studies.assign(
            n_treated=studies["n_treated"] + record["n_treated"], n_evaluable=studies["n_evaluable"] + record["n_evaluable"])
        done += n
        print(f"part {part}: {n:,} patients ({done:,} in {time.perf_counter() - start:.1f} s)", flush=True)
    pd.DataFrame(studies).to_parquet(args.out / "studies.parquet", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
