"""What handoff tests share: a shipped flow given a handoff policy, stored as a tenant's
agent, and an operator answering the human queue through the API with a bot softphone."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import httpx
import yaml

from realtime.legs.webrtc import SessionDescription, new_peer_connection
from realtime.providers.espeak import EspeakTTS
from realtime.softphone.bot import BotSoftphone
from realtime.softphone.script import BotLine, BotScript


def flow_with_handoff(base: str, name: str, handoff: dict[str, Any]) -> dict[str, Any]:
    """The shipped flow `base`, renamed `name`, with a handoff policy (as a tenant writes it)."""
    text = resources.files("realtime").joinpath(f"agents/{base}.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    definition["name"] = name
    definition["handoff"] = handoff
    return definition


async def store_agent(api: httpx.AsyncClient, definition: dict[str, Any]) -> None:
    """Store the tenant's agent through the API (as a tenant would)."""
    stored = await api.put(f"/agents/{definition['name']}", json=definition)
    assert stored.status_code in (200, 201), stored.text


async def first_snapshot_with_a_call(
    api: httpx.AsyncClient, operator_id: str, timeout_s: float
) -> tuple[dict[str, Any], float]:
    """Follow the operator's queue until a call waits: that snapshot, and when it came
    (time.time(), comparable with the handoff's `decided_at`)."""
    async with (
        asyncio.timeout(timeout_s),
        api.stream("GET", f"/operators/{operator_id}/events", timeout=timeout_s) as stream,
    ):
        async for line in stream.aiter_lines():
            if not line.startswith("data: "):
                continue
            snapshot: dict[str, Any] = json.loads(line.removeprefix("data: "))
            if snapshot["waiting"]:
                return snapshot, time.time()
    raise TimeoutError("no call rang")


@dataclass
class AnsweringOperator:
    """An operator's bot softphone: it says `line` as soon as it is connected."""

    line: str

    def __post_init__(self) -> None:
        self.bot = BotSoftphone(
            # Says its line at once, then listens a while (the caller answers meanwhile).
            BotScript(speaks_first=True, lines=[BotLine(say=self.line)], linger_s=8),
            EspeakTTS(speed_wpm=140),
        )
        self.pc = new_peer_connection()
        self.bot.attach(self.pc)

    async def answer(self, api: httpx.AsyncClient, operator_id: str) -> dict[str, Any]:
        """Answer the next call with this softphone's offer; the API's answer body."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answered = await api.post(
            f"/operators/{operator_id}/answer",
            json={"sdp": self.pc.localDescription.sdp, "type": "offer"},
        )
        assert answered.status_code == 200, answered.text
        body: dict[str, Any] = answered.json()
        await self.pc.setRemoteDescription(
            SessionDescription(sdp=body["sdp"], type="answer").to_rtc()
        )
        return body

    async def hang_up(self) -> None:
        await self.pc.close()
