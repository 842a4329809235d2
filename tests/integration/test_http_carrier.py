"""The carrier's HTTP service on the real media app under uvicorn, dialled through HttpDialer.

The dial log lives in the media worker, so what these tests prove is what the crash test
relies on: a dial retried under the same key (a new client, as after a worker crash)
joins the call already placed and never rings the person a second time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.activity import ActivityCancellationDetails
from temporalio.testing import ActivityEnvironment

from activities.dialing import dial_with_heartbeats
from centralita.kernel.calls import CallOutcome, DialRequest, DialResult, InvalidDialRequestError
from centralita.kernel.privacy import mask_phone
from centralita.kernel.settings import Settings
from realtime.carrier.http_dialer import CarrierUnavailableError, HttpDialer
from realtime.carrier.http_service import carrier_router
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.server.app import create_media_app
from tests.support.servers import ADMIN, ADMIN_KEY, free_port, serving, until
from workers.media import media_parts

pytestmark = pytest.mark.integration

SCRIPTED = "+56911111111"
SLOW = "+56922222222"

PERSONAS = [
    Persona(
        number=SCRIPTED,
        name="answers on the third attempt",
        script=[
            PersonaStep(outcome=CallOutcome.NO_ANSWER, ring_seconds=0.05),
            PersonaStep(outcome=CallOutcome.BUSY, ring_seconds=0.05),
            PersonaStep(
                outcome=CallOutcome.CALLBACK_REQUESTED,
                ring_seconds=0.05,
                talk_seconds=0.05,
                transcript="Cliente: llámeme en hora y media.",
                extracted={"motivo": "en reunión"},
                callback_in_minutes=90,
            ),
            PersonaStep(
                outcome=CallOutcome.PROMISE_TO_PAY,
                ring_seconds=0.05,
                talk_seconds=0.05,
                extracted={"promised_amount": 200000},
            ),
        ],
    ),
    Persona(
        number=SLOW,
        name="long enough to be caught ringing",
        script=[PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.3, talk_seconds=0.2)],
    ),
]


def _request(to: str = SCRIPTED, attempt: int = 1, key: str | None = None) -> DialRequest:
    return DialRequest(
        idempotency_key=key or f"campaign-c1-contact-{to}-attempt-{attempt}",
        to_number=to,
        campaign_id="c1",
        contact_id=f"contact-{to}",
        attempt_number=attempt,
    )


@dataclass
class Requests:
    """Every request a client sent, as (method, path)."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def record(self, request: httpx.Request) -> None:
        """An httpx request hook."""
        self.sent.append((request.method, request.url.path))


@dataclass
class Media:
    """A running media worker app hosting a simulated carrier."""

    url: str
    carrier: SimulatedCarrier
    http: httpx.AsyncClient

    async def dial_log(self) -> list[dict[str, Any]]:
        """The service's dial log, as JSON."""
        reply = await self.http.get(f"{self.url}/carrier/dial-log", headers=ADMIN)
        reply.raise_for_status()
        log: list[dict[str, Any]] = reply.json()
        return log

    async def status(self, key: str) -> httpx.Response:
        """GET the call under `key`."""
        return await self.http.get(f"{self.url}/carrier/calls/{key}")

    async def wait_ended(self, key: str) -> dict[str, Any]:
        """The call under `key` once it has ended (a long poll)."""
        reply = await self.http.get(f"{self.url}/carrier/calls/{key}", params={"wait": 5})
        call: dict[str, Any] = reply.json()
        assert call["state"] == "ended"
        return call

    async def wait_ringing(self, key: str) -> None:
        """Return once the call under `key` is in the dial log."""

        async def ringing() -> bool:
            return any(e["idempotency_key"] == key for e in await self.dial_log())

        await until(ringing)


@pytest.fixture
async def media() -> AsyncIterator[Media]:
    carrier = SimulatedCarrier(PERSONAS)
    app = create_media_app(carrier, admin_api_key=SecretStr(ADMIN_KEY))
    async with serving(app) as url, httpx.AsyncClient() as http:
        yield Media(url=url, carrier=carrier, http=http)


