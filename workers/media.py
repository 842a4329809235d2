"""The media worker process (an HTTP shell until the realtime issue fills it)."""

from __future__ import annotations

import uvicorn

from centralita.settings import Settings
from realtime.server import create_media_app


async def run_media(
    settings: Settings, *, host: str | None = None, port: int | None = None
) -> None:
    """Serve the media worker until SIGINT/SIGTERM (uvicorn handles both)."""
    config = uvicorn.Config(
        create_media_app(),
        host=host or settings.media_host,
        port=port or settings.media_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    await uvicorn.Server(config).serve()
