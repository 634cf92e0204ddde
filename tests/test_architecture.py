"""The layering rule: lstm_core is a plain library that never imports streamlit, checked in the source and at runtime."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import lstm_core

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "lstm_core"


def _core_modules() -> list[str]:
    """Every module of the package; ``__main__`` is left out because importing it runs the command line."""
    names = (m.name for m in pkgutil.walk_packages(lstm_core.__path__, prefix="lstm_core."))
    return sorted(n for n in names if not n.endswith(".__main__"))


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_lstm_core_file_imports_streamlit_or_the_app() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 10  # the scan really found the package
    offenders = {str(f.relative_to(ROOT)): _imported_roots(f) & {"streamlit", "ui", "pages", "app"} for f in files}
    assert {f: sorted(bad) for f, bad in offenders.items() if bad} == {}
    dynamic = [str(f.relative_to(ROOT)) for f in files if "import_module(" in f.read_text() or "__import__(" in f.read_text()]
    assert dynamic == []  # a string import would slip past the scan above


def test_importing_every_lstm_core_module_leaves_streamlit_unloaded() -> None:
    modules = _core_modules()
    assert "lstm_core.data" in modules and "lstm_core.plots.data" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_nothing_imports_a_page() -> None:
    importers = [f for f in ROOT.rglob("*.py") if ".venv" not in f.parts and "pages" in _imported_roots(f)]
    assert importers == []
