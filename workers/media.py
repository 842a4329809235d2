"""The media worker process: health, and the simulated carrier's HTTP service.

The carrier lives here, not in the orchestrator, so calls and their dial log survive an
orchestrator crash; the realtime issue puts the WebRTC media path behind the same routes.
"""

from __future__ import annotations

import uvicorn

from centralita.settings import Settings
from realtime.carrier.simulated import PersonaBook, SimulatedCarrier, packaged_personas
from realtime.server import create_media_app


def simulated_carrier(settings: Settings) -> SimulatedCarrier:
    """The simulated carrier playing the configured personas (the packaged demo set if unset)."""
    book = PersonaBook.load(settings.carrier_personas or packaged_personas())
    return SimulatedCarrier(book.personas)


async def run_media(
    settings: Settings, *, host: str | None = None, port: int | None = None
) -> None:
    """Serve the media worker until SIGINT/SIGTERM (uvicorn handles both)."""
    config = uvicorn.Config(
        create_media_app(simulated_carrier(settings)),
        host=host or settings.media_host,
        port=port or settings.media_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Long-polling dialers would hold a graceful shutdown for their whole poll.
        timeout_graceful_shutdown=3,
    )
    await uvicorn.Server(config).serve()
