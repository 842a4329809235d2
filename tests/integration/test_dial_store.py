"""The carrier's durable dial log: calls outlive the media worker that placed them.

A "restart" here is a second media app (a new `CarrierCalls`, a new owner id) on the same
database, as after the media worker process was killed and started again. What must
hold: an ended call's result is returned and nobody rings; a call left unfinished by a
dead process is rung exactly once more under its key; the dial log survives; and a dial
that cannot be recorded rings nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.privacy import mask_phone
from realtime.carrier.carrier_calls import CARRIER_ERROR, CarrierCalls
from realtime.carrier.dial_store import DialStore, DialStoreError
from realtime.carrier.http_dialer import CarrierUnavailableError, HttpDialer
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.server.app import create_media_app
from tests.support.servers import ADMIN, ADMIN_KEY, serving, until

pytestmark = pytest.mark.integration

QUICK = "+56933333333"
SLOW = "+56944444444"

PERSONAS = [
    Persona(
        number=QUICK,
        name="promises at once",
        script=[
            PersonaStep(
                outcome=CallOutcome.PROMISE_TO_PAY,
                ring_seconds=0.05,
                talk_seconds=0.05,
                extracted={"promised_amount": 150000},
            )
        ],
    ),
    Persona(
        number=SLOW,
        name="long enough to be cut off",
        script=[PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=2.0, talk_seconds=1.0)],
    ),
]


def _request(key: str, to: str = QUICK) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=to,
        campaign_id="c-durable",
        contact_id=f"contact-{key}",
        attempt_number=1,
    )


class MediaWorker:
    """One incarnation of the media worker: its own carrier and owner id, a shared store."""

    def __init__(self, url: str, carrier: SimulatedCarrier, http: httpx.AsyncClient) -> None:
        self.url = url
        self.carrier = carrier
        self.http = http

    async def dial(self, request: DialRequest) -> DialResult:
        """Dial through HttpDialer, as the call activity does."""
        dialer = HttpDialer(self.url, poll_interval=0.02, client=self.http)
        return await dialer.dial(request)

    async def status(self, key: str) -> httpx.Response:
        """GET the call under `key`."""
        return await self.http.get(f"{self.url}/carrier/calls/{quote(key, safe='')}")

    async def dial_log(self) -> list[dict[str, Any]]:
        """`GET /carrier/dial-log`."""
        reply = await self.http.get(f"{self.url}/carrier/dial-log", headers=ADMIN)
        assert reply.status_code == 200, reply.text
        entries: list[dict[str, Any]] = reply.json()
        return entries


@asynccontextmanager
async def media_worker(
    pool: Pool, *, time_scale: float = 0.0, store: DialStore | None = None
) -> AsyncIterator[MediaWorker]:
    """Serve a media app whose carrier keeps its calls in `pool`'s database."""
    carrier = SimulatedCarrier(PERSONAS, time_scale=time_scale)
    app = create_media_app(
        carrier, dial_store=store or DialStore(pool), admin_api_key=SecretStr(ADMIN_KEY)
    )
    async with serving(app) as url, httpx.AsyncClient(timeout=10.0) as http:
        yield MediaWorker(url, carrier, http)


async def stored_rings(pool: Pool, key: str) -> list[dict[str, Any]]:
    """The durable dial log's rows for `key`, in ring order."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT dial, owner, ended_as FROM carrier_dial_log WHERE idempotency_key = %s "
            "ORDER BY dial",
            (key,),
        )
        return await cur.fetchall()


# -- an ended call survives the restart ---------------------------------------------


async def test_ended_call_is_reported_after_a_restart_without_ringing(pool: Pool) -> None:
    request = _request("ended-before-restart")
    async with media_worker(pool) as first:
        talked = await first.dial(request)

    async with media_worker(pool) as restarted:
        again = await restarted.dial(request)
        status = (await restarted.status(request.idempotency_key)).json()

    assert again == talked
    assert again.outcome is CallOutcome.PROMISE_TO_PAY
    assert status["state"] == "ended"
    assert restarted.carrier.dial_log == []
    rings = await stored_rings(pool, request.idempotency_key)
    assert [(r["dial"], r["ended_as"]) for r in rings] == [(1, "result")]


class SlowStore(DialStore):
    """A store that takes its time to write a call's end (a busy database)."""

    async def finish(self, key: str, **fields: Any) -> bool:
        await asyncio.sleep(0.3)
        return await super().finish(key, **fields)


async def test_end_is_stored_before_the_status_says_ended(pool: Pool) -> None:
    """A kill right after the dialer saw the end must find the end stored already."""
    request = _request("stored-first")
    async with media_worker(pool, store=SlowStore(pool)) as media:
        result = await media.dial(request)
        stored = await DialStore(pool).get(request.idempotency_key)

    assert stored is not None
    assert stored.state == "ended"
    assert stored.result == result


