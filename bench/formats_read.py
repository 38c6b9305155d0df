"""What reading a standard-format file at the cell limit costs: ``PYTHONPATH=. python bench/formats_read.py``.

Prints CPU seconds and peak traced memory of :func:`sarcoma_app.ingest.formats.base.read_any` on a
Parquet file and an XPORT file of :data:`sarcoma_app.limits.LIMITS` ``binary_cells`` cells (and one cell
more, refused from its metadata), and of a whole cBioPortal / ADaM / REDCap fixture read.
"""
from __future__ import annotations

import io
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sarcoma_app.ingest.formats import prepare_standard, read_standard
from sarcoma_app.ingest.formats.base import read_any
from sarcoma_app.limits import LIMITS

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "formats"


def measure(label: str, action) -> None:
    tracemalloc.start()
    start = time.process_time()
    outcome = action()
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    print(f"{label:<58} {seconds:6.2f} s CPU  {peak:7.1f} MB peak  {outcome}")


def frame(rows: int, columns: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = {f"V{i}": rng.integers(0, 50, rows).astype(float) * 7.5 for i in range(columns - 1)}  # compressible
    return pd.DataFrame({"USUBJID": [f"S{i}" for i in range(rows)], **data})


def main() -> None:
    import pyreadstat

    rows = LIMITS.binary_cells.value // 20
    for n in (rows, rows + 1):
        buffer = io.BytesIO()
        frame(n).to_parquet(buffer, index=False)
        data = buffer.getvalue()
        measure(f"Parquet {n:,} x 20 ({len(data) / (1 << 20):.1f} MB)",
                lambda: "read" if read_any("adtte.parquet", data)[0] is not None else "refused")
    small = rows // 4
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "adtte.xpt"
        pyreadstat.write_xport(frame(small), str(path), file_format_version=5)
        data = path.read_bytes()
    measure(f"XPORT {small:,} x 20 ({len(data) / (1 << 20):.1f} MB)",
            lambda: "read" if read_any("adtte.xpt", data)[0] is not None else "refused")
    for folder, names in (("cbioportal", None), ("adam", None), ("redcap", ("export_raw.csv", "data_dictionary.csv"))):
        files = [(p.name, p.read_bytes()) for p in sorted((FIXTURES / folder).iterdir())
                 if names is None or p.name in names]
        measure(f"fixture {folder}: read + check",
                lambda files=files: "ok" if prepare_standard(read_standard(files)).ok else "refused")


if __name__ == "__main__":
    main()
