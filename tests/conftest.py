import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Every chart a test shows (AppTest, and the browser tests' server, which inherits this) is checked against the
# Vega-Lite schema; the served app leaves that check out (sarcoma_app/render/vega.py).
from sarcoma_app.render.vega import VALIDATE_ENV  # noqa: E402

os.environ[VALIDATE_ENV] = "1"


def count_source(kind: str, seed: int):
    """A DuckDB connection holding ``patients``: the bundled database (``kind`` "bundled", read-only) or 5,000
    simulated patients (``seed``), for the tests of the database-counted pages."""
    import duckdb

    from data.build import ensure_database
    from data.simulate import simulate_cohort

    if kind == "bundled":
        return duckdb.connect(str(ensure_database()), read_only=True)
    connection = duckdb.connect(":memory:")
    connection.register("frame", simulate_cohort(5_000, seed=seed, time_decimals=2)[0])
    connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
    return connection