@pytest.fixture
async def dialer(media: Media) -> AsyncIterator[HttpDialer]:
    dialer = HttpDialer(media.url, poll_interval=0.02)
    yield dialer
    await dialer.aclose()


@asynccontextmanager
async def recording_dialer(url: str, **options: Any) -> AsyncIterator[tuple[HttpDialer, Requests]]:
    """An HttpDialer on its own client whose requests are recorded."""
    requests = Requests()
    async with httpx.AsyncClient(event_hooks={"request": [requests.record]}) as client:
        dialer = HttpDialer(url, poll_interval=0.02, client=client, **options)
        yield dialer, requests
        await dialer.aclose()


# -- scripts and results -----------------------------------------------------------------


async def test_outcomes_follow_the_script_by_attempt_number(
    media: Media, dialer: HttpDialer
) -> None:
    requests = [_request(SCRIPTED, attempt=n) for n in range(1, 6)]
    results = [await dialer.dial(r) for r in requests]

    assert [r.outcome for r in results] == [
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        CallOutcome.CALLBACK_REQUESTED,
        CallOutcome.PROMISE_TO_PAY,
        CallOutcome.PROMISE_TO_PAY,  # the last step repeats
    ]
    log = await media.dial_log()
    assert [
        (e["idempotency_key"], e["to_number"], e["attempt_number"], e["campaign_id"]) for e in log
    ] == [(r.idempotency_key, mask_phone(SCRIPTED), r.attempt_number, "c1") for r in requests]
    assert all(e["contact_id"] == f"contact-{SCRIPTED}" for e in log)
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    # The service's log and the carrier's own agree.
    assert [r.idempotency_key for r in media.carrier.dial_log] == [
        e["idempotency_key"] for e in log
    ]


async def test_callback_in_minutes_lands_in_extracted(dialer: HttpDialer) -> None:
    result = await dialer.dial(_request(SCRIPTED, attempt=3))

    assert result.outcome is CallOutcome.CALLBACK_REQUESTED
    assert result.extracted == {"motivo": "en reunión", "callback_in_minutes": 90}
    assert result.answered_at is not None
    assert result.disconnection_reason == "user_hangup"
    assert result.transcript == "Cliente: llámeme en hora y media."


async def test_unanswered_step_carries_no_callback(dialer: HttpDialer) -> None:
    result = await dialer.dial(_request(SCRIPTED, attempt=1))
    assert result.extracted == {}


# -- idempotency -------------------------------------------------------------------------


async def test_same_key_dialled_concurrently_rings_once(media: Media, dialer: HttpDialer) -> None:
    request = _request(SLOW, key="same-key")
    async with recording_dialer(media.url) as (other, _):
        results = await asyncio.gather(
            dialer.dial(request), dialer.dial(request), other.dial(request)
        )

    assert results[0] == results[1] == results[2]
    assert results[0].outcome is CallOutcome.COMPLETED
    assert [e["idempotency_key"] for e in await media.dial_log()] == ["same-key"]
    assert len(media.carrier.dial_log) == 1


async def test_same_key_dialled_again_reports_the_first_call(
    media: Media, dialer: HttpDialer
) -> None:
    first = await dialer.dial(_request(SCRIPTED, attempt=1, key="k"))
    # Even a request that would script differently gets the first call's result.
    again = await dialer.dial(_request(SCRIPTED, attempt=4, key="k"))

    assert again == first
    assert again.outcome is CallOutcome.NO_ANSWER
    assert len(await media.dial_log()) == 1
    assert len(media.carrier.dial_log) == 1


async def test_post_places_once_then_reports(media: Media) -> None:
    body = _request(SLOW, key="raw").model_dump(mode="json")

    placed = await media.http.post(f"{media.url}/carrier/calls", json=body)
    known = await media.http.post(f"{media.url}/carrier/calls", json=body)

    assert placed.status_code == 202
    assert placed.json() == {
        "idempotency_key": "raw",
        "state": "ringing",
        "result": None,
        "error": None,
    }
    assert known.status_code == 200
    assert known.json()["state"] == "ringing"
    ended = await media.http.get(f"{media.url}/carrier/calls/raw", params={"wait": 5})
    assert ended.json()["state"] == "ended"
    assert DialResult.model_validate(ended.json()["result"]).outcome is CallOutcome.COMPLETED
    assert len(await media.dial_log()) == 1


