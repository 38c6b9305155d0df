"""The layer rules of design.md, enforced by parsing imports."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder, forbidden", [
    ("analysis", {"streamlit", "altair", "duckdb", "sarcoma_app", "charts"}),
    ("charts", {"streamlit", "duckdb", "sarcoma_app"}),
    ("pages", {"duckdb"}),
])
def test_layer_does_not_import(folder, forbidden):
    files = sorted((ROOT / folder).glob("*.py"))
    assert files, f"{folder}/ has no modules"
    offenders = {f.name: sorted(imported_modules(f) & forbidden) for f in files if imported_modules(f) & forbidden}
    assert offenders == {}


def test_app_opens_duckdb_read_only():
    sources = "\n".join(p.read_text() for p in (ROOT / "sarcoma_app").glob("*.py"))
    connects = [line for line in sources.splitlines() if "duckdb.connect(" in line]
    assert connects, "the app must open the bundled database somewhere in sarcoma_app/"
    assert all("read_only=True" in line for line in connects if "memory" not in line), connects
