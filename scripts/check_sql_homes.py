"""SQL lives in store modules only: fail when a string literal elsewhere holds SQL.

Scans the project's Python packages (not tests, not migrations) with the `ast` module and
reads every string constant the code builds: plain literals (adjacent literals are one
constant once parsed), f-strings (each placeholder read as ``{}``) and literals joined
with ``+``. A string holds SQL when, after leading blanks and ``--`` comments, it starts
with a statement (SELECT, INSERT INTO, UPDATE ... SET, DELETE FROM, WITH ... AS (,
CREATE/ALTER/DROP <object>, TRUNCATE, LISTEN, NOTIFY, COPY ... FROM/TO, SET TRANSACTION,
...) or with a clause of one in capitals (``FROM calls c LEFT JOIN``, ``ON CONFLICT``,
``RETURNING ...``), or when it calls ``pg_advisory_*lock`` or ``set_config``.
Docstrings, bare string statements and log messages are prose and are not read.
Statement keywords count in capitals (the house style); one written in lower case counts
only when the string also shows a bind parameter, a cast or a final semicolon, so English
("select a campaign from the list") never does.

Store modules may hold SQL: ``store.py``, ``*_store.py``, any module of a package named
``store``, and the kernel's db, events outbox and migration runner. `ALLOWED` lists the
few other modules that must, each with its reason.

Usage: ``python scripts/check_sql_homes.py [ROOT]``. Exit 0 when clean; otherwise exit 1
with one ``path:line: first words`` line per offence.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# The project's packages; tests and migrations are not scanned.
PACKAGES: Final = (
    "centralita",
    "realtime",
    "workflows",
    "activities",
    "api",
    "workers",
    "bench",
)
SKIPPED_DIRS: Final = frozenset({"tests", "migrations", "__pycache__"})

# SQL by nature: the connection pool, the events outbox primitive and the migration runner.
KERNEL_SQL: Final = frozenset(
    {
        "centralita/kernel/db.py",
        "centralita/kernel/events.py",
        "centralita/kernel/migrate.py",
    }
)

# Modules that are not stores but must hold SQL: path -> why. Empty today: the benchmark
# seeds and reads through the campaign stores, and the embedded Postgres supervisor
# (workers/embedded_postgres.py) runs no SQL at all (pgserver creates the database).
# An entry whose module holds no SQL any more is itself an offence, so none goes stale.
ALLOWED: Final[dict[str, str]] = {}

# PENDING: modules whose SQL another change is moving into store modules right now.
# Remove each entry when its move lands; the lint then holds the line.
PENDING: Final[dict[str, str]] = {}

_LOG_METHODS: Final = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)

_LEAD: Final = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_IDENT: Final = r"[A-Za-z_\"][\w\".]*"
_OBJECTS: Final = (
    r"(?:OR\s+REPLACE\s+|UNIQUE\s+|TEMP(?:ORARY)?\s+|UNLOGGED\s+|MATERIALIZED\s+)*"
    r"(?:TABLE|INDEX|EXTENSION|SCHEMA|TYPE|FUNCTION|TRIGGER|VIEW|SEQUENCE|DATABASE|ROLE"
    r"|USER|POLICY|PUBLICATION|SUBSCRIPTION|DOMAIN|AGGREGATE|PROCEDURE|RULE|COLLATION)\b"
)
# Statements: SQL when the keyword is in capitals, or in lower case with `_SQL_SIGNS`.
_STATEMENTS: Final = tuple(
    re.compile(p, re.S | re.I)
    for p in (
        r"SELECT\b",
        r"INSERT\s+INTO\s",
        rf"UPDATE\s+(?:ONLY\s+)?{_IDENT}(?:\s+(?:AS\s+)?\w+)?\s+SET\s",
        r"DELETE\s+FROM\s",
        r"MERGE\s+INTO\s",
        rf"WITH\s+(?:RECURSIVE\s+)?{_IDENT}\s*(?:\([^)]*\)\s*)?AS\s*(?:NOT\s+)?"
        r"(?:MATERIALIZED\s*)?\(",
        rf"CREATE\s+{_OBJECTS}",
        rf"ALTER\s+{_OBJECTS}",
        rf"DROP\s+{_OBJECTS}",
        r"TRUNCATE\s",
        rf"(?:UN)?LISTEN\s+(?:{_IDENT}|\*|\{{\}})",
        rf"NOTIFY\s+(?:{_IDENT}|\{{\}})",
        r"COPY\s.*\b(?:FROM|TO)\b",
        r"SET\s+(?:TRANSACTION|SESSION|LOCAL)\b",
        r"LOCK\s+(?:TABLE\s+)?\w+\s+IN\s",
        r"(?:VACUUM|REINDEX|CLUSTER)\b",
        r"REFRESH\s+MATERIALIZED\s+VIEW\b",
        r"EXPLAIN\s+(?:ANALY[SZ]E\b|\(|SELECT\b)",
    )
)
# Pieces of a statement put together elsewhere: capitals only (no English sentence
# starts "LEFT JOIN" or "ON CONFLICT").
_CLAUSES: Final = re.compile(
    rf"(?:FROM\s+{_IDENT}\s+(?:\w+\s+)?(?:(?:LEFT|RIGHT|INNER|FULL|CROSS)\s+)?JOIN\s"
    r"|(?:(?:LEFT|RIGHT|INNER|FULL|CROSS)\s+(?:OUTER\s+)?)?JOIN\s+\w+\s+\w+\s+ON\s"
    r"|WHERE\s+[\w.]+\s*(?:=|<>|<|>|IS\s|IN\s|LIKE\s)"
    r"|ORDER\s+BY\s|GROUP\s+BY\s|ON\s+CONFLICT\b|RETURNING\s+[\w*]|VALUES\s*\()"
)
_CALLS: Final = re.compile(r"\b(?:pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock\w*|set_config)\s*\(")
# What lower-case SQL must also show to tell it from English.
_SQL_SIGNS: Final = re.compile(r"%s|%\(\w+\)s|\$\d|::\w|;\s*\Z")


@dataclass(frozen=True)
class Offence:
    """One string literal holding SQL outside a store module."""

    path: str
    line: int
    words: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.words}"


def is_store_module(rel: str) -> bool:
    """Whether the module at `rel` (posix, relative to the root) may hold SQL."""
    parts = rel.split("/")
    name = parts[-1]
    return (
        name == "store.py"
        or name.endswith("_store.py")
        or "store" in parts[:-1]
        or rel in KERNEL_SQL
    )


def _pending(rel: str, pending: Mapping[str, str]) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in pending)


def sql_start(text: str) -> str | None:
    """The first words of `text` when it holds SQL, else None."""
    lead = _LEAD.match(text)
    body = text[lead.end() if lead else 0 :]
    hit = _CALLS.search(text) is not None or _CLAUSES.match(body) is not None
    if not hit:
        for pattern in _STATEMENTS:
            m = pattern.match(body)
            if m is None:
                continue
            keyword = re.split(r"[\s(]", m.group(0), maxsplit=1)[0]
            hit = keyword.isupper() or _SQL_SIGNS.search(body) is not None
            break
    if not hit:
        return None
    return " ".join(body.split()[:4])


def _joined_text(node: ast.JoinedStr) -> str:
    parts: list[str] = []
    for value in node.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            parts.append(value.value)
        else:
            parts.append("{}")
    return "".join(parts)


def _concat_text(node: ast.expr) -> str | None:
    """The text of a string literal, an f-string, or literals joined with ``+``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return _joined_text(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _concat_text(node.left), _concat_text(node.right)
        if left is not None or right is not None:
            return (left or "{}") + (right or "{}")
    return None


def _is_log_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of each string the module builds, docstrings and log messages aside."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            skip.add(id(node.value))  # docstrings and bare strings: prose
        elif isinstance(node, ast.Call) and _is_log_call(node):
            skip.update(id(a) for a in node.args)
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if id(node) in skip:
            continue
        if isinstance(node, ast.expr):
            text = _concat_text(node)
            if text is not None:
                yield node.lineno, text
                continue  # its parts are read as one
        stack.extend(ast.iter_child_nodes(node))


def check_file(path: Path, rel: str) -> list[Offence]:
    """Every SQL string in one module (whatever module it is)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Offence] = []
    for line, text in _strings(tree):
        words = sql_start(text)
        if words is not None:
            found.append(Offence(rel, line, words))
    return sorted(found, key=lambda o: o.line)


def project_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, posix path relative to `root`) of each scanned module."""
    for package in PACKAGES:
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if SKIPPED_DIRS.intersection(rel.split("/")[:-1]):
                continue
            yield path, rel


def check(
    root: Path,
    *,
    allowed: Mapping[str, str] = ALLOWED,
    pending: Mapping[str, str] = PENDING,
) -> list[Offence]:
    """Offences under `root`: SQL in modules that are not stores, allowed or pending, and
    allow-list entries whose module holds no SQL (any more)."""
    found: list[Offence] = []
    with_sql: set[str] = set()
    for path, rel in project_files(root):
        if is_store_module(rel):
            continue
        offences = check_file(path, rel)
        if offences:
            with_sql.add(rel)
        if rel not in allowed and not _pending(rel, pending):
            found.extend(offences)
    for rel, why in allowed.items():
        if rel not in with_sql:
            found.append(Offence(rel, 0, f"allowed ({why}) but holds no SQL: remove it"))
    return found


def stale_pending(root: Path, pending: Mapping[str, str] = PENDING) -> list[str]:
    """Pending entries with no SQL left outside store modules (time to remove them)."""
    still: set[str] = set()
    for path, rel in project_files(root):
        if not is_store_module(rel) and _pending(rel, pending) and check_file(path, rel):
            still.update(p for p in pending if _pending(rel, {p: ""}))
    return [p for p in pending if p not in still]


def main(argv: list[str]) -> int:
    """Check the tree at ``argv[1]`` (default: this repository); the exit status."""
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    offences = check(root)
    for offence in offences:
        print(offence)
    for entry in stale_pending(root):
        print(
            f"note: PENDING {entry!r} holds no SQL outside stores now: remove it", file=sys.stderr
        )
    if offences:
        modules = len({o.path for o in offences})
        print(
            f"{len(offences)} SQL string(s) in {modules} module(s) outside store modules: "
            "move them to their domain's store (store.py, *_store.py or store/).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