# -- a call lost with its process is rung once more -----------------------------------


async def test_call_of_a_dead_process_rings_exactly_once_more(pool: Pool) -> None:
    request = _request("lost-with-its-process")
    # What a SIGKILL leaves behind: the ring recorded, its end never.
    await DialStore(pool).claim(request, owner="dead-process", at=datetime.now(UTC))

    async with media_worker(pool) as restarted:
        # Polled before anyone dials again: ended with a carrier error, so the dialer
        # gives up this try and the activity retries the attempt.
        lost = (await restarted.status(request.idempotency_key)).json()
        # The retries of the attempt, some at once: one ring between them.
        results = await asyncio.gather(*(restarted.dial(request) for _ in range(3)))
        later = await restarted.dial(request)

    assert lost["state"] == "ended"
    assert lost["error"]["type"] == CARRIER_ERROR
    assert "dead-process" in lost["error"]["detail"]
    assert results[0] == results[1] == results[2] == later
    assert later.outcome is CallOutcome.PROMISE_TO_PAY
    assert [r.idempotency_key for r in restarted.carrier.dial_log] == [request.idempotency_key]
    rings = await stored_rings(pool, request.idempotency_key)
    assert [(r["dial"], r["ended_as"]) for r in rings] == [(1, "lost"), (2, "result")]
    assert rings[0]["owner"] == "dead-process"
    assert rings[1]["owner"] != "dead-process"


async def test_lost_call_polled_by_the_dialer_is_retryable(pool: Pool) -> None:
    """The dialer's POST reached the old process, its next poll the restarted one."""
    request = _request("lost-seen-by-dialer")
    await DialStore(pool).claim(request, owner="dead-process", at=datetime.now(UTC))
    async with media_worker(pool) as restarted:
        polled = await restarted.status(request.idempotency_key)

    def carrier(outgoing: httpx.Request) -> httpx.Response:
        if outgoing.method == "POST":  # answered by the process about to die
            return httpx.Response(202, json={"idempotency_key": "k", "state": "ringing"})
        return httpx.Response(polled.status_code, content=polled.content)

    async with httpx.AsyncClient(transport=httpx.MockTransport(carrier)) as client:
        dialer = HttpDialer("http://carrier", client=client, poll_interval=0)
        with pytest.raises(CarrierUnavailableError, match="lost with a restarted"):
            await dialer.dial(request)


async def test_call_cut_off_by_a_shutdown_rings_again_under_its_key(pool: Pool) -> None:
    request = _request("cut-off-by-shutdown", to=SLOW)
    async with media_worker(pool, time_scale=1.0) as first:
        placed = await first.http.post(
            f"{first.url}/carrier/calls", json=request.model_dump(mode="json")
        )
        assert placed.status_code == 202, placed.text
    # The shutdown hung the call up: not an end to report, a lost call.

    async with media_worker(pool) as restarted:
        result = await restarted.dial(request)

    assert result.outcome is CallOutcome.COMPLETED
    assert len(restarted.carrier.dial_log) == 1
    rings = await stored_rings(pool, request.idempotency_key)
    assert [(r["dial"], r["ended_as"]) for r in rings] == [(1, "lost"), (2, "result")]


class BreaksOnce:
    """A carrier whose line fails on the first call it places, then works."""

    def __init__(self) -> None:
        self.placed: list[str] = []
        self._quick = SimulatedCarrier(PERSONAS, time_scale=0)

    async def dial(self, request: DialRequest) -> DialResult:
        self.placed.append(request.idempotency_key)
        if len(self.placed) == 1:
            raise RuntimeError("trunk down")
        return await self._quick.dial(request)


async def test_call_that_broke_rings_again_after_a_restart(pool: Pool) -> None:
    request = _request("broke-then-restart")
    carrier = BreaksOnce()
    app = create_media_app(carrier, dial_store=DialStore(pool))
    async with serving(app) as url, httpx.AsyncClient() as http:
        dialer = HttpDialer(url, poll_interval=0.02, client=http)
        with pytest.raises(CarrierUnavailableError, match="trunk down"):
            await dialer.dial(request)

    async with media_worker(pool) as restarted:
        result = await restarted.dial(request)

    assert result.outcome is CallOutcome.PROMISE_TO_PAY
    assert len(restarted.carrier.dial_log) == 1
    rings = await stored_rings(pool, request.idempotency_key)
    assert [(r["dial"], r["ended_as"]) for r in rings] == [(1, "error"), (2, "result")]


