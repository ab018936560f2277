"""The import structure of app/: no cycles, and views reach the outside world only through services.

The graph is read from the source with `ast`, so a test fails on the structure itself, not on
whichever import order happened to work at run time.
"""
from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
# The app factory: worker processes and CLI commands build an app with it, and it in turn
# registers everything, so calls into it (`from app import create_app`) close no real loop.
COMPOSITION_ROOT = "app"


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The app module that `import name` runs (a class or function name maps to its module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, *, module_level: bool) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if module_level:  # what runs on import: top-level statements, including if/try blocks
        nodes = [n for top in tree.body
                 for n in (ast.walk(top) if isinstance(top, (ast.If, ast.Try)) else [top])]
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in map(_owner, names) if t and t != module)
    return found


def _graph(*, module_level: bool) -> dict[str, set[str]]:
    return {m: _imports(m, module_level=module_level) for m in MODULES}


def _assert_acyclic(graph: dict[str, set[str]]) -> None:
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail("import cycle: " + " -> ".join(exc.args[1]))


def test_the_reader_sees_every_kind_of_import():
    assert "app.services.tenant_content" in _imports("app.services.replies", module_level=True)
    assert "app.models" in _imports("app.services.tenant_content", module_level=True)
    assert "app.webhooks.meta" in _imports("app.webhooks", module_level=False)
    assert "app.webhooks.meta" not in _imports("app.webhooks", module_level=True)


def test_no_module_of_app_imports_itself_back():
    _assert_acyclic(_graph(module_level=True))


def test_no_cycle_hides_in_an_import_inside_a_function():
    """Moving an import into a function only defers a cycle; the shared piece belongs in one place."""
    graph = _graph(module_level=False)
    _assert_acyclic({m: deps - {COMPOSITION_ROOT} for m, deps in graph.items()})


OUTSIDE_WORLD = "app.clients"
FRONT = sorted(m for m in MODULES if m.startswith(("app.views", "app.webhooks")) or m == "app.payment_page")


@pytest.mark.parametrize("module", FRONT)
def test_views_and_handlers_reach_the_outside_world_through_services(module):
    assert not {d for d in _imports(module, module_level=False)
                if d == OUTSIDE_WORLD or d.startswith(OUTSIDE_WORLD + ".")}


def test_importing_app_registers_no_listener():
    """Database hooks are installed by the app factory, never by importing a module: what a
    process does must not depend on which modules it happened to import."""
    import subprocess
    import sys

    probe = """
import importlib, pkgutil, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
import app
for info in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(info.name)
from app.security.tenancy import _add_tenant_criteria
from app.services.tenant_content import _stamp_changes
hooks = [("after_flush", _stamp_changes), ("do_orm_execute", _add_tenant_criteria)]
sys.exit(sum(event.contains(Session, name, fn) for name, fn in hooks))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=APP.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:] or "a module installed a hook on import"
