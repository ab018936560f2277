"""Every third-party package our code imports is pinned in requirements.txt.

A package we import but only receive through another one's dependencies can change under us
(or disappear) when that other package is upgraded; a pin makes the upgrade a visible choice.
"""
from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [*(ROOT / "app").rglob("*.py"), ROOT / "config.py", ROOT / "run.py",
           *(ROOT / "migrations").rglob("*.py")]
OURS = {"app", "config"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_names() -> set[str]:
    names = set()
    for path in SHIPPED:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module != "__future__":
                names.add(node.module.partition(".")[0])
    return names - OURS - set(sys.stdlib_module_names)


def pinned() -> set[str]:
    found = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            found.add(_canonical(re.split(r"[\[=<>!~ ]", line, maxsplit=1)[0]))
    return found


def test_every_package_the_code_imports_is_pinned():
    distributions = packages_distributions()
    names = imported_names()
    assert {"flask", "sqlalchemy", "babel"} <= names  # the reader finds imports at any depth
    unknown = sorted(n for n in names if n not in distributions)
    assert not unknown, f"imported but not installed: {unknown}"
    missing = sorted(f"{n} ({', '.join(distributions[n])})" for n in names
                     if not {_canonical(d) for d in distributions[n]} & pinned())
    assert not missing, f"imported by our code but not pinned in requirements.txt: {missing}"
