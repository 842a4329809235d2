"""A FastAPI app served by uvicorn on a free 127.0.0.1 port for the length of a block."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any, Self

import uvicorn
from fastapi import FastAPI


class LoopbackServer:
    """`async with Subclass(...) as server:` serves `self.app` at `server.port`."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):  # uvicorn has no "started" event to await
            if self._server.started:
                return self
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{type(self).__name__} did not start")

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._task is not None
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, 5)


class ServedApp(LoopbackServer):
    """A given ASGI app (the API, with its lifespan) served on loopback: streams such as
    server-sent events arrive as they are written, which an in-process transport
    (httpx's ASGITransport buffers whole bodies) cannot show."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app
