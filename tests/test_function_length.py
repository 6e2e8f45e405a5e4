"""Functions stay short enough to read in one screen (issue 15): 60 lines in the product's
packages, 80 in simulators and benchmarks, docstring included."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMITS = {"wasteflow": 60, "mqtt_bridge": 60, "simulators": 80, "bench": 80}


def long_functions(package: str, limit: int, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} is {lines} lines")
    return found


@pytest.mark.parametrize("package", sorted(LIMITS))
def test_no_function_is_longer_than_the_limit(package):
    assert long_functions(package, LIMITS[package]) == []


def test_the_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(f"def long():\n{body}\n")
    assert long_functions("pkg", 60, tmp_path) == ["pkg/mod.py:1 long is 71 lines"]
