"""The layering rule: lstm_core is a plain library that never imports streamlit, checked in the source and at runtime."""

from __future__ import annotations

import ast
import json
import pkgutil
import re
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


# ---------------------------------------------------------------- the import graph

APP_FILES = ["app.py", "pages", "ui", "lstm_core"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks: annotations only, never run."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines |= set(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (at its top or inside a function), for the whole app."""
    files = [p for entry in APP_FILES for p in ([ROOT / entry] if entry.endswith(".py") else (ROOT / entry).rglob("*.py"))]
    modules = {_module_name(f): f for f in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        skip = _type_checking_lines(tree)
        targets: set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:  # `from pkg import submodule` depends on the submodule itself
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_whole_app_imports_without_a_cycle() -> None:
    graph = import_graph()
    assert {"app", "pages.gates", "ui.session", "lstm_core.runs.run", "lstm_core.baselines.persistence"} <= set(graph)
    assert "lstm_core.runs.run" in graph["lstm_core.runs.bundle"]  # the scan sees real edges
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


CLOSED_SETS = {"target", "cell", "optimizer", "stop_reason", "reason", "pruner", "state", "source", "status", "split"}


def _name_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _string_literals(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_string_literals(e) for e in node.elts)
    return False


def literal_comparisons(source: str) -> list[int]:
    """Lines comparing a closed set's value (a target, cell, stop reason, ...) with a string literal."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = any(_name_of(side) in CLOSED_SETS for side in sides)
            if named and any(_string_literals(side) for side in sides):
                lines.append(node.lineno)
    return lines


def test_closed_sets_are_compared_with_their_enum_members_not_strings() -> None:
    assert literal_comparisons('if run.config.cell == "lstm": pass\nif job.status in ("done",): pass') == [1, 2]
    assert literal_comparisons("if run.config.cell == Cell.LSTM: pass") == []
    files = [p for entry in APP_FILES for p in ([ROOT / entry] if entry.endswith(".py") else (ROOT / entry).rglob("*.py"))]
    found = {str(f.relative_to(ROOT)): literal_comparisons(f.read_text()) for f in files}
    assert {f: lines for f, lines in found.items() if lines} == {}


def test_one_module_reads_the_servers_settings_and_docs_list_them_all() -> None:
    """Every ``LSTM_LAB_*`` variable is read through lstm_core.server_settings (one table: type, default, range, help),
    and docs/settings.md is that table as written by ``python -m lstm_core.server_settings``."""
    from lstm_core.server_settings import TEST_ONLY, ServerSettings, markdown

    readers = []
    for path in [*CORE.rglob("*.py"), *(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), ROOT / "app.py"]:
        reads = re.search(r"(environ|getenv)\W[^\n]*LSTM_LAB_", path.read_text())  # a read of one, on one line
        if path.name != "server_settings.py" and reads:
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []
    assert (ROOT / "docs" / "settings.md").read_text() == markdown()
    named = {spec.env for spec in ServerSettings.specs()} | set(TEST_ONLY)
    used = set()
    for path in [*CORE.rglob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py", ROOT / "README.md",
                 *(ROOT / "docs").glob("*.md")]:
        used |= set(re.findall(r"LSTM_LAB_[A-Z_]*[A-Z](?![A-Z_]*\*)", path.read_text()))
    assert used - named == set()  # every variable the code or the docs name is in the table


def test_the_training_loop_imports_nothing_about_jobs() -> None:
    """The trainer gets its evaluation chunk as an argument: it knows no job limits, costs, workers or backends."""
    tree = ast.parse((CORE / "trainer.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in imported if m.startswith("lstm_core.")} <= {"lstm_core.config", "lstm_core.model",
                                                                    "lstm_core.pipeline"}


def test_few_modules_at_the_top_and_every_folder_says_what_it_owns() -> None:
    top = sorted(p.name for p in CORE.glob("*.py"))
    assert len(top) <= 15, top
    for package in sorted(p.parent for p in CORE.rglob("__init__.py")):
        if package == CORE:
            continue
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc and len(doc) > 40, f"{package.relative_to(ROOT)} has no docstring saying what it owns"


def test_the_gates_pages_ask_the_data_kind_instead_of_branching_on_it() -> None:
    """Prices or a memory task is decided once (lstm_core.gates.kinds); the Gates UI reads the kind's flags and words."""
    for name in ("gates.py", "unit_search.py"):
        assert "is_task" not in (ROOT / "ui" / name).read_text(), name


def score_reads_by_name(source: str) -> list[int]:
    """Lines reading a score by a string (``row["rmse"]``, ``row.get("skill")``) rather than as a ``Score`` field."""
    from lstm_core.evaluate import SCORE_NAMES

    lines = []
    for node in ast.walk(ast.parse(source)):
        key = None
        if isinstance(node, ast.Subscript):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            key = node.args[0]
        if isinstance(key, ast.Constant) and key.value in SCORE_NAMES:
            lines.append(node.lineno)
    return lines


def test_scores_are_read_as_fields_of_a_typed_score() -> None:
    """A run's scores are ``Scores`` of ``Score``: no page or module reads one by a literal name, except the two that
    make them, a run's (evaluate) and a basket's panel (a table that lists scores by name uses ``Score.get``)."""
    assert score_reads_by_name('a = row["rmse"]\nb = row.get("skill")\nc = row.rmse\nd = table["model"]') == [1, 2]
    files = [p for entry in APP_FILES for p in ([ROOT / entry] if entry.endswith(".py") else (ROOT / entry).rglob("*.py"))]
    found = {str(f.relative_to(ROOT)): score_reads_by_name(f.read_text()) for f in files}
    makers = {"lstm_core/evaluate.py", "lstm_core/basket/run.py"}
    assert {f: lines for f, lines in found.items() if lines and f not in makers} == {}


def test_browser_tests_live_where_ci_collects_them():
    """.ci/run's browser parts collect tests/test_browser_*.py and tests/test_bench.py only: a browser test elsewhere
    would never run."""
    tests = Path(__file__).resolve().parent
    marked = {path.name for path in tests.glob("test_*.py")
              if re.search(r"^(pytestmark = .*|@)pytest\.mark\.browser", path.read_text(), re.MULTILINE)}
    assert marked and {name for name in marked if not name.startswith("test_browser_")} <= {"test_bench.py"}
    assert "browser_files=(tests/test_browser_*.py tests/test_bench.py)" in (tests.parent / ".ci" / "run").read_text()


def test_the_fixtures_that_keep_tests_together_are_module_fixtures_of_their_files():
    """A renamed fixture would silently spread its tests over both test processes (tests/conftest.py)."""
    from tests.conftest import KEEP_TOGETHER

    for path, names in KEEP_TOGETHER.items():
        source = (ROOT / path).read_text()
        for name in names:
            assert re.search(rf'@pytest\.fixture\(scope="module"\)\ndef {name}\(', source), (path, name)
