"""How the media worker rings phones, whichever carrier carries the calls.

`PhoneLineConfig` is shared by the carriers' dialers (`twilio`, `telnyx`): where the
carrier reaches the worker (its media stream and webhooks hang off `public_base`),
which caller IDs a call may show, how long a phone rings, whether to ask the carrier's
answering-machine detection, and how many calls a second the carrier account takes
(`CallPacer`: carriers refuse or queue calls placed faster, Twilio at 1 a second by
default per account).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

# The shortest ring a person can answer in (regulators and carriers agree on ~15 s).
MIN_RING_TIMEOUT_S = 15


@dataclass(frozen=True)
class PhoneLineConfig:
    """How the media worker rings phones.

    Args:
        public_base: the media worker's address as the carrier reaches it
            (`https://media.example.com`); the stream and callbacks hang off it.
        from_numbers: the caller IDs to ring from; a call takes one with the callee's
            country code when there is one.
        ring_timeout_s: how long a phone rings before the call counts as not answered.
        machine_detection: ask the carrier's answering-machine detection.
        calls_per_second: the most calls placed a second on the account (the carrier's
            limit for it), however many the campaigns dial at once.
        transfer_to: the number a call is handed to when the agent transfers it (none:
            a transfer ends the call).
        transfer_mode: ``warm`` (the person is rung and briefed first, then the caller
            joins them) or ``cold`` (the caller is put straight through).
        transfer_ring_s: how long the person's phone rings.
    """

    public_base: str
    from_numbers: tuple[str, ...]
    ring_timeout_s: int = 25
    machine_detection: bool = True
    calls_per_second: float = 1.0
    transfer_to: str | None = None
    transfer_mode: Literal["cold", "warm"] = "warm"
    transfer_ring_s: int = 20

    def __post_init__(self) -> None:
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise ValueError(f"ring_timeout_s must be at least {MIN_RING_TIMEOUT_S} s")
        if not 0.01 <= self.calls_per_second <= 1000:
            raise ValueError("calls_per_second must be between 0.01 and 1000")

    def caller_id(self, to_number: str, key: str, campaign: Sequence[str] = ()) -> str:
        """The From number for a call, from the campaign's caller IDs (else the line's):
        one from the callee's country when there is one; the same for every retry."""
        numbers = list(campaign) or list(self.from_numbers)
        if not numbers:
            raise ValueError(
                "no caller ID: set the campaign's caller_ids or CENTRALITA_PHONE_FROM_NUMBERS"
            )
        local = [n for n in numbers if n[:3] == to_number[:3]]
        pool = local or numbers
        return pool[zlib.crc32(key.encode()) % len(pool)]

    @property
    def stream_base(self) -> str:
        """`public_base` as a WebSocket address (`wss://` for `https://`)."""
        base = self.public_base.rstrip("/")
        return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


class CallPacer:
    """Spaces the calls placed on one account at least `1 / calls_per_second` apart.

    Dials beyond the rate wait their turn, in order, instead of being refused by the
    carrier (Twilio queues or answers 429; a refused dial would count as failed).
    """

    def __init__(
        self, calls_per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = 1.0 / calls_per_second
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def turn(self) -> None:
        """Wait until this call may be placed."""
        async with self._lock:
            wait = self._next - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = max(self._next, self._clock()) + self.interval_s
