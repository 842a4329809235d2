"""The carrier service's calls and dial log in Postgres, so they outlive the media worker.

`CarrierCalls` keeps running calls in memory; this store is what a restarted media worker
knows of the calls its predecessor placed (tables from migrations/0003):

- a call that ended has its result here, so a retry of its attempt gets that result and
  never rings the person a second time;
- a call left unfinished was lost with the process that ran it (nobody runs it any
  more), so the next dial request for its key rings it again, as the same attempt.

Every write happens inside one transaction holding the call's row lock, so two requests
for one key take turns. One carrier service per database is assumed: the row's `owner`
says which process rang last, not whether it is alive (see `StoredCall.lost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from centralita.kernel.calls import DialRequest, DialResult
from centralita.kernel.db import Conn, Pool

log = logging.getLogger(__name__)

# The error type of a call the carrier refused for good; never rung again. (Defined here,
# the lower layer, and re-exported by the HTTP service, whose contract names it.)
INVALID_DIAL_REQUEST = "InvalidDialRequest"
# Below the dialer's 5 s request timeout: a store that does not answer fails the request
# (503, retried by the dialer) before the dialer gives up on it by itself.
DEFAULT_TIMEOUT_S = 3.0

StoredState = Literal["ringing", "in_progress", "ended"]
EndedAs = Literal["result", "error", "lost"]

_CALL_COLUMNS = "idempotency_key, state, owner, dials, result, error, dialed_at"


class DialStoreError(RuntimeError):
    """The durable record could not be read or written (Postgres down, schema missing)."""


@dataclass(frozen=True)
class StoredCall:
    """One carrier call as the store knows it."""

    idempotency_key: str
    state: StoredState
    owner: str
    dials: int
    result: DialResult | None
    error_type: str | None
    error_detail: str | None
    dialed_at: datetime | None = None  # when the last ring was placed

    @property
    def ended(self) -> bool:
        """Whether the call has ended (with a result or an error)."""
        return self.state == "ended"

    @property
    def lost(self) -> bool:
        """Rang but never ended: to a process not running it, lost with its owner."""
        return not self.ended and self.dials > 0

    @property
    def redialable(self) -> bool:
        """Whether a dial request for this key must ring (again).

        An ended call with a result (the person talked, or it was hung up) or refused
        for good is final; a lost call, or one that broke on the carrier's side, rings.
        """
        if not self.ended:
            return True
        return self.result is None and self.error_type != INVALID_DIAL_REQUEST


@dataclass(frozen=True)
class Claim:
    """What a dial request found, and whether the caller must ring now.

    Attributes:
        call: the call after the claim; when `ring`, `call.dials` is this ring's number.
        ring: ring now (a new key, a lost call, a broken one); else report `call`.
        lost_owner: the process whose unfinished ring this one replaces, if any.
        lost_dialed_at: when that lost ring was placed.
    """

    call: StoredCall
    ring: bool
    lost_owner: str | None = None
    # When the lost ring was placed: a real carrier may still have that call (a process
    # killed between asking the carrier and hearing back), to recover, not ring again.
    lost_dialed_at: datetime | None = None


@dataclass(frozen=True)
class LoggedDial:
    """One time a call rang, with its request's fields."""

    idempotency_key: str
    dial: int
    owner: str
    at: datetime
    ended_as: EndedAs | None
    to_number: str
    campaign_id: str
    contact_id: str
    attempt_number: int


