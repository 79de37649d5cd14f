"""The layers hold (docs/architecture.md).

ruff's banned-API rule (geogrid/ruff.toml, maps/ruff.toml) keeps flask, werkzeug,
folium, web, maps and devtools out of the core statically. Here every module of
the core is imported in a fresh interpreter, and the core's subpackages must form
layers: no two import each other, directly or round a cycle.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import geogrid

ROOT = Path(geogrid.__file__).parent
CORE_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages([str(ROOT)], "geogrid.")
    if ".migrations" not in info.name and info.name != "geogrid.__main__"
)
SUBPACKAGES = ("engine", "storage", "cases", "boundaries", "reports")


@pytest.mark.parametrize(
    ("modules", "forbidden"),
    [
        (CORE_MODULES, ("flask", "werkzeug", "folium", "web", "maps", "devtools")),
        (["maps.build", "maps.preview", "maps.layers"], ("flask", "werkzeug", "web")),
    ],
    ids=["core", "maps"],
)
def test_importing_a_layer_loads_nothing_above_it(modules, forbidden):
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(' '.join(m for m in {forbidden!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_core_cli_does_not_load_the_web_layer():
    code = "import sys, geogrid.cli; print('flask' in sys.modules or 'web' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _subpackage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in SUBPACKAGES}
    for name in SUBPACKAGES:
        for path in (ROOT / name).rglob("*.py"):
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] == "geogrid" and len(parts) > 1 and parts[1] in set(graph) - {name}:
                    graph[name].add(parts[1])
    return graph


def test_the_core_subpackages_form_layers():
    graph = _subpackage_graph()
    order: list[str] = []
    pending = dict(graph)
    while pending:  # peel off those that import nothing still pending (Kahn)
        ready = sorted(n for n, deps in pending.items() if not deps & pending.keys())
        assert ready, f"import cycle among {sorted(pending)}: {pending}"
        order.extend(ready)
        for n in ready:
            del pending[n]
    assert order.index("engine") < order.index("storage") < order.index("cases")


def test_the_foundation_imports_no_subpackage():
    foundation = ["errors", "codes", "coords", "times", "io", "grid", "privacy", "passwords"]
    for name in foundation:
        inner = {m for m in _imports(ROOT / f"{name}.py") if m.startswith("geogrid.")}
        assert all(m.split(".")[1] in foundation for m in inner), (name, inner)
