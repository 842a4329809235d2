"""Whether a machine took the call, and when a message can be left on it.

A phone call may be answered by a voicemail. Its signs: the carrier's answering-machine
detection (Twilio's and Telnyx's AMD, when asked for), and the call's own audio
(`realtime.session.voicemail.VoicemailDetector`: the beep, a voicemail's phrases, a
greeting too long for a person). The watch listens to the first `WATCH_S` seconds of
the caller's audio and calls `on_machine` once, when a machine is certain:

- a beep heard and ended: a message can be left now;
- a voicemail's phrase in what was heard, or the carrier's word: a machine, its beep
  still to come; the watch then waits up to `BEEP_WAIT_S` for it (and for the caller's
  side to go quiet after it) before saying "leave it now";
- a greeting too long for a person is *not* certain (long human answers exist, and
  hanging up on a person is the costly error): the watch waits for a beep or a phrase.

`MachineAnswer.beep_heard` says whether the message starts right after the beep, or
after waiting for one that never came.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from centralita.kernel.pcm import Pcm16
from realtime.session.voicemail import VoicemailDetector

# How much of the call's start is watched; a machine answers at once.
WATCH_S = 30.0
# How long after a machine is known the watch waits for its beep before leaving the
# message anyway (a greeting ends within seconds of the machine saying "deje su mensaje").
BEEP_WAIT_S = 6.0


@dataclass(frozen=True)
class MachineAnswer:
    """A machine took the call: why, and whether its recorder is listening now."""

    reason: str  # beep, phrase, carrier
    beep_heard: bool


@dataclass(frozen=True)
class MachineTurn:
    """The session's turn to leave its message (or hang up) on a machine."""

    answer: MachineAnswer


class MachineWatch:
    """Watches the start of a call for a machine; `on_machine` is called at most once."""

    def __init__(self, on_machine: Callable[[MachineAnswer], None], *, started_s: float) -> None:
        self._on_machine = on_machine
        self._detector = VoicemailDetector(answered_at_s=started_s)
        self._started_s = started_s
        self._machine_reason: str | None = None
        self._told = False
        self._wait: asyncio.TimerHandle | None = None

    @property
    def machine(self) -> bool:
        """Whether a machine is known to have answered."""
        return self._machine_reason is not None

    @property
    def done(self) -> bool:
        """Nothing more to watch for: told, or past the watched start of the call."""
        return self._told

    def push(self, samples: Pcm16, sample_rate: int, at_s: float) -> None:
        """The caller's audio, starting at `at_s` (monotonic seconds)."""
        if self._told:
            return
        if at_s - self._started_s > WATCH_S and self._machine_reason is None:
            self._told = True  # a person, or nothing we can tell: stop paying for it
            return
        self._detector.push(samples, sample_rate, at_s)
        self._judge()

    def heard(self, text: str, at_s: float) -> None:
        """What the recogniser heard the caller say."""
        if not self._told:
            self._detector.heard(text, at_s)
            self._judge()

    def carrier_says_machine(self) -> None:
        """The carrier's answering-machine detection said machine."""
        self._machine("carrier")

    def close(self) -> None:
        """The call is over."""
        self._told = True
        if self._wait is not None:
            self._wait.cancel()

    def _judge(self) -> None:
        verdict = self._detector.verdict
        beep = self._detector.beep
        if beep is not None and beep.end_s is not None:
            self._machine("beep")
            self._tell(beep_heard=True)
        elif verdict.kind == "machine" and verdict.reason == "phrase":
            self._machine("phrase")

    def _machine(self, reason: str) -> None:
        if self._told or self._machine_reason is not None:
            return
        self._machine_reason = reason
        # Its beep may never come (or go unheard): leave the message after a while.
        self._wait = asyncio.get_running_loop().call_later(BEEP_WAIT_S, self._tell, False)

    def _tell(self, beep_heard: bool) -> None:
        if self._told:
            return
        self._told = True
        if self._wait is not None:
            self._wait.cancel()
        self._on_machine(MachineAnswer(self._machine_reason or "beep", beep_heard))
