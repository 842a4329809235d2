"""`scripts/check_sql_homes.py`: SQL outside store modules fails the lint, prose does not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from textwrap import dedent
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_sql_homes.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_sql_homes", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


checker = _load()


def _write(root: Path, rel: str, source: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(source).lstrip(), encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small project: stores, a module with SQL, prose, a seeding script, tests."""
    _write(
        tmp_path,
        "centralita/things/store.py",
        """
        async def get(conn):
            return await conn.execute("SELECT id FROM things WHERE id = %s", (1,))
        """,
    )
    _write(
        tmp_path,
        "centralita/things/store/rows.py",
        """
        Q = "INSERT INTO things (id) VALUES (%s)"
        """,
    )
    _write(
        tmp_path,
        "realtime/carrier/dial_store.py",
        """
        Q = "UPDATE dials SET status = %s WHERE id = %s"
        """,
    )
    _write(
        tmp_path,
        "activities/things.py",
        '''
        """Activities. Select the things to dial, then update the campaign."""

        import logging

        log = logging.getLogger(__name__)


        async def count(conn, table):
            """SELECT count(*) FROM things: a docstring is prose, even when it quotes SQL."""
            log.info("select %s from the list: %d", table, 3)
            prompt = "Select a campaign from the list, then insert into the form."
            cur = await conn.execute(
                "SELECT count(*) AS n "
                "FROM things WHERE kind = %s",
                (table,),
            )
            await conn.execute(f"DELETE FROM {table} WHERE id = %s", (1,))
            await conn.execute("select pg_advisory_lock(%s)", (7,))
            return prompt, cur
        ''',
    )
    _write(tmp_path, "api/prose.py", 'HELP = "update your settings, then delete from the list"\n')
    _write(tmp_path, "bench/seed.py", 'SEED = "INSERT INTO things (id) VALUES (1)"\n')
    _write(tmp_path, "centralita/things/tests/test_x.py", 'Q = "SELECT 1"\n')
    _write(tmp_path, "tests/test_y.py", 'Q = "SELECT 1"\n')
    return tmp_path


def test_flags_sql_outside_store_modules_only(tree: Path) -> None:
    offences = checker.check(tree, allowed={}, pending={})

    assert [(o.path, o.line) for o in offences] == [
        ("activities/things.py", 13),  # two adjacent literals, read as one
        ("activities/things.py", 17),  # an f-string
        ("activities/things.py", 18),  # an advisory lock, in lower case
        ("bench/seed.py", 1),
    ]
    assert offences[0].words == "SELECT count(*) AS n"
    assert offences[1].words == "DELETE FROM {} WHERE"


def test_allow_list_and_pending_exempt_a_module(tree: Path) -> None:
    allowed = {"bench/seed.py": "the benchmark seeds its own rows"}

    assert [o.path for o in checker.check(tree, allowed=allowed, pending={})] == [
        "activities/things.py"
    ] * 3
    assert checker.check(tree, allowed=allowed, pending={"activities/": "moving"}) == []


def test_an_allowed_module_without_sql_is_an_offence(tree: Path) -> None:
    allowed = {"api/prose.py": "no longer needed", "bench/seed.py": "seeds"}

    offences = checker.check(tree, allowed=allowed, pending={"activities/": "moving"})

    assert [(o.path, o.line) for o in offences] == [("api/prose.py", 0)]
    assert "holds no SQL" in offences[0].words


def test_the_script_exits_1_with_one_line_per_offence(tree: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tree)], capture_output=True, text=True, check=False
    )

    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "activities/things.py:13: SELECT count(*) AS n",
        "activities/things.py:17: DELETE FROM {} WHERE",
        "activities/things.py:18: select pg_advisory_lock(%s)",
        "bench/seed.py:1: INSERT INTO things (id)",
    ]


def test_the_script_passes_a_clean_tree(tmp_path: Path) -> None:
    _write(tmp_path, "centralita/things/store.py", 'Q = "SELECT 1"\n')
    _write(tmp_path, "api/routes.py", 'HELP = "Select an item from the menu."\n')

    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False
    )

    assert (run.returncode, run.stdout) == (0, "")


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1",
        "\n    -- the newest first\n    SELECT id FROM calls",
        "WITH recent AS (SELECT id FROM calls) SELECT * FROM recent",
        "UPDATE contacts SET state = %s",
        "CREATE INDEX IF NOT EXISTS calls_started ON calls (started_at)",
        "LISTEN call_events",
        "NOTIFY call_events",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "SELECT set_config('hnsw.ef_search', %s, true)",
        "FROM calls c LEFT JOIN call_attempts a ON a.id = c.attempt_id",
        "ON CONFLICT (id) DO NOTHING",
        "delete from contacts where id = %s",
        "COPY contacts FROM STDIN",
    ],
)
def test_sql_is_recognised(text: str) -> None:
    assert checker.sql_start(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Select a campaign from the list.",
        "select the best match",
        "update your settings and delete from the list",
        "With whom am I speaking?",
        "Create a table of contents",
        "Drop the call if nobody answers",
        "listen to the caller",
        "Insert into the queue when ready",
        "Copy the link from the email",
        "From now on, call only in the morning",
        "¿Puede confirmar su nombre?",
    ],
)
def test_prose_is_not_sql(text: str) -> None:
    assert checker.sql_start(text) is None


def test_store_modules() -> None:
    assert checker.is_store_module("centralita/learning/store/proposals.py")
    assert checker.is_store_module("centralita/postcall/store.py")
    assert checker.is_store_module("centralita/postcall/reanalysis_store.py")
    assert checker.is_store_module("realtime/store/live_feed.py")
    assert checker.is_store_module("centralita/kernel/migrate.py")
    assert not checker.is_store_module("centralita/kernel/settings.py")
    assert not checker.is_store_module("api/routes/lexicon.py")
    assert not checker.is_store_module("centralita/campaigns/restore.py")
