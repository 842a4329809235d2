"""The carrier as an HTTP service, so calls and their dial log outlive the orchestrator.

The orchestrator worker may be killed while calls ring. The calls therefore run here, in
the media worker's process, keyed by idempotency key: a retried dial activity posts the
same key and joins the call already placed instead of ringing the person again.

Contract (all bodies JSON):

- ``POST /carrier/calls`` with a `DialRequest`: 202 and the call's status when it is
  placed now, 200 and the existing call's status when the key is known; 422
  ``{"detail", "type": "InvalidDialRequest"}`` when the number is not E.164.
- ``GET /carrier/calls/{key}?wait=S``: the call's status, 404 when unknown; with
  ``wait`` the reply is held up to S seconds until the call ends (a long poll).
- ``DELETE /carrier/calls/{key}``: hang up; idempotent. An unknown key is remembered as
  hung up, so a POST that arrives after its own DELETE never rings.
- ``GET /carrier/dial-log``: the calls that rang, in dial order, every campaign's and
  tenant's, their numbers masked (``+56*****4567``). It needs the admin key
  (``Authorization: Bearer <CENTRALITA_ADMIN_API_KEY>``): 401 without it (or with
  another), 403 while no admin key is configured.
- Any of them answers 503 when the durable store (below) cannot be read or written; the
  dialer retries.

A status is ``{"idempotency_key", "state", "result", "error"}``: `state` is ``ringing``
while the call runs and ``ended`` with either a `DialResult` or an error. (``in_progress``,
answered and talking, is part of the contract for the media worker; the simulated carrier
does not report the moment of answer, so its calls go from ringing to ended.)

With a `DialStore` (the media worker passes one) the calls and the dial log are also
durable, so they outlive this process too. A POST for a key not running here then asks
the store: an ended call's result is returned and nobody rings; a call left unfinished
by a dead process (lost with it) is rung again under the same key, its second ring; a
new key is recorded before it rings. A call's end is stored before its status says
ended, so a process killed right after a call ended never rings it again. A GET for a
lost call answers ended with a `CarrierError`, which makes the dialer retry the dial.
Without a store everything stays in memory, as before.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from centralita.kernel.calls import Dialer, DialRequest, InvalidDialRequestError
from centralita.kernel.privacy import mask_phone
from centralita.tenants.keys import secret_matches
from realtime.carrier.carrier_calls import (
    CARRIER_ERROR as CARRIER_ERROR,  # part of this service's contract
)
from realtime.carrier.carrier_calls import (
    INVALID_DIAL_REQUEST as INVALID_DIAL_REQUEST,
)
from realtime.carrier.carrier_calls import (
    MAX_WAIT_S,
    Call,
    CallStatus,
    CarrierCalls,
    DialLogEntry,
)
from realtime.carrier.dial_store import DialStore, DialStoreError

log = logging.getLogger(__name__)


def carrier_router(
    carrier: Dialer,
    *,
    keep_finished: int | None = None,
    store: DialStore | None = None,
    admin_key: SecretStr | None = None,
) -> APIRouter:
    """The `/carrier` routes over `carrier` (a `SimulatedCarrier` in dev and tests).

    Args:
        carrier: places the calls.
        keep_finished: how many ended calls stay in memory (`CarrierCalls`: by default
            100,000 without a store, whose memory is then all there is, and 100 with one).
        store: keeps calls and the dial log durably (the media worker's database);
            without one they live in this process only.
        admin_key: the only key that reads the dial log (`admin_api_key`); without one
            the dial log answers 403.

    Returns:
        A router to include in the media app; its lifespan hangs up calls still running
        when the app shuts down.
    """
    calls = CarrierCalls(carrier, keep_finished=keep_finished, store=store)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if store is not None:
            log.info("carrier %s keeps its calls in the database", calls.owner)
        yield
        await calls.aclose()

    router = APIRouter(prefix="/carrier", tags=["carrier"], lifespan=lifespan)

    @router.post(
        "/calls",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CallStatus,
        responses={
            200: {"model": CallStatus},
            422: {"description": "Invalid dial request"},
            503: {"description": "The dial could not be recorded; nothing rang"},
        },
    )
    async def place_call(request: DialRequest, response: Response) -> CallStatus | JSONResponse:
        """Place a call, or report the one already placed under its key."""
        try:
            call, placed = await calls.place(request)
        except InvalidDialRequestError as exc:
            return JSONResponse(
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                content={"detail": str(exc), "type": INVALID_DIAL_REQUEST},
            )
        except DialStoreError as exc:
            # Ringing without a durable record could ring the person twice after a
            # restart; refusing makes the dialer retry the same key a moment later.
            raise _unavailable(exc, "refused dial", request.idempotency_key) from exc
        if not placed:
            response.status_code = status.HTTP_200_OK
        return call.status()

    @router.get("/calls/{key:path}", responses={404: {"description": "Unknown call"}})
    async def get_call(
        key: str, wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0.0
    ) -> CallStatus:
        """A call's status; with `wait`, held until it ends or `wait` seconds pass."""
        call = await _known(calls, key)
        await calls.wait(call, wait)
        return call.status()

    @router.delete("/calls/{key:path}")
    async def hang_up(key: str) -> CallStatus:
        """Hang up (idempotent); the call ends `failed` / `cancelled` if still running."""
        try:
            return (await calls.hang_up(key)).status()
        except DialStoreError as exc:
            raise _unavailable(exc, "could not hang up", key) from exc

    @router.get(
        "/dial-log",
        responses={
            401: {"description": "no key, or not the admin key"},
            403: {"description": "no admin key is configured"},
        },
    )
    async def dial_log(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> list[DialLogEntry]:
        """The calls that rang, in dial order, numbers masked; the admin key only.

        Every tenant's calls are here, so no tenant's key would do.
        """
        _require_admin(admin_key, credentials)
        try:
            entries = await calls.dial_log()
        except DialStoreError as exc:
            raise _unavailable(exc, "could not read the dial log", None) from exc
        return [e.model_copy(update={"to_number": mask_phone(e.to_number)}) for e in entries]

    return router


async def _known(calls: CarrierCalls, key: str) -> Call:
    try:
        call = await calls.find(key)
    except DialStoreError as exc:
        raise _unavailable(exc, "could not report", key) from exc
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {key!r}")
    return call


_bearer = HTTPBearer(auto_error=False, scheme_name="AdminKey")


def _require_admin(
    admin_key: SecretStr | None, credentials: HTTPAuthorizationCredentials | None
) -> None:
    """Let only the admin key through, as the API's admin routes do.

    Raises:
        HTTPException: 403 while no admin key is configured; 401 (with a Bearer
            challenge) without a key or with another one.
    """
    if admin_key is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the dial log is off: set CENTRALITA_ADMIN_API_KEY and present it as a Bearer key",
        )
    presented = credentials.credentials if credentials is not None else ""
    if not presented or not secret_matches(admin_key.get_secret_value(), presented):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the dial log needs the admin key (Authorization: Bearer <admin key>)",
            headers={"WWW-Authenticate": 'Bearer realm="centralita-media"'},
        )


def _unavailable(exc: DialStoreError, what: str, key: str | None) -> HTTPException:
    """A 503 for a store failure, logged: the dialer retries on it."""
    log.error("carrier store unavailable, %s%s: %s", what, f" {key}" if key else "", exc)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"carrier store unavailable: {exc}")
