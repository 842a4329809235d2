"""Reading an operator page's stream (`GET /operators/{id}/events`) as a page does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


async def snapshots(stream: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `queue` events of an operator's stream, as they come (keep-alives skipped)."""
    event = ""
    async for line in stream.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "queue":
            yield json.loads(line.removeprefix("data: "))
