"""The README and docs/ name only paths and modules that exist.

A move renames files; the prose that points at them must follow. Every inline code span
(`...`) of README.md and docs/*.md is read: a token that starts with one of the project's
top-level folders is a path and must exist (globs must match something), and a dotted
name that starts with one of the project's packages is a module (with at most one
attribute after it) and must be importable from the tree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FOLDERS = (
    "activities",
    "api",
    "bench",
    "centralita",
    "deploy",
    "docs",
    "migrations",
    "realtime",
    "scripts",
    "tests",
    "workers",
    "workflows",
)
PACKAGES = ("activities", "api", "bench", "centralita", "realtime", "tests", "workers", "workflows")
# Written by the benchmarks when they run; not in the tree.
GENERATED = ("bench/results/",)
# `migrations/NNNN_*.sql`: a placeholder for the migration's number.
PLACEHOLDERS = {"NNNN": "[0-9][0-9][0-9][0-9]"}

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(rf"^(?:{'|'.join(FOLDERS)})/[\w./*-]*$")
_DOTTED = re.compile(rf"^(?:{'|'.join(PACKAGES)})(?:\.\w+)+$")


def _tokens(text: str) -> list[tuple[int, str]]:
    """Each whitespace-separated token of every inline code span, with its line."""
    prose = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    found = []
    for span in _SPAN.finditer(prose):
        line = prose.count("\n", 0, span.start()) + 1
        for token in span.group(1).split():
            found.append((line, token.lstrip("(['\"").rstrip(".,;:)]'\"")))
    return found


def _path_exists(token: str) -> bool:
    if token.startswith(GENERATED):
        return True
    pattern = token.rstrip("/")
    for placeholder, glob in PLACEHOLDERS.items():
        pattern = pattern.replace(placeholder, glob)
    if any(c in pattern for c in "*?["):
        return any(ROOT.glob(pattern))
    return (ROOT / pattern).exists()


def _telemetry_names() -> re.Pattern[str]:
    """Span attribute names share the `centralita.` prefix: the ones the code writes.

    Read from the source as written: `"centralita.turn.{name}"` stands for any name there;
    a bare `"centralita.{field}"` is left out, or it would stand for every module.
    """
    written = set()
    for package in PACKAGES:
        if package == "tests":
            continue
        for source in (ROOT / package).rglob("*.py"):
            written.update(re.findall(r"[\"']centralita\.([\w.{}]+)", source.read_text("utf-8")))
    written = {name for name in written if not re.fullmatch(r"\{\w*\}", name)}
    patterns = [re.sub(r"\\\{\w*\\\}", r"\\w+", re.escape(name)) for name in written]
    return re.compile(r"centralita\.(?:" + "|".join(sorted(patterns)) + ")")


TELEMETRY = _telemetry_names()


def _module_exists(token: str) -> bool:
    """A module of the tree, or an attribute (one name) of one."""
    if TELEMETRY.fullmatch(token):
        return True
    parts = token.split(".")
    return _is_module(parts) or _is_module(parts[:-1])


def _is_module(parts: list[str]) -> bool:
    base = ROOT.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _missing(document: Path) -> list[str]:
    missing = []
    for line, token in _tokens(document.read_text(encoding="utf-8")):
        path = _PATH.match(token) is not None
        module = _DOTTED.match(token) is not None
        if (path and not _path_exists(token)) or (module and not _module_exists(token)):
            missing.append(f"{document.name}:{line}: {token}")
    return missing


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_named_path_exists(document: Path) -> None:
    assert _missing(document) == []


def test_a_path_that_moved_is_caught(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "The rules (`workflows/calling_rules.py`, `centralita.store.attempts`) and the\n"
        "fakes (`tests/fakes/`), beside `centralita/campaigns/calling_rules.py`,\n"
        "`centralita.kernel.privacy.mask_personal`, `migrations/NNNN_*.sql`,\n"
        "`centralita.turn.stt_ms` and `bench/results/latency.json`.\n"
        "```bash\nls realtime/flows/   # fenced blocks are commands, not read\n```\n",
        encoding="utf-8",
    )
    assert _missing(readme) == [
        "README.md:1: workflows/calling_rules.py",
        "README.md:1: centralita.store.attempts",
        "README.md:2: tests/fakes/",
    ]
