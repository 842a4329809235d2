"""The development key: the embedded stack's key for the default tenant, kept in a file.

`centralita dev up` (and `centralita demo`) make sure the default tenant has a key
when the stack starts, print it, and keep it in `HOME/dev-api-key` (mode 0600) so the
demo, tests and a person's curl can read it. A key still live from the last start is
used again; a missing, unreadable or revoked one is replaced by a new key.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.tenants.store.keys import create_key, key_is_live

DEV_KEY_FILE = "dev-api-key"
DEV_KEY_NAME = "dev stack"


def dev_key_path(home: Path) -> Path:
    """Where the stack whose state folder is `home` keeps its key."""
    return home / DEV_KEY_FILE


def read_dev_key(home: Path) -> str | None:
    """The key in `home`'s key file, or None when there is none."""
    try:
        return dev_key_path(home).read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


async def ensure_dev_key(database_url: str, home: Path) -> str:
    """The default tenant's development key: the kept one while it is live, else a new one.

    Returns:
        The key's plaintext (also in `dev_key_path(home)`).
    """
    kept = read_dev_key(home)
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        if kept is not None and await key_is_live(conn, kept, DEFAULT_TENANT_ID):
            return kept
        created = await create_key(conn, DEFAULT_TENANT_ID, DEV_KEY_NAME)
    _write_private(dev_key_path(home), created.key + "\n")
    return created.key


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only, replacing the file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as sink:
        sink.write(text)
    os.replace(partial, path)
