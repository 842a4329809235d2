"""A `Dialer` that places calls through the carrier's HTTP service (the media worker).

The call itself runs in the service, so a dial activity that dies or is retried loses
nothing: posting the same idempotency key again joins the call already placed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import quote

import httpx
import pydantic
from temporalio import activity

from centralita.kernel.calls import DialRequest, DialResult, InvalidDialRequestError
from centralita.kernel.tracing_http import client_span, record_response
from realtime.carrier.carrier_calls import INVALID_DIAL_REQUEST, CallStatus

log = logging.getLogger(__name__)

# The carrier service's routes, as client spans name them.
_CALLS = "/carrier/calls"
_CALL = "/carrier/calls/{key}"


class CarrierUnavailableError(RuntimeError):
    """The carrier could not be reached or failed; dialling again with the same key is safe."""


class HttpDialer:
    """Places calls through ``POST /carrier/calls`` and waits for their end.

    Args:
        base_url: where the carrier service listens, e.g. ``http://127.0.0.1:8100``.
        poll_interval: pause between two polls of a call that has not ended.
        client: an HTTP client to use (left open by `aclose`); by default one of our own.
        long_poll: how long the service may hold each poll until the call ends (0: never);
            fewer requests per call than short polls, and the end is seen at once.
        request_timeout: limit on each request, besides the long poll itself.
        hang_up_timeout: limit on the best-effort hang-up sent when a dial is cancelled.
    """

    def __init__(
        self,
        base_url: str,
        *,
        poll_interval: float = 0.2,
        client: httpx.AsyncClient | None = None,
        long_poll: float = 10.0,
        request_timeout: float = 5.0,
        hang_up_timeout: float = 2.0,
    ) -> None:
        self._calls_url = f"{base_url.rstrip('/')}/carrier/calls"
        self._poll_interval = poll_interval
        self._long_poll = long_poll
        self._timeout = request_timeout
        self._hang_up_timeout = hang_up_timeout
        self._owns_client = client is None
        # Each call in flight holds a connection for its long poll, so httpx's default cap
        # of 100 would fail dials beyond it; the campaign's concurrency cap bounds them.
        self._client = client or httpx.AsyncClient(
            timeout=request_timeout, limits=httpx.Limits(max_connections=None)
        )
        # Hang-ups outlive the dial they belong to; held here so none is collected early.
        self._hang_ups: set[asyncio.Task[None]] = set()

    async def dial(self, request: DialRequest) -> DialResult:
        """Place the call (or join the one placed under its key) and wait for its end.

        Raises:
            InvalidDialRequestError: the carrier refused the request for good.
            CarrierUnavailableError: the carrier is unreachable or failed; retry.
        """
        key = request.idempotency_key
        try:
            call = await self._place(request)
            while call.state != "ended":
                call = await self._poll(key)
                if call.state != "ended":
                    await asyncio.sleep(self._poll_interval)
        except asyncio.CancelledError:
            if _cancel_means_hang_up():
                await self._hang_up(key)
            raise
        return _ended(call)

    async def aclose(self) -> None:
        """Let pending hang-ups finish, then close the client if it is ours."""
        if self._hang_ups:
            await asyncio.gather(*self._hang_ups, return_exceptions=True)
        if self._owns_client:
            await self._client.aclose()

    async def _place(self, request: DialRequest) -> CallStatus:
        body = request.model_dump(mode="json")
        key = request.idempotency_key
        return await self._call("POST", self._calls_url, key, json=body)

    async def _poll(self, key: str) -> CallStatus:
        params = {"wait": self._long_poll} if self._long_poll > 0 else None
        limit_s = self._timeout + self._long_poll
        return await self._call("GET", self._url(key), key, params=params, limit_s=limit_s)

    async def _call(
        self,
        method: str,
        url: str,
        key: str,
        *,
        json: object = None,
        params: dict[str, float] | None = None,
        limit_s: float | None = None,
    ) -> CallStatus:
        # The request carries the dial's trace (W3C `traceparent`): the call the media
        # worker places under it joins the trace of the campaign that dialled.
        template = _CALLS if method == "POST" else _CALL
        with client_span(
            method, url, template=template, attributes={"centralita.call_key": key}
        ) as (span, headers):
            try:
                reply = await self._client.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=limit_s or self._timeout,
                )
            except httpx.HTTPError as exc:
                record_response(span, None, type(exc).__name__)
                # Without the httpx/httpcore chain: its tracebacks made the activity's
                # failure too big for Temporal, which then showed no reason at all.
                raise CarrierUnavailableError(f"carrier unreachable: {exc!r}") from None
            record_response(span, reply.status_code)
        _raise_for_status(reply)
        try:
            return CallStatus.model_validate_json(reply.content)
        except pydantic.ValidationError as exc:
            raise CarrierUnavailableError(f"unexpected carrier reply: {exc}") from exc

    async def _hang_up(self, key: str) -> None:
        task = asyncio.create_task(self._send_hang_up(key), name=f"hang-up-{key}")
        self._hang_ups.add(task)
        task.add_done_callback(self._hang_ups.discard)
        # Shielded: the cancellation that brought us here must not cancel the hang-up too.
        await asyncio.shield(task)

    async def _send_hang_up(self, key: str) -> None:
        url = self._url(key)
        try:
            with client_span(
                "DELETE", url, template=_CALL, attributes={"centralita.call_key": key}
            ) as (span, headers):
                async with asyncio.timeout(self._hang_up_timeout):
                    reply = await self._client.delete(
                        url, headers=headers, timeout=self._hang_up_timeout
                    )
                record_response(span, reply.status_code)
            reply.raise_for_status()
        except (httpx.HTTPError, TimeoutError) as exc:
            # Best effort: the call still ends by itself, and its result is never used.
            log.warning("could not hang up call %s: %r", key, exc)

    def _url(self, key: str) -> str:
        # Keys are workflow ids, which may hold any character; quoted whole.
        return f"{self._calls_url}/{quote(key, safe='')}"


def _cancel_means_hang_up() -> bool:
    """Whether a cancelled dial should end its call.

    Only a cancel someone asked for (the workflow cancelled the attempt) ends the call.
    A dial activity is also cancelled when its worker shuts down, its attempt timed out
    or was paused or reset; then a retry of the same attempt follows and must join the
    call still going, not find it hung up.
    """
    if not activity.in_activity():
        return True
    details = activity.cancellation_details()
    return details is not None and details.cancel_requested


def _raise_for_status(reply: httpx.Response) -> None:
    if reply.is_success:
        return
    code = reply.status_code
    if code == 422:
        detail = _json_field(reply, "detail")
        kind = _json_field(reply, "type")
        if kind != INVALID_DIAL_REQUEST:
            # FastAPI's own body validation: the request's shape, not its number.
            detail = f"carrier refused the request body: {detail}"
        raise InvalidDialRequestError(str(detail))
    if code == 404:
        # The service lost the call (it restarted); a retry places it again.
        raise CarrierUnavailableError(f"carrier does not know the call: {reply.text}")
    if code in (408, 429) or code >= 500:
        raise CarrierUnavailableError(f"carrier failed (HTTP {code}): {reply.text}")
    # Any other 4xx will fail the same way every time.
    raise InvalidDialRequestError(f"carrier refused the request (HTTP {code}): {reply.text}")


def _json_field(reply: httpx.Response, name: str) -> object:
    with contextlib.suppress(ValueError):
        body = reply.json()
        if isinstance(body, dict):
            return body.get(name)
    return None


def _ended(call: CallStatus) -> DialResult:
    if call.result is not None:
        return call.result
    error = call.error
    if error is not None and error.type == INVALID_DIAL_REQUEST:
        raise InvalidDialRequestError(error.detail)
    # A call that broke on the carrier's side: the service lets a retry place it again.
    detail = error.detail if error else "no result"
    raise CarrierUnavailableError(f"call {call.idempotency_key} broke: {detail}")
