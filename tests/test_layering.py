"""The tree is the pipeline: no module imports from a layer after its own.

    inputs -> transport -> engine -> store (records) -> analysis -> report
    cost beside them; session and the library API on top of all; cli on top of those

Every ``import`` in ``src/llmsweep`` is read (lazy ones inside functions too) and checked
against the layers each package may use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import llmsweep

PACKAGE = Path(llmsweep.__file__).parent
BASE = {"errors", "settings", "percentile", "child"}  # what every layer may share
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "settings": {"errors"},
    "percentile": set(),
    "child": set(),
    "simulator": set(),  # runs standalone: nothing else from the package
    "inputs": BASE,
    "transport": BASE,
    "cost": BASE | {"inputs", "store"},
    "store": BASE | {"inputs"},
    "engine": BASE | {"inputs", "transport", "store"},
    "analysis": BASE | {"store", "cost"},
    "report": BASE | {"store", "analysis", "cost"},
    "session": BASE
    | {"inputs", "transport", "engine", "store", "analysis", "cost", "report", "simulator"},
    "api": BASE
    | {"inputs", "engine", "store", "analysis", "cost", "report", "session", "simulator"},
}
# The command line sits on top and may use everything; so may the package's entry points.
TOP = {"cli", "__init__", "__main__"}


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_layers(path: Path) -> set[str]:
    """The first component under ``llmsweep`` of every module ``path`` imports."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "llmsweep":  # from llmsweep import x
                names = [f"llmsweep.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "llmsweep" and len(parts) > 1:
                layers.add(parts[1])
    return layers


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_later_layer(path: Path) -> None:
    layer = layer_of(path)
    if layer in TOP:
        return
    assert layer in MAY_IMPORT, f"{layer}: a new layer needs a place in MAY_IMPORT"
    wrong = imported_layers(path) - MAY_IMPORT[layer] - {layer, "__version__"}
    assert not wrong, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(wrong)}"


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from llmsweep.report.writer import write_report\n")
    assert imported_layers(module) == {"report"}
    assert "report" not in MAY_IMPORT["analysis"]
