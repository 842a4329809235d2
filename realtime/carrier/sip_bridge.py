"""Two SIP calls joined in the media worker: a caller handed to a person (a warm
transfer), after the agent has left.

A SIP trunk has no conference of its own to put both in, so the worker relays the
audio itself: every 20 ms frame one side's jitter buffer gives is sent to the other
(transcoded when one talks µ-law and the other A-law; a lost frame is sent as silence,
so both far ends keep a steady stream), and keys pressed on one side are pressed on the
other. The bridge holds until either side hangs up (its BYE) or goes silent (no RTP for
`RTP_TIMEOUT_S`); then the other side is hung up and both RTP ports are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import numpy as np

from realtime.audio import g711
from realtime.legs.sip_call import RTP_TIMEOUT_S
from realtime.sip.rtp_session import RtpSession
from realtime.sip.user_agent import SipCall, SipUserAgent

log = logging.getLogger(__name__)

_SILENCE = np.zeros(g711.FRAME_BYTES, dtype=np.int16)


@dataclass
class BridgedCall:
    """One side of the bridge: its call, its RTP and the law it speaks."""

    call: SipCall
    rtp: RtpSession
    law: g711.G711Law

    def close(self) -> None:
        """Stop its RTP."""
        self.rtp.close()


class SipBridge:
    """Relays audio and keys between two calls until one of them ends."""

    def __init__(
        self,
        agent: SipUserAgent,
        a: BridgedCall,
        b: BridgedCall,
        *,
        rtp_timeout_s: float = RTP_TIMEOUT_S,
    ) -> None:
        self.agent = agent
        self.a = a
        self.b = b
        self._rtp_timeout_s = rtp_timeout_s
        self.frames_relayed = 0
        self._keys: set[asyncio.Task[None]] = set()

    async def run(self) -> str:
        """Relay until a side ends; which one did (``a``, ``b``, ``rtp_timeout``)."""
        self.a.rtp.on_digit = lambda digit: self._press(self.b, digit)
        self.b.rtp.on_digit = lambda digit: self._press(self.a, digit)
        relays = [
            asyncio.create_task(self._relay(self.a, self.b), name="bridge-a-b"),
            asyncio.create_task(self._relay(self.b, self.a), name="bridge-b-a"),
        ]
        ended = {
            asyncio.create_task(self._ended(self.a.call), name="bridge-a-end"): "a",
            asyncio.create_task(self._ended(self.b.call), name="bridge-b-end"): "b",
            asyncio.create_task(self._silence(), name="bridge-silence"): "rtp_timeout",
        }
        try:
            done, _ = await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
            who = ended[done.pop()]
            log.info("bridge ended by %s after %d frames", who, self.frames_relayed)
            return who
        finally:
            for task in [*relays, *ended]:
                task.cancel()
            await asyncio.gather(*relays, *ended, *self._keys, return_exceptions=True)
            for side in (self.a, self.b):
                with contextlib.suppress(Exception):
                    await self.agent.bye(side.call)  # nothing is sent for a side that ended
                side.close()

    async def _relay(self, source: BridgedCall, target: BridgedCall) -> None:
        same_law = source.law is target.law
        silence = g711.encode(_SILENCE, target.law)
        async for payload in source.rtp.frames():
            if payload is None:
                target.rtp.send_audio(silence)
            elif same_law:
                target.rtp.send_audio(payload)
            else:
                target.rtp.send_audio(g711.encode(g711.decode(payload, source.law), target.law))
            self.frames_relayed += 1

    def _press(self, target: BridgedCall, digit: str) -> None:
        task = asyncio.create_task(self._send_key(target, digit))
        self._keys.add(task)
        task.add_done_callback(self._keys.discard)

    async def _send_key(self, target: BridgedCall, digit: str) -> None:
        try:
            await target.rtp.send_dtmf(digit)
        except ValueError as exc:  # that side agreed no telephone-events
            log.info("bridge: key %s not relayed: %s", digit, exc)

    @staticmethod
    async def _ended(call: SipCall) -> None:
        await asyncio.shield(call.ended)

    async def _silence(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            await asyncio.sleep(0.5)
            for side in (self.a, self.b):
                last = side.rtp.last_received_at or started
                if loop.time() - last > self._rtp_timeout_s:
                    return