async def test_unknown_call_is_404(media: Media) -> None:
    assert (await media.status("nobody")).status_code == 404


# -- crashes and cancellation ------------------------------------------------------------


async def test_new_dialer_joins_the_call_of_a_dead_one(media: Media) -> None:
    request = _request(SLOW, key="orphaned")
    # The orchestrator that placed the call dies: its client goes away mid-ring.
    async with httpx.AsyncClient() as doomed:
        placed = await doomed.post(
            f"{media.url}/carrier/calls", json=request.model_dump(mode="json")
        )
    assert placed.status_code == 202

    async with recording_dialer(media.url) as (restarted, sent):
        result = await restarted.dial(request)

    assert result.outcome is CallOutcome.COMPLETED
    assert ("POST", "/carrier/calls") in sent.sent
    assert [e["idempotency_key"] for e in await media.dial_log()] == ["orphaned"]
    assert len(media.carrier.dial_log) == 1


async def test_cancelled_dial_hangs_up(media: Media) -> None:
    request = _request(SLOW, key="cancel-me")
    async with recording_dialer(media.url) as (dialer, sent):
        dialling = asyncio.create_task(dialer.dial(request))
        await media.wait_ringing("cancel-me")
        dialling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await dialling

    assert ("DELETE", "/carrier/calls/cancel-me") in sent.sent
    call = (await media.status("cancel-me")).json()
    assert call["state"] == "ended"
    result = DialResult.model_validate(call["result"])
    assert result.outcome is CallOutcome.FAILED
    assert result.disconnection_reason == "cancelled"
    assert result.answered_at is None
    # A later dial under the key reports the hung-up call; nobody rings again.
    async with recording_dialer(media.url) as (again, _):
        assert await again.dial(request) == result
    assert len(await media.dial_log()) == 1
    assert len(media.carrier.dial_log) == 1


async def test_activity_cancelled_by_the_workflow_hangs_up(media: Media) -> None:
    request = _request(SLOW, key="activity-cancelled")
    env = ActivityEnvironment()
    async with recording_dialer(media.url) as (dialer, sent):
        running = asyncio.create_task(env.run(dial_with_heartbeats, dialer, request))
        await media.wait_ringing("activity-cancelled")
        env.cancel(ActivityCancellationDetails(cancel_requested=True))
        with pytest.raises(asyncio.CancelledError):
            await running
        # The hang-up outlives the activity (it runs in the dial's own task).
        call = await media.wait_ended("activity-cancelled")

        assert call["result"]["disconnection_reason"] == "cancelled"
        assert ("DELETE", "/carrier/calls/activity-cancelled") in sent.sent


@pytest.mark.parametrize(
    "details",
    [
        pytest.param(ActivityCancellationDetails(worker_shutdown=True), id="worker-shutdown"),
        pytest.param(ActivityCancellationDetails(timed_out=True), id="timed-out"),
        pytest.param(ActivityCancellationDetails(not_found=True), id="not-found"),
    ],
)
async def test_activity_cancelled_for_a_retry_leaves_the_call_up(
    media: Media, details: ActivityCancellationDetails
) -> None:
    """Cancelled because a retry of the attempt follows: the retry must find the call up."""
    request = _request(SLOW, key="retried")
    env = ActivityEnvironment()
    async with recording_dialer(media.url, long_poll=0) as (dialer, sent):
        running = asyncio.create_task(env.run(dial_with_heartbeats, dialer, request))
        await media.wait_ringing("retried")
        env.cancel(details)
        with pytest.raises(asyncio.CancelledError):
            await running
        # The first dialer stays open while the retry runs, so a hang-up it sent late
        # would still go out (and end the call the retry joins).
        async with recording_dialer(media.url) as (retry, _):
            result = await ActivityEnvironment().run(dial_with_heartbeats, retry, request)

    assert result.outcome is CallOutcome.COMPLETED
    assert not [method for method, _ in sent.sent if method == "DELETE"]
    assert len(await media.dial_log()) == 1


