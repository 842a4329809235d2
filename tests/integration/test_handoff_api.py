"""The human queue's API on the real app and Postgres: operators sign in, follow their
queue as server-sent snapshots (the API served by uvicorn on loopback), answer the next
call (joined through a loopback stand-in for the media worker's `/live-calls/{key}/join`,
speaking its real models), wrap up; callbacks are listed, done and cancelled; and
another tenant sees, streams, answers and settles nothing of the default tenant's.

Handoffs and callbacks are stored with the stores, as the media worker stores them.
Temporal is unreachable here: a settled callback's workflow cannot be told, and the
table (the truth) must be settled all the same.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import HTTPException, status

from api.app import create_app
from centralita.handoff import callbacks_store, queue_store
from centralita.handoff.models import Handoff, HandoffContext, NewHandoff, NewHumanCallback
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from realtime.server.controls import JoinAnswer, JoinOffer
from tests.support.fakes.loopback import LoopbackServer
from tests.support.operators import available_operator, snapshots, status_of
from tests.support.servers import AppClients, api_key_for, bearer, settings_for
from tests.support.tenants import ADMIN_KEY, new_tenant

pytestmark = pytest.mark.integration

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=operadora\r\n"  # opaque to the API


def maria() -> HandoffContext:
    """What the agent knew when María asked for a person."""
    return HandoffContext(
        name="María González",
        phone_masked="•••• 4567",
        language="es",
        summary=[
            "Agente: Le llamo por su deuda de doscientos mil pesos con Tiendas Cordillera.",
            "María: Ya le dije que no puedo pagar todo ahora.",
            "María: Quiero hablar con una persona, por favor.",
        ],
        sentiment=-0.6,
        sentiment_trend=-0.35,
        promise={"amount": 100000, "currency": "CLP", "date": "2026-12-11"},
        variables={"deuda": 200000, "empresa": "Tiendas Cordillera"},
    )


def new_queue() -> str:
    """A queue of one test only: other tests' waiting calls never reach it."""
    return f"cola-{uuid.uuid4().hex[:8]}"


async def waiting_call(
    pool: Pool, queue: str, *, priority: int = 0, tenant_id: str = DEFAULT_TENANT_ID
) -> Handoff:
    """A call waiting for a person in `queue`, stored as the media worker stores it."""
    new = NewHandoff(
        tenant_id=tenant_id,
        call_key=f"campaign-c-contact-{uuid.uuid4().hex[:8]}-attempt-1",
        queue=queue,
        trigger="explicit_request",
        reason="the caller asked for a person",
        priority=priority,
        max_wait_s=120,
        decided_at=datetime.now(UTC),
        context=maria(),
    )
    async with pool.connection() as conn:
        return await queue_store.insert(conn, new)


class MediaWorker(LoopbackServer):
    """Answers `/live-calls/{key}/join` as the media worker does: 201 and its SDP answer,
    or the status a test set for that call (404: the caller hung up; 409: someone has it)."""

    def __init__(self) -> None:
        super().__init__()
        self.joins: list[tuple[str, JoinOffer]] = []
        self.refusals: dict[str, int] = {}
        self.delay_s = 0.0

        @self.app.post("/live-calls/{call_key}/join", status_code=201)
        async def join(call_key: str, body: JoinOffer) -> JoinAnswer:
            self.joins.append((call_key, body))
            await asyncio.sleep(self.delay_s)
            refused = self.refusals.get(call_key)
            if refused is not None:
                raise HTTPException(refused, f"refused with {refused}")
            return JoinAnswer(call_key=call_key, sdp=f"v=0\r\ns=respuesta {call_key}\r\n")


