"""The media worker's HTTP face. For now: health only.

The realtime issue adds WebRTC signalling (SDP offer/answer) and call sessions here; the
process, its port and its supervision by the dev stack already exist.
"""

from __future__ import annotations

from fastapi import FastAPI

from centralita import __version__


def create_media_app() -> FastAPI:
    """The media worker's ASGI app."""
    app = FastAPI(title="Centralita media worker", version=__version__)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": "media"}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "component": "media"}

    return app