async def test_hang_up_is_idempotent(media: Media) -> None:
    body = _request(SLOW, key="twice").model_dump(mode="json")
    await media.http.post(f"{media.url}/carrier/calls", json=body)

    first = await media.http.delete(f"{media.url}/carrier/calls/twice")
    second = await media.http.delete(f"{media.url}/carrier/calls/twice")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["result"]["disconnection_reason"] == "cancelled"


async def test_hang_up_before_the_post_arrives_keeps_it_from_ringing(media: Media) -> None:
    """A cancelled dial's DELETE may overtake its own POST; the POST must not ring then."""
    hung_up = await media.http.delete(f"{media.url}/carrier/calls/overtaken")
    late = await media.http.post(
        f"{media.url}/carrier/calls",
        json=_request(SLOW, key="overtaken").model_dump(mode="json"),
    )

    assert hung_up.json()["state"] == "ended"
    assert late.status_code == 200
    assert late.json()["result"]["disconnection_reason"] == "cancelled"
    assert await media.dial_log() == []
    assert media.carrier.dial_log == []


# -- refusals and failures ---------------------------------------------------------------


async def test_invalid_number_is_refused(media: Media, dialer: HttpDialer) -> None:
    with pytest.raises(InvalidDialRequestError, match=r"E\.164"):
        await dialer.dial(_request("56911111111", key="bad"))

    reply = await media.http.post(
        f"{media.url}/carrier/calls",
        json=_request("+56 9 1111 1111", key="bad").model_dump(mode="json"),
    )
    assert reply.status_code == 422
    assert reply.json()["type"] == "InvalidDialRequest"
    assert "E.164" in reply.json()["detail"]
    # Refused requests claim no key and ring nobody.
    assert (await media.status("bad")).status_code == 404
    assert await media.dial_log() == []


async def test_malformed_body_is_refused(media: Media) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"{media.url}/carrier/calls", json={"to_number": SCRIPTED})
    assert reply.status_code == 422
    assert await media.dial_log() == []


async def test_carrier_down_is_unavailable_not_a_hang() -> None:
    dialer = HttpDialer(f"http://127.0.0.1:{free_port()}")
    try:
        async with asyncio.timeout(5):  # a guard against a hang, not a timing claim
            with pytest.raises(CarrierUnavailableError):
                await dialer.dial(_request())
    finally:
        await dialer.aclose()


async def test_carrier_gone_mid_call_is_unavailable() -> None:
    carrier = SimulatedCarrier(PERSONAS)
    async with serving(create_media_app(carrier)) as url:
        dialer = HttpDialer(url, poll_interval=0.02, long_poll=0)
        dialling = asyncio.create_task(dialer.dial(_request(SLOW)))

        async def ringing() -> bool:
            return bool(carrier.dial_log)

        await until(ringing)
    try:
        async with asyncio.timeout(5):
            with pytest.raises(CarrierUnavailableError):
                await dialling
    finally:
        await dialer.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(httpx.Response(503, text="overloaded"), CarrierUnavailableError, id="503"),
        pytest.param(httpx.Response(500), CarrierUnavailableError, id="500"),
        pytest.param(httpx.Response(429), CarrierUnavailableError, id="429"),
        pytest.param(httpx.Response(202, text="not json"), CarrierUnavailableError, id="garbage"),
        pytest.param(httpx.Response(400), InvalidDialRequestError, id="400"),
        pytest.param(
            httpx.Response(
                200,
                json={
                    "idempotency_key": "k",
                    "state": "ended",
                    "error": {"type": "CarrierError", "detail": "line fault"},
                },
            ),
            CarrierUnavailableError,
            id="broken-call",
        ),
        pytest.param(
            httpx.Response(
                200,
                json={
                    "idempotency_key": "k",
                    "state": "ended",
                    "error": {"type": "InvalidDialRequest", "detail": "no such route"},
                },
            ),
            InvalidDialRequestError,
            id="refused-call",
        ),
    ],
)
async def test_carrier_replies_map_to_errors(reply: httpx.Response, error: type[Exception]) -> None:
    transport = httpx.MockTransport(lambda _: reply)
    async with httpx.AsyncClient(transport=transport) as client:
        dialer = HttpDialer("http://carrier", client=client)
        with pytest.raises(error):
            await dialer.dial(_request())


