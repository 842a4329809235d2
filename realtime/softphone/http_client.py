"""A bot softphone that reaches the media worker over HTTP signalling, like a real phone.

`call` dials an agent's inbound number (``POST /calls/inbound``); `answer_next` holds a
number and picks up the next call the agent places to it (``GET
/softphones/{number}/calls/next``, then ``POST /calls/{id}/answer``). Either way the
conversation is the bot's script over a real WebRTC connection; the report is what the
bot heard and measured. The browser softphone speaks the same endpoints.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from realtime.legs.webrtc import IceServer, SessionDescription, new_peer_connection
from realtime.providers.base import TextToSpeech
from realtime.softphone.bot import BotReport, BotSoftphone
from realtime.softphone.script import BotScript


class SignallingError(RuntimeError):
    """The media worker refused the call or its answer."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"HTTP {status_code}: {detail}")
        self.status_code = status_code


@dataclass
class SoftphoneCall:
    """One call the softphone took part in."""

    call_id: str
    report: BotReport


class HttpSoftphone:
    """A scripted bot behind `number`, signalling with the media worker at `media_url`."""

    def __init__(
        self,
        media_url: str,
        number: str,
        tts: TextToSpeech,
        *,
        http: httpx.AsyncClient,
        ice_servers: list[IceServer] | None = None,
    ) -> None:
        self._url = media_url.rstrip("/")
        self.number = number
        self._tts = tts
        self._http = http
        self._ice = ice_servers or []

    async def call(self, agent_number: str, script: BotScript) -> SoftphoneCall:
        """Call the agent at `agent_number` and play `script` until the call ends.

        Raises:
            SignallingError: the media worker refused the call.
        """
        pc = new_peer_connection(self._ice)
        bot = BotSoftphone(script, self._tts)
        bot.attach(pc)
        try:
            await pc.setLocalDescription(await pc.createOffer())
            reply = await self._http.post(
                f"{self._url}/calls/inbound",
                json={
                    "to_number": agent_number,
                    "from_number": self.number,
                    "sdp": pc.localDescription.sdp,
                    "type": "offer",
                },
            )
            _check(reply)
            answer = reply.json()
            await pc.setRemoteDescription(
                SessionDescription(sdp=answer["sdp"], type="answer").to_rtc()
            )
            return SoftphoneCall(call_id=answer["call_id"], report=await bot.done())
        finally:
            with contextlib.suppress(Exception):
                await pc.close()

    async def answer_next(self, script: BotScript, *, wait_s: float = 20.0) -> SoftphoneCall | None:
        """Wait for the agent to call this number, pick up and play `script`.

        Returns:
            The call, or None when no call came within `wait_s`.

        Raises:
            SignallingError: the answer was refused (the call stopped ringing).
        """
        offer = await self._next_offer(wait_s)
        if offer is None:
            return None
        pc = new_peer_connection(self._ice)
        bot = BotSoftphone(script, self._tts)
        bot.attach(pc)
        try:
            await pc.setRemoteDescription(
                SessionDescription(sdp=offer["sdp"], type="offer").to_rtc()
            )
            await pc.setLocalDescription(await pc.createAnswer())
            answered = await self._http.post(
                f"{self._url}/calls/{quote(offer['call_id'], safe='')}/answer",
                json={"sdp": pc.localDescription.sdp, "type": "answer"},
            )
            _check(answered)
            return SoftphoneCall(call_id=offer["call_id"], report=await bot.done())
        finally:
            with contextlib.suppress(Exception):
                await pc.close()

    async def _next_offer(self, wait_s: float) -> dict[str, Any] | None:
        """Hold the number for up to `wait_s`: the offered call, or None when none came."""
        number = quote(self.number, safe="")
        reply = await self._http.get(
            f"{self._url}/softphones/{number}/calls/next",
            params={"wait": wait_s},
            timeout=wait_s + 10,
        )
        _check(reply)
        if reply.status_code == 204:
            return None
        offer: dict[str, Any] = reply.json()
        return offer

    async def reject_next(self, reason: str = "busy", *, wait_s: float = 20.0) -> str | None:
        """Refuse the next call to this number; its id, or None when none came."""
        offer = await self._next_offer(wait_s)
        if offer is None:
            return None
        call_id = str(offer["call_id"])
        rejected = await self._http.post(
            f"{self._url}/calls/{quote(call_id, safe='')}/reject", json={"reason": reason}
        )
        _check(rejected)
        return call_id


def _check(reply: httpx.Response) -> None:
    if reply.is_success:
        return
    try:
        detail = str(reply.json().get("detail"))
    except ValueError:
        detail = reply.text
    raise SignallingError(reply.status_code, detail)
