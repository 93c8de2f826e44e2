"""The application state is reached through one accessor, and the identity service knows nothing of HTTP."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import kstock

SOURCE: Final = Path(kstock.__file__).parent
ACCESSOR: Final = SOURCE / "state.py"


def _reads_app_state(node: ast.Attribute) -> bool:
    """``<anything>.app.state``, ``<scope>["app"].state`` or ``app.state``: the framework's state, reached
    directly."""
    if node.attr != "state":
        return False
    owner = node.value
    if isinstance(owner, ast.Attribute) and owner.attr == "app":
        return True
    if isinstance(owner, ast.Name) and owner.id == "app":
        return True
    return isinstance(owner, ast.Subscript) and isinstance(owner.slice, ast.Constant) and owner.slice.value == "app"


def test_only_the_accessor_reaches_into_the_framework_state() -> None:
    found = [
        f"{path.relative_to(SOURCE)}:{node.lineno}"
        for path in sorted(SOURCE.rglob("*.py"))
        if path != ACCESSOR
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and _reads_app_state(node)
    ]
    assert not found, f"use kstock.state.state_of (typed by the part's own view in its state.py): {found}"


def test_the_identity_service_imports_nothing_of_http() -> None:
    tree = ast.parse((SOURCE / "identity" / "service.py").read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    http = sorted(name for name in imported if name.split(".")[0] in {"starlette", "fastapi"})
    assert not http, f"identity/service.py imports {http}: hand it what it needs of the request instead"
