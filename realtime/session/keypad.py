"""Keys a caller presses on a phone's keypad (DTMF), gathered into one answer.

"Marque 1 para confirmar" is one key; the last digits of a RUT are several, typed with
short pauses. Keys are gathered until `#` (the usual "end of entry" key, not part of
the answer) or until the caller stops pressing for `gap_s`; then the entry is handed
on as one turn, as an utterance is once its speaker stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

# Between two keys of one entry a caller pauses less than this (typing a RUT's digits).
KEY_GAP_S = 1.5
END_OF_ENTRY = "#"
# Keys a DTMF event can carry (RFC 4733 events 0-15).
DIGITS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True)
class KeyEntry:
    """One entry on the keypad, and the monotonic time of its last key."""

    keys: str
    at: float


class Keypad:
    """Gathers pressed keys; calls `on_entry` with each finished entry."""

    def __init__(self, on_entry: Callable[[KeyEntry], None], gap_s: float = KEY_GAP_S) -> None:
        self._on_entry = on_entry
        self._gap_s = gap_s
        self._keys = ""
        self._timer: asyncio.TimerHandle | None = None

    def press(self, key: str) -> None:
        """One key, as the carrier reported it.

        Raises:
            ValueError: not a DTMF key.
        """
        if key not in DIGITS or len(key) != 1:
            raise ValueError(f"{key!r} is not a DTMF key")
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if key == END_OF_ENTRY:
            self._finish()
            return
        self._keys += key
        self._timer = asyncio.get_running_loop().call_later(self._gap_s, self._finish)

    def close(self) -> None:
        """The call is over: an unfinished entry is dropped with the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._keys = ""

    def _finish(self) -> None:
        self._timer = None
        keys, self._keys = self._keys, ""
        if keys:
            self._on_entry(KeyEntry(keys, asyncio.get_running_loop().time()))
