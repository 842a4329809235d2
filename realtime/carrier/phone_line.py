"""How the media worker rings phones, whichever carrier carries the calls.

`PhoneLineConfig` is shared by the carriers' dialers (`twilio`, `telnyx`): where the
carrier reaches the worker (its media stream and webhooks hang off `public_base`),
which caller IDs a call may show, how long a phone rings, whether to ask the carrier's
answering-machine detection.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

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
    """

    public_base: str
    from_numbers: tuple[str, ...]
    ring_timeout_s: int = 25
    machine_detection: bool = True

    def __post_init__(self) -> None:
        if not self.from_numbers:
            raise ValueError("a phone line needs at least one From number")
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise ValueError(f"ring_timeout_s must be at least {MIN_RING_TIMEOUT_S} s")

    def caller_id(self, to_number: str, key: str) -> str:
        """The From number for a call: one from the callee's country when the pool has
        it, else one of the pool; the same one for every retry of a key."""
        local = [n for n in self.from_numbers if n[:3] == to_number[:3]]
        pool = local or list(self.from_numbers)
        return pool[zlib.crc32(key.encode()) % len(pool)]

    @property
    def stream_base(self) -> str:
        """`public_base` as a WebSocket address (`wss://` for `https://`)."""
        base = self.public_base.rstrip("/")
        return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
