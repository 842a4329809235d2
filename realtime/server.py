"""The media worker's HTTP face: health, and the carrier service when it hosts one.

The realtime issue adds WebRTC signalling (SDP offer/answer) and call sessions here; the
process, its port and its supervision by the dev stack already exist.
"""

from __future__ import annotations

from fastapi import FastAPI

from centralita import __version__
from realtime.carrier.dialer import Dialer
from realtime.carrier.http_service import carrier_router


def create_media_app(carrier: Dialer | None = None) -> FastAPI:
    """The media worker's ASGI app.

    Args:
        carrier: places calls behind ``/carrier`` (the simulated carrier in dev and
            tests); without one the app serves health only.
    """
    app = FastAPI(title="Centralita media worker", version=__version__)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": "media"}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "component": "media"}

    if carrier is not None:
        app.include_router(carrier_router(carrier))
    return app
