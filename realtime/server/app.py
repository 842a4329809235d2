"""The media worker's HTTP face: health, WebRTC signalling, and the carrier service.

Signalling (`realtime/server/signalling.py`) lets softphones call agents and be called by
them; the carrier service (`realtime/carrier/http_service.py`) is what the dial
activity posts calls to.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from pydantic import SecretStr

from centralita import __version__
from centralita.kernel.calls import Dialer
from centralita.kernel.telemetry import instrument_http_app
from realtime.carrier.dial_store import DialStore
from realtime.carrier.http_service import carrier_router


def create_media_app(
    carrier: Dialer | None = None,
    *,
    signalling: APIRouter | None = None,
    dial_store: DialStore | None = None,
    admin_api_key: SecretStr | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The media worker's ASGI app.

    Args:
        carrier: places calls behind ``/carrier`` (the simulated carrier in dev and
            tests); without one the app serves no carrier.
        signalling: the SDP offer/answer routes (`realtime.server.signalling.signalling_router`).
        dial_store: keeps the carrier's calls and dial log in the database, so they
            outlive this process; without one they live in memory only.
        admin_api_key: the key that reads the carrier's dial log (every tenant's calls);
            without one the dial log answers 403.
        routers: more routes (the carriers' media streams and webhooks).
    """
    app = FastAPI(title="Centralita media worker", version=__version__)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": "media"}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "component": "media"}

    if carrier is not None:
        app.include_router(carrier_router(carrier, store=dial_store, admin_key=admin_api_key))
    if signalling is not None:
        app.include_router(signalling)
    for router in routers:
        app.include_router(router)
    # The dial activity's `traceparent` makes each carrier request, and the call it
    # places, part of the campaign's trace; an inbound offer starts a trace of its own.
    instrument_http_app(app)
    return app
