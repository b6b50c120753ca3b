"""The house plan's public faces: outside a wing of corral/, code imports what the wing's
`__init__` names in `__all__`, never a module inside it (the generated `corral.api.v1`
is public). import-linter (`make lint`) holds the layering; this holds the faces."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WINGS = ("api", "client", "cli")
# Packages whose code must keep to the faces (tests may reach inside what they test).
CHECKED = ("apiserver", "scheduler", "agent", "controller", "autoscaler", "bench", "corral")


def wing_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "corral" and len(parts) > 2 and parts[1] in WINGS else None


def imports_across_wings() -> list[tuple[str, int, str, str, list[str]]]:
    """(file, line, wing, module imported from, names) for each `from corral.<wing>...` import
    made outside that wing."""
    found = []
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "v1" in path.relative_to(ROOT).parts:
                continue
            own = wing_of(path)
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                    continue
                parts = node.module.split(".")
                if parts[0] != "corral" or len(parts) < 2 or parts[1] not in WINGS:
                    continue
                if parts[1] != own:
                    found.append((str(path.relative_to(ROOT)), node.lineno, parts[1],
                                  node.module, [alias.name for alias in node.names]))
    return found


def test_code_outside_a_wing_imports_only_its_face() -> None:
    deep = [f"{file}:{line}: from {module}" for file, line, _, module, _ in imports_across_wings()
            if module.count(".") > 1 and not module.startswith("corral.api.v1")]
    assert deep == [], "import these through the wing's __init__ instead:\n" + "\n".join(deep)


def test_every_name_imported_from_a_face_is_in_its_all() -> None:
    missing = []
    for file, line, _wing, module, names in imports_across_wings():
        if module.count(".") != 1:
            continue
        exported = set(importlib.import_module(module).__all__)
        missing += [f"{file}:{line}: {module}.{name}" for name in names if name not in exported]
    assert missing == [], "not in the wing's __all__:\n" + "\n".join(missing)


@pytest.mark.parametrize("wing", WINGS)
def test_each_wing_names_what_it_exports_and_every_name_exists(wing: str) -> None:
    face = importlib.import_module(f"corral.{wing}")
    assert face.__all__, f"corral.{wing} has an empty __all__"
    assert [name for name in face.__all__ if not hasattr(face, name)] == []