class DialStore:
    """Queries over `carrier_calls` and `carrier_dial_log`.

    Args:
        pool: the media worker's connection pool.
        timeout_s: limit on each operation, waiting for a connection included.
    """

    def __init__(self, pool: Pool, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._pool = pool
        self._timeout_s = timeout_s

    async def claim(self, request: DialRequest, *, owner: str, at: datetime) -> Claim:
        """Record a dial request for `request.idempotency_key`; say whether to ring.

        A new key, or a redialable call (`StoredCall.redialable`), is taken by `owner`:
        its ring count goes up and the ring is logged, before the caller rings. A lost
        ring is marked so in the log.

        Raises:
            DialStoreError: the store could not be read or written.
        """
        key = request.idempotency_key
        async with self._transaction("claim", key) as conn:
            await conn.execute(
                "INSERT INTO carrier_calls (idempotency_key, owner, to_number, campaign_id, "
                "contact_id, attempt_number, placed_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                (key, owner, *_request_fields(request), at),
            )
            found = await _locked(conn, key)
            if not found.redialable:
                return Claim(call=found, ring=False)
            lost_owner = found.owner if found.lost else None
            lost_dialed_at = found.dialed_at if found.lost else None
            if found.lost:
                await _end_dial(conn, key, found.dials, "lost")
            rung = await _take(conn, request, owner=owner, at=at)
            await conn.execute(
                "INSERT INTO carrier_dial_log (idempotency_key, dial, owner, at) "
                "VALUES (%s, %s, %s, %s)",
                (key, rung.dials, owner, at),
            )
        return Claim(call=rung, ring=True, lost_owner=lost_owner, lost_dialed_at=lost_dialed_at)

    async def finish(
        self,
        key: str,
        *,
        owner: str,
        dial: int,
        result: DialResult | None,
        error: tuple[str, str] | None,
        at: datetime,
    ) -> bool:
        """Store how ring `dial` of `key` ended: a result, or an error (type, detail).

        Returns:
            False when the row no longer belongs to this ring (another process took the
            key over, believing this one dead): nothing is written then.

        Raises:
            DialStoreError: the store could not be written.
        """
        error_json = Jsonb({"type": error[0], "detail": error[1]}) if error else None
        async with self._transaction("finish", key) as conn:
            cur = await conn.execute(
                "UPDATE carrier_calls SET state = 'ended', result = %s, error = %s, "
                "ended_at = %s, updated_at = now() "
                "WHERE idempotency_key = %s AND owner = %s AND dials = %s AND state <> 'ended'",
                (_result_json(result), error_json, at, key, owner, dial),
            )
            if cur.rowcount != 1:
                return False
            await _end_dial(conn, key, dial, "result" if result is not None else "error")
        return True

    async def hang_up(self, key: str, *, result: DialResult, at: datetime) -> StoredCall | None:
        """End a call nobody runs any more (lost) with `result`; report any other as is.

        Returns:
            The call after the hang-up, or None when the key is unknown.

        Raises:
            DialStoreError: the store could not be read or written.
        """
        async with self._transaction("hang up", key) as conn:
            cur = await conn.execute(
                f"SELECT {_CALL_COLUMNS} FROM carrier_calls WHERE idempotency_key = %s FOR UPDATE",
                (key,),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            found = _stored(row)
            if found.ended:
                return found
            await _end_dial(conn, key, found.dials, "lost")
            cur = await conn.execute(
                "UPDATE carrier_calls SET state = 'ended', result = %s, ended_at = %s, "
                f"updated_at = now() WHERE idempotency_key = %s RETURNING {_CALL_COLUMNS}",
                (_result_json(result), at, key),
            )
            return _stored(_one(await cur.fetchone()))

    async def get(self, key: str) -> StoredCall | None:
        """The call under `key`, if the store knows it.

        Raises:
            DialStoreError: the store could not be read.
        """
        async with self._transaction("read", key) as conn:
            cur = await conn.execute(
                f"SELECT {_CALL_COLUMNS} FROM carrier_calls WHERE idempotency_key = %s", (key,)
            )
            row = await cur.fetchone()
        return None if row is None else _stored(row)

    async def dial_log(self, *, limit: int) -> list[LoggedDial]:
        """The latest `limit` rings of any call, oldest first.

        Raises:
            DialStoreError: the store could not be read.
        """
        async with self._transaction("read the dial log", None) as conn:
            cur = await conn.execute(
                "SELECT l.idempotency_key, l.dial, l.owner, l.at, l.ended_as, c.to_number, "
                "c.campaign_id, c.contact_id, c.attempt_number "
                "FROM carrier_dial_log l JOIN carrier_calls c USING (idempotency_key) "
                "ORDER BY l.id DESC LIMIT %s",
                (limit,),
            )
            rows = await cur.fetchall()
        return [LoggedDial(**row) for row in reversed(rows)]

    @contextlib.asynccontextmanager
    async def _transaction(self, what: str, key: str | None) -> AsyncIterator[Conn]:
        """A connection in a transaction, every failure (and a timeout) a DialStoreError."""
        try:
            async with (
                asyncio.timeout(self._timeout_s),
                self._pool.connection(timeout=self._timeout_s) as conn,
                conn.transaction(),
            ):
                yield conn
        except pg_errors.UndefinedTable as exc:
            raise DialStoreError(
                f"could not {what} ({exc}); the carrier tables are missing: "
                "run `centralita migrate`"
            ) from exc
        except (psycopg.Error, TimeoutError) as exc:
            subject = f" call {key}" if key is not None else ""
            raise DialStoreError(f"could not {what}{subject}: {exc!r}") from exc


async def _locked(conn: Conn, key: str) -> StoredCall:
    cur = await conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM carrier_calls WHERE idempotency_key = %s FOR UPDATE",
        (key,),
    )
    return _stored(_one(await cur.fetchone()))


async def _take(conn: Conn, request: DialRequest, *, owner: str, at: datetime) -> StoredCall:
    """Make `owner` the call's runner for one more ring, with this request's fields."""
    cur = await conn.execute(
        "UPDATE carrier_calls SET state = 'ringing', owner = %s, dials = dials + 1, "
        "result = NULL, error = NULL, to_number = %s, campaign_id = %s, contact_id = %s, "
        "attempt_number = %s, dialed_at = %s, ended_at = NULL, updated_at = now() "
        f"WHERE idempotency_key = %s RETURNING {_CALL_COLUMNS}",
        (owner, *_request_fields(request), at, request.idempotency_key),
    )
    return _stored(_one(await cur.fetchone()))


async def _end_dial(conn: Conn, key: str, dial: int, ended_as: EndedAs) -> None:
    await conn.execute(
        "UPDATE carrier_dial_log SET ended_as = %s "
        "WHERE idempotency_key = %s AND dial = %s AND ended_as IS NULL",
        (ended_as, key, dial),
    )


def _request_fields(request: DialRequest) -> tuple[str, str, str, int]:
    return (request.to_number, request.campaign_id, request.contact_id, request.attempt_number)


def _result_json(result: DialResult | None) -> Jsonb | None:
    return Jsonb(result.model_dump(mode="json")) if result is not None else None


def _one(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:  # the row is locked or was just written in this transaction
        raise DialStoreError("carrier call row vanished inside its own transaction")
    return row


def _stored(row: dict[str, Any]) -> StoredCall:
    error: dict[str, str] | None = row["error"]
    result = row["result"]
    return StoredCall(
        idempotency_key=row["idempotency_key"],
        state=row["state"],
        owner=row["owner"],
        dials=row["dials"],
        result=DialResult.model_validate(result) if result is not None else None,
        error_type=error.get("type") if error else None,
        error_detail=error.get("detail") if error else None,
        dialed_at=row["dialed_at"],
    )
