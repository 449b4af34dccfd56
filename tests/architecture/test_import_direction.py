"""The apps import in one direction, no project import hides inside a function, no two
files import each other (even through others), and no module is too long to read at once.

Layers, lowest first: ``ground`` (plain helpers every app may import; it imports none) ←
``catalog`` ← ``accounts`` ← ``usage`` ← ``billing`` ← ``gateway`` ← ``ocr`` ←
``retrieval`` ← ``playground`` ← ``portal``. A module may import its own layer and the
layers below it, never one above: a lower app that must react to a higher one listens
to a signal the lower app owns (``usage.signals.usage_recorded``). A use case queues its
app's task by name (``ground.queueing``), so a task module may import use cases.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MAX_LINES = 450  # a module longer than this is two modules (ocr/engine and migrations aside)
LONG_BY_NATURE = ("ocr/engine/",)
LAYERS = [
    "ground",
    "catalog",
    "accounts",
    "usage",
    "billing",
    "gateway",
    "ocr",
    "retrieval",
    "playground",
    "portal",
]
APPS = set(LAYERS)
# Imports inside functions that are there for a reason other than a loop.
LATE_IMPORT_ALLOWED = {
    ("accounts/apps.py", "accounts"),  # signal receivers registered once apps are ready
    ("billing/apps.py", "billing"),
    ("ocr/apps.py", "ocr"),
    ("catalog/apps.py", "catalog"),
    ("retrieval/apps.py", "retrieval"),
    ("usage/apps.py", "usage"),  # hands accounts its key-spend query once models load
    ("portal/apps.py", "portal"),  # system checks registered once apps are ready
}


def layer_of(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in APPS else None


def project_modules(apps=APPS):
    for app in sorted(apps):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def imports_of(path: Path):
    """(imported module, line, inside a function?) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    functions = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(fn)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) in functions


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_every_import_points_down_or_sideways():
    wrong = []
    for path in project_modules():
        own = layer_of(module_name(path))
        for name, line, _ in imports_of(path):
            target = layer_of(name)
            if own is not None and target is not None and target > own:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "imports against the direction of the apps:\n" + "\n".join(sorted(set(wrong)))


def test_no_project_import_hides_inside_a_function():
    hidden = []
    for path in project_modules():
        relative = str(path.relative_to(ROOT))
        for name, line, inside in imports_of(path):
            top = name.split(".")[0]
            if inside and top in APPS and (relative, top) not in LATE_IMPORT_ALLOWED:
                hidden.append(f"{relative}:{line} imports {name}")
    assert not hidden, "project imports inside functions:\n" + "\n".join(sorted(set(hidden)))


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("billing", "gateway"), ("catalog", "gateway"), ("accounts", "gateway"), ("usage", "billing")],
)
def test_the_issue_s_named_pairs_hold(lower, higher):
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in (ROOT / lower).rglob("*.py")
        if "migrations" not in path.parts
        for name, line, _ in imports_of(path)
        if name == higher or name.startswith(higher + ".")
    ]
    assert not offenders, f"{lower} imports {higher}: {offenders}"


def test_the_ground_floor_imports_no_app():
    climbing = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in project_modules({"ground"})
        for name, line, _ in imports_of(path)
        if name.split(".")[0] in APPS - {"ground"}
    ]
    assert not climbing, "ground imports an app:\n" + "\n".join(climbing)


def test_the_fake_upstream_is_an_outsider():
    """The fake provider stands for someone else's server: it imports no Portico code."""
    inside = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "fakeupstream").rglob("*.py"))
        for name, line, _ in imports_of(path)
        if name.split(".")[0] in APPS
    ]
    assert not inside, "\n".join(inside)


# --- Files: no cycles, none too long ------------------------------------------------------
def files_of_every_app():
    yield from project_modules(APPS | {"fakeupstream"})


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:``: annotations, never run."""
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return hidden


def imported_files(path: Path, modules: set[str]) -> set[str]:
    """The project files ``path`` imports (anywhere in it: an import inside a function is
    still a dependency), resolved to the module or package each name is."""
    tree = ast.parse(path.read_text(), str(path))
    skip = type_checking_only(tree)
    own = dotted(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [name if name in modules else base for name in names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != own:
                found.add(name)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph)))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return cycles


def file_graph() -> tuple[dict[str, set[str]], dict[str, str]]:
    paths = {dotted(path): path for path in files_of_every_app()}
    modules = set(paths)
    graph = {name: imported_files(path, modules) for name, path in paths.items()}
    return graph, {name: str(path.relative_to(ROOT)) for name, path in paths.items()}


def test_the_cycle_finder_finds_a_cycle_through_three_files():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_a_relative_import_and_a_function_s_import_are_edges():
    graph, _ = file_graph()
    assert "gateway.adapters.responses_object" in graph["gateway.adapters.responses_stream"]
    assert "billing.signals" in graph["billing.apps"]  # imported in AppConfig.ready
    assert "accounts.models" not in graph["playground.picker"]  # under TYPE_CHECKING only


def test_no_import_cycle_between_project_files():
    """Not even through an import inside a function (a task module and the use case that
    queues it): a use case queues its task by name instead (``ground.queueing``).
    ``TYPE_CHECKING`` imports are annotations and do not count."""
    graph, files = file_graph()
    cycles = [[files[name] for name in cycle] for cycle in import_cycles(graph)]
    assert not cycles, "files that import each other, through others or not:\n" + "\n".join(
        " → ".join(cycle) for cycle in cycles
    )


def test_no_module_is_too_long_to_read_at_once():
    long = []
    for path in files_of_every_app():
        relative = str(path.relative_to(ROOT))
        if relative.startswith(LONG_BY_NATURE):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            long.append(f"{relative}: {lines} lines")
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(long)