async def test_lost_call_is_unavailable() -> None:
    """The service forgot the call (it restarted): retryable, not a protocol error."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"idempotency_key": "k", "state": "ringing"})
        return httpx.Response(404, json={"detail": "no call 'k'"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        dialer = HttpDialer("http://carrier", client=client, poll_interval=0)
        with pytest.raises(CarrierUnavailableError, match="does not know"):
            await dialer.dial(_request())


# -- memory bound and wiring -------------------------------------------------------------


async def test_finished_calls_kept_are_bounded() -> None:
    app = FastAPI()
    carrier = SimulatedCarrier(PERSONAS, time_scale=0)
    app.include_router(carrier_router(carrier, keep_finished=2, admin_key=SecretStr(ADMIN_KEY)))
    async with serving(app) as url, httpx.AsyncClient() as http:
        dialer = HttpDialer(url, client=http, poll_interval=0.01)
        for key in ("a", "b", "c"):
            await dialer.dial(_request(key=key))

        assert (await http.get(f"{url}/carrier/calls/a")).status_code == 404
        assert (await http.get(f"{url}/carrier/calls/c")).status_code == 200
        log = (await http.get(f"{url}/carrier/dial-log", headers=ADMIN)).json()
        assert [e["idempotency_key"] for e in log] == ["b", "c"]


async def test_media_app_keeps_health_and_serves_the_configured_personas(
    tmp_path: Path,
) -> None:
    busy = {"outcome": "busy", "ring_seconds": 0}
    book = {"personas": [{"number": "+34612000000", "name": "x", "script": [busy]}]}
    path = tmp_path / "personas.json"
    path.write_text(json.dumps(book), encoding="utf-8")
    settings = Settings(_env_file=None, carrier_personas=path)

    parts = media_parts(settings)
    async with serving(create_media_app(parts.dialer, signalling=parts.signalling)) as url:
        async with httpx.AsyncClient() as http:
            for health in ("/health", "/health/live"):
                assert (await http.get(f"{url}{health}")).json()["component"] == "media"
        dialer = HttpDialer(url)
        try:
            result = await dialer.dial(_request("+34612000000"))
        finally:
            await dialer.aclose()
    assert result.outcome is CallOutcome.BUSY


async def test_media_app_without_a_carrier_serves_health_only() -> None:
    async with serving(create_media_app()) as url, httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/health")).status_code == 200
        assert (await http.get(f"{url}/carrier/dial-log")).status_code == 404


# -- the dial log is the admin's, masked ------------------------------------------------


async def test_the_dial_log_needs_the_admin_key_and_masks_every_number(
    media: Media, dialer: HttpDialer
) -> None:
    # Ids as a campaign's (no number in them), so the number can only show as dialled.
    await dialer.dial(
        _request(SCRIPTED, key="campaign-c1-contact-k1-attempt-1").model_copy(
            update={"contact_id": "k1"}
        )
    )
    url = f"{media.url}/carrier/dial-log"
    for refused in (
        {},
        {"Authorization": "Bearer not-the-admin-key-at-all-0123"},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"Authorization": "Bearer ctk_0123456789ab_" + "x" * 43},  # a tenant's key: no
    ):
        reply = await media.http.get(url, headers=refused)
        assert reply.status_code == 401, (refused, reply.text)
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert SCRIPTED not in reply.text

    reply = await media.http.get(url, headers=ADMIN)
    assert reply.status_code == 200, reply.text
    assert [e["to_number"] for e in reply.json()] == ["+56*****1111"]
    assert SCRIPTED not in reply.text
    assert SCRIPTED[3:] not in reply.text


async def test_without_an_admin_key_the_dial_log_is_off() -> None:
    carrier = SimulatedCarrier(PERSONAS, time_scale=0)
    async with serving(create_media_app(carrier)) as url, httpx.AsyncClient() as http:
        dialer = HttpDialer(url, client=http, poll_interval=0.01)
        await dialer.dial(_request(SCRIPTED))
        for headers in ({}, ADMIN):
            reply = await http.get(f"{url}/carrier/dial-log", headers=headers)
            assert reply.status_code == 403, reply.text
            assert "CENTRALITA_ADMIN_API_KEY" in reply.json()["detail"]