async def test_hung_up_lost_call_never_rings_again(pool: Pool) -> None:
    request = _request("lost-then-hung-up")
    await DialStore(pool).claim(request, owner="dead-process", at=datetime.now(UTC))

    async with media_worker(pool) as restarted:
        hung_up = await restarted.http.delete(
            f"{restarted.url}/carrier/calls/{request.idempotency_key}"
        )
    async with media_worker(pool) as later:
        result = await later.dial(request)

    assert hung_up.status_code == 200, hung_up.text
    assert hung_up.json()["result"]["disconnection_reason"] == "cancelled"
    assert result.disconnection_reason == "cancelled"
    assert restarted.carrier.dial_log == later.carrier.dial_log == []


# -- the dial log ---------------------------------------------------------------------


async def test_dial_log_survives_restarts(pool: Pool) -> None:
    keys = ["log-a", "log-b"]
    async with media_worker(pool) as first:
        for key in keys:
            await first.dial(_request(key))
        before = await first.dial_log()

    async with media_worker(pool) as restarted:
        after = await restarted.dial_log()

    ours = [e for e in after if e["idempotency_key"] in keys]
    assert ours == [e for e in before if e["idempotency_key"] in keys]
    assert [e["idempotency_key"] for e in ours] == keys
    assert all(
        e["to_number"] == mask_phone(QUICK) and e["campaign_id"] == "c-durable" for e in ours
    )
    assert [e["at"] for e in after] == sorted(e["at"] for e in after)


# -- the store down ---------------------------------------------------------------------


async def test_dial_that_cannot_be_recorded_rings_nobody(empty_database_url: str) -> None:
    """No carrier tables (migrations not run): 503, the dialer retries, nothing rings."""
    unmigrated = await open_pool(empty_database_url, min_size=1, max_size=2)
    try:
        async with media_worker(unmigrated) as media:
            request = _request("unrecorded")
            reply = await media.http.post(
                f"{media.url}/carrier/calls", json=request.model_dump(mode="json")
            )
            with pytest.raises(CarrierUnavailableError, match="503"):
                await media.dial(request)
            log_reply = await media.http.get(f"{media.url}/carrier/dial-log", headers=ADMIN)
    finally:
        await unmigrated.close()

    assert reply.status_code == 503
    assert "centralita migrate" in reply.json()["detail"]
    assert log_reply.status_code == 503
    assert media.carrier.dial_log == []


class FlakyStore(DialStore):
    """A store whose first write of a call's end fails, and whose second waits for us."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.finish_calls = 0
        self.release = asyncio.Event()

    async def finish(self, key: str, **fields: Any) -> bool:
        self.finish_calls += 1
        if self.finish_calls == 1:
            raise DialStoreError("postgres is restarting")
        await self.release.wait()
        return await super().finish(key, **fields)


async def test_call_reports_ringing_until_its_end_is_stored(pool: Pool) -> None:
    store = FlakyStore(pool)
    calls = CarrierCalls(SimulatedCarrier(PERSONAS, time_scale=0), store=store)
    request = _request("end-stored-late")
    try:
        call, placed = await calls.place(request)

        async def second_write_waiting() -> bool:
            return store.finish_calls == 2

        await until(second_write_waiting)
        ringing_while_unstored = call.status().state

        store.release.set()
        await calls.wait(call, 5.0)
    finally:
        await calls.aclose()

    assert placed
    assert ringing_while_unstored == "ringing"
    assert call.status().state == "ended"
    stored = await DialStore(pool).get(request.idempotency_key)
    assert stored is not None
    assert stored.result == call.result


async def test_with_a_store_only_the_last_ended_calls_stay_in_memory(pool: Pool) -> None:
    # A long-running media worker: the store answers for older calls, memory holds few.
    calls = CarrierCalls(
        SimulatedCarrier(PERSONAS, time_scale=0), store=DialStore(pool), keep_finished=2
    )
    keys = [f"kept-{n}-{datetime.now(UTC).timestamp()}" for n in range(4)]
    try:
        for key in keys:
            call, _ = await calls.place(_request(key))
            await calls.wait(call, 5.0)
        assert sorted(calls._calls) == sorted(keys[-2:])
        assert not calls._dial_log  # the store keeps the dial log
        # The first call, forgotten here, is still answered from the store, ringing nobody.
        first, placed = await calls.place(_request(keys[0]))
        assert not placed
        assert first.status().state == "ended"
        assert first.result is not None
        assert first.result.outcome is CallOutcome.PROMISE_TO_PAY
        logged = [e.idempotency_key for e in await calls.dial_log()]
        assert [k for k in logged if k in keys] == keys
    finally:
        await calls.aclose()
