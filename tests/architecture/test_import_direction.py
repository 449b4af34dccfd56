"""The apps import in one direction, and no project import hides inside a function.

Layers, lowest first: ``ground`` (plain helpers every app may import; it imports none) ←
``catalog`` ← ``accounts`` ← ``usage`` ← ``billing`` ← ``gateway`` ← ``ocr`` ←
``retrieval`` ← ``playground`` ← ``portal``. A module may import its own layer and the
layers below it, never one above: a lower app that must react to a higher one listens
to a signal the lower app owns (``usage.signals.usage_recorded``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
            # Flows queue their own app's tasks, and tasks call flows: Celery's usual pair.
            own_tasks = name.startswith(f"{path.relative_to(ROOT).parts[0]}.tasks")
            if (
                inside
                and top in APPS
                and not own_tasks
                and (relative, top) not in LATE_IMPORT_ALLOWED
            ):
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


def module_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports (in a function too, but not in an
    AppConfig's ``ready``, which runs once every module is loaded)."""
    paths = {module_name(path): path for path in project_modules()}
    for name in list(paths):  # a package stands for its __init__
        if name.endswith(".__init__"):
            paths[name.removesuffix(".__init__")] = paths.pop(name)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        if path.name == "apps.py":
            continue
        targets = set()
        for imported, _, _ in imports_of(path):
            while imported and imported not in paths:  # "from a.b import name" -> a.b
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for target in sorted(graph.get(node, ())):
            if target == start:
                return [*path, start]
            if target not in seen and not target.startswith(start + "."):
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


@pytest.mark.parametrize("app", ["ocr", "retrieval"])
def test_no_file_level_import_cycle(app):
    """Tasks import use cases; use cases queue tasks by name, so no file imports back into
    a file that (through others) imports it."""
    graph = module_graph()
    cycles = [
        " -> ".join(cycle)
        for name in sorted(graph)
        if name.split(".")[0] == app and (cycle := cycle_through(graph, name))
    ]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
