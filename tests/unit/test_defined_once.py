"""Names every layer shares are defined in one module each, and imported everywhere else.

Two definitions drift apart (two sets of unreached outcomes, two language fallbacks);
this walks the project's sources and finds each name's definitions at module level.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("centralita", "realtime", "api", "activities", "workflows", "workers", "bench")

# name -> the one module that defines it.
HOMES = {
    "Pcm16": "centralita/kernel/pcm.py",
    "Conn": "centralita/kernel/db.py",
    "base_language": "centralita/understanding/text.py",
    "UNREACHED": "centralita/kernel/calls.py",
    "NOT_A_CONVERSATION": "centralita/kernel/calls.py",
    "split_sentences": "realtime/providers/sentences.py",
    "SentenceBuffer": "realtime/providers/sentences.py",
    "FreshCache": "realtime/cache.py",
}


def _defined(tree: ast.Module) -> Iterator[str]:
    """The names a module defines at its top level (not those it imports)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id


def _definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in HOMES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for name in _defined(tree):
                if name in found:
                    found[name].append(path.relative_to(ROOT).as_posix())
    return found


def test_each_shared_name_is_defined_once_in_its_home() -> None:
    found = _definitions()
    assert found == {name: [home] for name, home in HOMES.items()}
