"""The shipped SQL migrations: numbering, naming, the initial schema, checksums."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import re
from pathlib import Path

import pytest

import migrations
from centralita.kernel.migrate import Migration, MigrationError, available_migrations
from tests.support.schema import PRODUCT_TABLES

pytestmark = pytest.mark.unit


def _table_body(sql: str, table: str) -> str:
    match = re.search(
        rf"CREATE TABLE (?:IF NOT EXISTS )?{table}\s*\((.*?)\n\);", sql, re.DOTALL | re.IGNORECASE
    )
    assert match is not None, f"no CREATE TABLE {table}"
    return match.group(1)


@pytest.fixture(scope="module")
def initial() -> Migration:
    return available_migrations()[0]


def test_versions_start_at_one_without_gaps() -> None:
    versions = [m.version for m in available_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_names_match_the_file_pattern() -> None:
    shipped = Path(migrations.__file__).resolve().parent
    files = sorted(p.name for p in shipped.glob("*.sql"))
    assert files
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", name) for name in files), files
    expected = [f"{m.version:04d}_{m.name}.sql" for m in available_migrations()]
    assert expected == files


def test_every_migration_has_sql() -> None:
    assert all(m.sql.strip() for m in available_migrations())


def test_initial_creates_vector_extension(initial: Migration) -> None:
    assert initial.version == 1
    assert re.search(r"CREATE EXTENSION IF NOT EXISTS vector\s*;", initial.sql, re.IGNORECASE)


@pytest.mark.parametrize("table", PRODUCT_TABLES)
def test_initial_creates_product_table(initial: Migration, table: str) -> None:
    assert _table_body(initial.sql, table).strip()


def test_corrections_embedding_is_384_dimensional(initial: Migration) -> None:
    body = _table_body(initial.sql, "corrections")
    assert re.search(r"^\s*embedding\s+vector\(384\)", body, re.MULTILINE)


def test_extension_created_before_vector_column(initial: Migration) -> None:
    assert initial.sql.index("CREATE EXTENSION") < initial.sql.index("vector(384)")


def test_checksum_is_sha256_of_the_text(initial: Migration) -> None:
    assert initial.checksum == hashlib.sha256(initial.sql.encode("utf-8")).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", initial.checksum)


def test_checksum_is_stable() -> None:
    first = {m.version: m.checksum for m in available_migrations()}
    second = {m.version: m.checksum for m in available_migrations()}
    assert first == second
    copy = Migration(1, "initial", "SELECT 1;\n")
    assert copy.checksum == Migration(1, "other_name", "SELECT 1;\n").checksum


def test_checksum_changes_with_the_sql(initial: Migration) -> None:
    edited = dataclasses.replace(initial, sql=initial.sql + "\n-- a comment is an edit too\n")
    whitespace = dataclasses.replace(initial, sql=initial.sql.replace("\n", "\r\n"))
    assert edited.checksum != initial.checksum
    assert whitespace.checksum != initial.checksum


# -- the loader, on a folder of our own --------------------------------------------------


def _use_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    # `Path` offers the Traversable methods the loader uses (iterdir, name, read_text).
    monkeypatch.setattr(importlib.resources, "files", lambda _package: folder)


def test_loader_orders_by_version_and_skips_other_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "0002_second.sql").write_text("SELECT 2;", encoding="utf-8")
    (tmp_path / "0001_first.sql").write_text("SELECT 1;", encoding="utf-8")
    (tmp_path / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "README.md").write_text("notes", encoding="utf-8")
    _use_folder(monkeypatch, tmp_path)

    found = available_migrations()

    assert [(m.version, m.name, m.sql) for m in found] == [
        (1, "first", "SELECT 1;"),
        (2, "second", "SELECT 2;"),
    ]


@pytest.mark.parametrize(
    "name", ["1_initial.sql", "0001-initial.sql", "0001_Initial.sql", "initial.sql", "0001_.sql"]
)
def test_loader_rejects_misnamed_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_text("SELECT 1;", encoding="utf-8")
    _use_folder(monkeypatch, tmp_path)
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        available_migrations()


def test_loader_rejects_shared_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;", encoding="utf-8")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;", encoding="utf-8")
    _use_folder(monkeypatch, tmp_path)
    with pytest.raises(MigrationError, match="share version 0001"):
        available_migrations()
