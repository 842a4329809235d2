"""Operators through the API as their page drives it: signing in and going available,
their status, and their stream (`GET /operators/{id}/events`) read as it comes."""

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


async def available_operator(api: httpx.AsyncClient, name: str, *queues: str) -> str:
    """Sign `name` in to `queues` (the default one when none) and make them available;
    their id."""
    body = {"name": name, **({"queues": list(queues)} if queues else {})}
    signed = await api.post("/operators/sign-in", json=body)
    assert signed.status_code == 200, signed.text
    operator_id: str = signed.json()["id"]
    ready = await api.put(f"/operators/{operator_id}/status", json={"status": "available"})
    assert ready.status_code == 200, ready.text
    return operator_id


async def status_of(api: httpx.AsyncClient, operator_id: str) -> str:
    """The operator's status, as the tenant's operator list shows it."""
    listed = (await api.get("/operators", params={"limit": 500})).json()
    return str(next(o["status"] for o in listed if o["id"] == operator_id))