class ApiServer(LoopbackServer):
    """The real API app on a loopback port (server-sent events are read as they come)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.app = create_app(settings)


@pytest.fixture(scope="module")
async def media() -> AsyncIterator[MediaWorker]:
    async with MediaWorker() as worker:
        yield worker


@pytest.fixture
def settings(database_url: str, media: MediaWorker) -> Settings:
    media.refusals.clear()
    media.delay_s = 0.0
    return settings_for(
        database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY, carrier_url=media.origin
    )


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


@pytest.fixture
async def other(settings: Settings, app_clients: AppClients) -> tuple[str, httpx.AsyncClient]:
    """A second tenant: its id, and a client with its key."""
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    tenant_id, key = await new_tenant(admin, f"otra {uuid.uuid4().hex[:6]}")
    client = await app_clients.open(settings, tenant_id=None)
    client.headers.update(bearer(key))
    return tenant_id, client


async def handoff(api: httpx.AsyncClient, handoff_id: str) -> dict[str, Any]:
    got = await api.get(f"/handoffs/{handoff_id}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def answer(api: httpx.AsyncClient, operator_id: str) -> httpx.Response:
    return await api.post(f"/operators/{operator_id}/answer", json={"sdp": OFFER})


# -- operators ------------------------------------------------------------------------


async def test_signing_in_creates_the_operator_once_and_updates_its_queues(
    api: httpx.AsyncClient,
) -> None:
    name = f"Ana Pérez {uuid.uuid4().hex[:4]}"
    first = await api.post("/operators/sign-in", json={"name": name, "queues": ["cobranza"]})
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["queues"]) == ("offline", ["cobranza"])
    again = await api.post(
        "/operators/sign-in", json={"name": f"  {name} ", "queues": ["cobranza", "ventas"]}
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["queues"] == ["cobranza", "ventas"]
    named = [o for o in (await api.get("/operators")).json() if o["name"] == name]
    assert [o["id"] for o in named] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "Ana", "queues": ["Cobranza Urgente"]}, ["body", "queues", 0]),
        ({"name": "Ana", "queues": ["ok", "../x"]}, ["body", "queues", 1]),
        ({"name": "Ana", "queues": []}, ["body", "queues"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "   "}, ["body", "name"]),  # once a 500: stripped to '' after validation
        ({"name": "x" * 101}, ["body", "name"]),
    ],
)
async def test_a_bad_sign_in_is_422_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, Any], loc: list[Any]
) -> None:
    refused = await api.post("/operators/sign-in", json=body)
    assert refused.status_code == 422, refused.text
    assert [e["loc"] for e in refused.json()["detail"]] == [loc]


async def test_status_changes_and_what_is_refused(api: httpx.AsyncClient) -> None:
    operator_id = await available_operator(api, f"Luis {uuid.uuid4().hex[:4]}", new_queue())
    assert await status_of(api, operator_id) == "available"
    for wanted in ("wrap_up", "offline", "available"):
        changed = await api.put(f"/operators/{operator_id}/status", json={"status": wanted})
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == wanted
        assert await status_of(api, operator_id) == wanted
    busy = await api.put(f"/operators/{operator_id}/status", json={"status": "busy"})
    assert busy.status_code == 422  # only answering a call makes an operator busy
    assert busy.json()["detail"][0]["loc"] == ["body", "status"]
    nobody = await api.put(f"/operators/{uuid.uuid4()}/status", json={"status": "offline"})
    assert nobody.status_code == 404


# -- the queue as server-sent snapshots -------------------------------------------------


async def test_the_stream_lists_the_operators_queues_in_answer_order_and_rings_at_once(
    pool: Pool, settings: Settings, other: tuple[str, httpx.AsyncClient]
) -> None:
    mine, also_mine, not_mine = new_queue(), new_queue(), new_queue()
    oldest = await waiting_call(pool, mine)
    urgent = await waiting_call(pool, also_mine, priority=5)
    newer = await waiting_call(pool, mine)
    await waiting_call(pool, not_mine, priority=9)
    await waiting_call(pool, mine, priority=9, tenant_id=other[0])  # B's, in a same-named queue
    async with (
        ApiServer(settings) as server,
        httpx.AsyncClient(
            base_url=server.origin,
            timeout=10,
            headers=bearer(await api_key_for(settings.database_url or "")),
        ) as api,
    ):
        operator_id = await available_operator(
            api, f"Carla {uuid.uuid4().hex[:4]}", mine, also_mine
        )
        async with api.stream("GET", f"/operators/{operator_id}/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = snapshots(stream)
            first = await anext(received)
            assert first["operator"]["id"] == operator_id
            assert first["operator"]["status"] == "available"
            assert [h["id"] for h in first["waiting"]] == [urgent.id, oldest.id, newer.id]
            assert first["waiting"][0]["context"]["name"] == "María González"
            assert first["current"] is None

            inserted_at = time.perf_counter()
            latest = await waiting_call(pool, mine)
            async with asyncio.timeout(1.0):
                while True:
                    snapshot = await anext(received)
                    if latest.id in [h["id"] for h in snapshot["waiting"]]:
                        break
            delay_ms = (time.perf_counter() - inserted_at) * 1000
            print(f"\na waiting call reached the operator's stream in {delay_ms:.0f} ms")
            assert [h["id"] for h in snapshot["waiting"]] == [
                urgent.id,
                oldest.id,
                newer.id,
                latest.id,
            ]

            # Answering is a change too: the call leaves the queue and becomes theirs.
            assert (await answer(api, operator_id)).status_code == 200
            async with asyncio.timeout(5):
                while (snapshot := await anext(received))["current"] is None:
                    pass
            assert snapshot["current"]["id"] == urgent.id
            assert snapshot["operator"]["status"] == "busy"
            assert [h["id"] for h in snapshot["waiting"]] == [oldest.id, newer.id, latest.id]
        assert (await api.get(f"/operators/{uuid.uuid4()}/events")).status_code == 404


# -- answering ----------------------------------------------------------------------------


async def test_answering_takes_the_next_call_in_order_and_joins_it(
    api: httpx.AsyncClient, pool: Pool, media: MediaWorker
) -> None:
    queue = new_queue()
    oldest = await waiting_call(pool, queue)
    urgent = await waiting_call(pool, queue, priority=3)
    name = f"Ana {uuid.uuid4().hex[:4]}"
    ana = await available_operator(api, name, queue)

    answered = await answer(api, ana)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (body["handoff"]["id"], body["type"]) == (urgent.id, "answer")
    assert body["sdp"] == f"v=0\r\ns=respuesta {urgent.call_key}\r\n"
    key, offer = media.joins[-1]
    assert (key, offer.sdp, offer.by) == (urgent.call_key, OFFER, name)
    taken = await handoff(api, urgent.id)
    assert (taken["state"], taken["operator_id"], taken["operator_name"]) == ("answered", ana, name)
    assert taken["answered_at"] is not None
    assert await status_of(api, ana) == "busy"
    assert (await handoff(api, oldest.id))["state"] == "waiting"

    luis = await available_operator(api, f"Luis {uuid.uuid4().hex[:4]}", queue)
    second = await answer(api, luis)
    assert second.status_code == 200, second.text
    assert second.json()["handoff"]["id"] == oldest.id


async def test_two_operators_answering_one_call_at_once_one_gets_it(
    api: httpx.AsyncClient, pool: Pool, media: MediaWorker
) -> None:
    queue = new_queue()
    only = await waiting_call(pool, queue)
    ana, luis = [
        await available_operator(api, f"{n} {uuid.uuid4().hex[:4]}", queue) for n in ("Ana", "Luis")
    ]
    media.delay_s = 0.2  # the winner's join is still under way when the other answers
    both = await asyncio.gather(answer(api, ana), answer(api, luis))
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
    [won] = [r for r in both if r.status_code == 200]
    [lost] = [r for r in both if r.status_code == 409]
    assert won.json()["handoff"]["id"] == only.id
    assert "no call is waiting" in lost.json()["detail"]
    assert [k for k, _ in media.joins].count(only.call_key) == 1
    winner = (await handoff(api, only.id))["operator_id"]
    loser = luis if winner == ana else ana
    assert (await status_of(api, winner), await status_of(api, loser)) == ("busy", "available")


async def test_an_operator_takes_one_call_at_a_time(
    api: httpx.AsyncClient, pool: Pool, media: MediaWorker
) -> None:
    """A double click answers twice at once: one call is taken, the other still waits
    (both were once taken, the first caller left with nobody)."""
    queue = new_queue()
    first, second = await waiting_call(pool, queue), await waiting_call(pool, queue)
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", queue)
    media.delay_s = 0.2
    both = await asyncio.gather(answer(api, ana), answer(api, ana))
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
    [refused] = [r for r in both if r.status_code == 409]
    assert "a call already" in refused.json()["detail"]
    assert (await handoff(api, first.id))["state"] == "answered"
    assert (await handoff(api, second.id))["state"] == "waiting"
    media.delay_s = 0.0
    assert (await answer(api, ana)).status_code == 409  # still on the first call
    assert await status_of(api, ana) == "busy"
    wrap = {"operator_id": ana, "disposition": "resolved"}
    assert (await api.post(f"/handoffs/{first.id}/wrap-up", json=wrap)).status_code == 200
    after = await answer(api, ana)
    assert after.status_code == 200, after.text
    assert after.json()["handoff"]["id"] == second.id


async def test_an_offline_operator_who_finds_nobody_waiting_stays_offline(
    api: httpx.AsyncClient,
) -> None:
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", new_queue())
    await api.put(f"/operators/{ana}/status", json={"status": "offline"})
    assert (await answer(api, ana)).status_code == 409
    assert await status_of(api, ana) == "offline"


async def test_a_caller_who_hung_up_is_409_and_the_call_abandoned(
    api: httpx.AsyncClient, pool: Pool, media: MediaWorker
) -> None:
    queue = new_queue()
    gone = await waiting_call(pool, queue)
    media.refusals[gone.call_key] = status.HTTP_404_NOT_FOUND
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", queue)
    refused = await answer(api, ana)
    assert refused.status_code == 409, refused.text
    assert "hung up" in refused.json()["detail"]
    settled = await handoff(api, gone.id)
    assert settled["state"] == "abandoned"
    assert settled["settled_at"] is not None
    assert await status_of(api, ana) == "available"
    assert (await answer(api, ana)).status_code == 409  # nothing else waits


@pytest.mark.parametrize(
    ("media_status", "api_status"),
    [(status.HTTP_409_CONFLICT, 409), (status.HTTP_502_BAD_GATEWAY, 502), (500, 502)],
)
async def test_a_join_that_fails_puts_the_call_back_in_the_queue(
    api: httpx.AsyncClient, pool: Pool, media: MediaWorker, media_status: int, api_status: int
) -> None:
    queue = new_queue()
    call = await waiting_call(pool, queue)
    media.refusals[call.call_key] = media_status
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", queue)
    refused = await answer(api, ana)
    assert refused.status_code == api_status, refused.text
    back = await handoff(api, call.id)
    # Back in the queue it is nobody's (it once still named the operator who failed).
    assert (back["state"], back["operator_id"], back["answered_at"]) == ("waiting", None, None)
    assert await status_of(api, ana) == "available"
    del media.refusals[call.call_key]
    luis = await available_operator(api, f"Luis {uuid.uuid4().hex[:4]}", queue)
    retried = await answer(api, luis)
    assert retried.status_code == 200, retried.text
    assert retried.json()["handoff"]["id"] == call.id


async def test_every_answer_status_is_documented(api: httpx.AsyncClient) -> None:
    documented = (await api.get("/openapi.json")).json()["paths"]
    responses = documented["/operators/{operator_id}/answer"]["post"]["responses"]
    assert {"200", "404", "409", "422", "502"} <= set(responses)


async def test_answering_with_nobody_waiting_is_409(api: httpx.AsyncClient) -> None:
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", new_queue())
    refused = await answer(api, ana)
    assert refused.status_code == 409
    assert "no call is waiting" in refused.json()["detail"]
    assert await status_of(api, ana) == "available"
    assert (await answer(api, str(uuid.uuid4()))).status_code == 404


async def test_wrap_up_by_the_operator_who_took_the_call(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    queue = new_queue()
    call = await waiting_call(pool, queue)
    ana, luis = [
        await available_operator(api, f"{n} {uuid.uuid4().hex[:4]}", queue) for n in ("Ana", "Luis")
    ]
    assert (await answer(api, ana)).status_code == 200
    wrap = {
        "operator_id": ana,
        "disposition": "promise_to_pay",
        "notes": "Paga el 11 de diciembre.",
    }

    bad = await api.post(f"/handoffs/{call.id}/wrap-up", json={**wrap, "disposition": "pagó"})
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [["body", "disposition"]]
    not_theirs = await api.post(f"/handoffs/{call.id}/wrap-up", json={**wrap, "operator_id": luis})
    assert not_theirs.status_code == 404, not_theirs.text
    assert await status_of(api, luis) == "available"

    done = await api.post(f"/handoffs/{call.id}/wrap-up", json=wrap)
    assert done.status_code == 200, done.text
    stored = await handoff(api, call.id)
    assert (stored["disposition"], stored["notes"]) == (
        "promise_to_pay",
        "Paga el 11 de diciembre.",
    )
    assert stored["wrapped_up_at"] is not None
    assert await status_of(api, ana) == "available"
    listed = (await api.get("/handoffs", params={"state": "answered", "limit": 500})).json()
    assert call.id in [h["id"] for h in listed]
    waiting = (await api.get("/handoffs", params={"state": "waiting", "limit": 500})).json()
    assert call.id not in [h["id"] for h in waiting]


# -- another tenant -------------------------------------------------------------------------


async def test_another_tenant_sees_streams_answers_and_wraps_up_nothing(
    api: httpx.AsyncClient, pool: Pool, other: tuple[str, httpx.AsyncClient], media: MediaWorker
) -> None:
    queue = new_queue()
    mine = await waiting_call(pool, queue)
    taken = await waiting_call(pool, queue)
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", queue)
    assert (await answer(api, ana)).json()["handoff"]["id"] == mine.id
    b_id, b_api = other
    joins = len(media.joins)

    assert ana not in [o["id"] for o in (await b_api.get("/operators")).json()]
    assert (await b_api.get("/handoffs", params={"limit": 500})).json() == []
    for path in (f"/handoffs/{mine.id}", f"/operators/{ana}/events"):
        assert (await b_api.get(path)).status_code == 404, path
    assert (await answer(b_api, ana)).status_code == 404
    wrap = {"operator_id": ana, "disposition": "other"}
    assert (await b_api.post(f"/handoffs/{mine.id}/wrap-up", json=wrap)).status_code == 404
    moved = await b_api.put(f"/operators/{ana}/status", json={"status": "offline"})
    assert moved.status_code == 404

    # B's own operator in a queue of the same name: A's waiting call is not B's to take.
    b_operator = await available_operator(b_api, "Ana", queue)
    assert (await answer(b_api, b_operator)).status_code == 409
    assert len(media.joins) == joins
    assert (await handoff(api, taken.id))["state"] == "waiting"
    assert (await handoff(api, mine.id))["disposition"] is None
    assert await status_of(api, ana) == "busy"
    assert b_id != DEFAULT_TENANT_ID


# -- callbacks --------------------------------------------------------------------------------


async def owed(pool: Pool, due_in: timedelta, tenant_id: str = DEFAULT_TENANT_ID) -> str:
    """A callback owed to María, due `due_in` from now, stored as the media worker does."""
    new = NewHumanCallback(
        tenant_id=tenant_id,
        call_key=f"campaign-c-contact-{uuid.uuid4().hex[:8]}-attempt-1",
        phone="+56961234567",
        name="María González",
        reason="nadie estaba libre: pidió hablar con una persona",
        due_at=datetime.now(UTC) + due_in,
        context=maria(),
    )
    async with pool.connection() as conn:
        return (await callbacks_store.insert(conn, new)).id


async def test_callbacks_are_listed_soonest_first_and_filtered(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    later = await owed(pool, timedelta(days=30))
    sooner = await owed(pool, timedelta(days=29))
    listed = [c["id"] for c in (await api.get("/human-callbacks", params={"limit": 500})).json()]
    assert listed.index(sooner) < listed.index(later)
    cancelled = await api.post(f"/human-callbacks/{later}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    scheduled = (await api.get("/human-callbacks", params={"state": "scheduled"})).json()
    assert sooner in [c["id"] for c in scheduled]
    assert later not in [c["id"] for c in scheduled]
    [gone] = (await api.get("/human-callbacks", params={"state": "cancelled"})).json()
    assert (gone["id"], gone["workflow_id"]) == (later, f"human-callback-{later}")
    assert gone["context"]["name"] == "María González"
    bad = await api.get("/human-callbacks", params={"state": "pending"})
    assert bad.status_code == 422


async def test_a_callback_done_stores_who_and_how_once(
    api: httpx.AsyncClient, pool: Pool, other: tuple[str, httpx.AsyncClient]
) -> None:
    callback_id = await owed(pool, timedelta(hours=2))
    ana = await available_operator(api, f"Ana {uuid.uuid4().hex[:4]}", new_queue())
    b_operator = await available_operator(other[1], "Beto", new_queue())
    done = {"operator_id": ana, "disposition": "promise_to_pay", "notes": "Pagará el viernes."}

    nobody = {**done, "operator_id": str(uuid.uuid4())}
    assert (await api.post(f"/human-callbacks/{callback_id}/done", json=nobody)).status_code == 404
    b_as_operator = {**done, "operator_id": b_operator}
    refused = await api.post(f"/human-callbacks/{callback_id}/done", json=b_as_operator)
    assert refused.status_code == 404
    bad = await api.post(f"/human-callbacks/{callback_id}/done", json={**done, "disposition": "x"})
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [["body", "disposition"]]

    # Temporal is unreachable here: the table is settled all the same (once a 500).
    settled = await api.post(f"/human-callbacks/{callback_id}/done", json=done)
    assert settled.status_code == 200, settled.text
    body = settled.json()
    assert (body["state"], body["operator_id"], body["disposition"], body["notes"]) == (
        "done",
        ana,
        "promise_to_pay",
        "Pagará el viernes.",
    )
    assert body["settled_at"] is not None
    again = await api.post(f"/human-callbacks/{callback_id}/done", json=done)
    assert again.status_code == 409
    assert "done already" in again.json()["detail"]
    assert (await api.post(f"/human-callbacks/{callback_id}/cancel")).status_code == 409


async def test_another_tenant_cannot_settle_or_see_a_callback(
    api: httpx.AsyncClient, pool: Pool, other: tuple[str, httpx.AsyncClient]
) -> None:
    callback_id = await owed(pool, timedelta(hours=3))
    b_id, b_api = other
    theirs = await owed(pool, timedelta(hours=1), tenant_id=b_id)
    b_operator = await available_operator(b_api, "Beto", new_queue())
    done = {"operator_id": b_operator, "disposition": "resolved"}
    assert (await b_api.post(f"/human-callbacks/{callback_id}/done", json=done)).status_code == 404
    assert (await b_api.post(f"/human-callbacks/{callback_id}/cancel")).status_code == 404
    assert [c["id"] for c in (await b_api.get("/human-callbacks")).json()] == [theirs]
    assert theirs not in [
        c["id"] for c in (await api.get("/human-callbacks", params={"limit": 500})).json()
    ]
    mine = [
        c
        for c in (await api.get("/human-callbacks", params={"limit": 500})).json()
        if c["id"] == callback_id
    ]
    assert [c["state"] for c in mine] == ["scheduled"]
    cancelled = await api.post(f"/human-callbacks/{callback_id}/cancel")
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")


async def test_an_eventsource_follows_the_queue_with_the_key_in_the_url(settings: Settings) -> None:
    # A browser's EventSource cannot send headers: the stream takes ?access_token= (as a
    # call's events do); it was refused with 401, so such a page never rang.
    key = await api_key_for(settings.database_url or "")
    async with (
        ApiServer(settings) as server,
        httpx.AsyncClient(base_url=server.origin, timeout=10) as bare,
    ):
        signed_in = await bare.post("/operators/sign-in", json={"name": "Eva"}, headers=bearer(key))
        operator_id = signed_in.json()["id"]
        url = f"/operators/{operator_id}/events?access_token={key}"
        async with bare.stream("GET", url) as stream:
            assert stream.status_code == 200
            first = await anext(snapshots(stream))
        assert first["operator"]["name"] == "Eva"
        refused = await bare.post(
            f"/operators/{operator_id}/answer?access_token={key}", json={"sdp": "v=0"}
        )
        assert refused.status_code == 401  # only the stream takes the key in the URL
