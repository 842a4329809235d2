"""Watching a phone call's start for a voicemail: when the agent may leave its message."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from realtime.audio.synth import silence, tone
from realtime.session import machine_watch
from realtime.session.machine_watch import MachineAnswer, MachineWatch

pytestmark = pytest.mark.unit

RATE = 16_000


def feed(watch: MachineWatch, samples: np.ndarray, start_s: float) -> float:
    """Push `samples` in 20 ms frames from `start_s`; the time after them."""
    for at in range(0, samples.size, 320):
        watch.push(samples[at : at + 320], RATE, start_s + at / RATE)
    return start_s + samples.size / RATE


async def test_a_beep_that_ends_says_leave_the_message_now() -> None:
    told: list[MachineAnswer] = []
    watch = MachineWatch(told.append, started_s=0.0)
    end = feed(watch, silence(0.5), 0.0)
    end = feed(watch, tone(1000, 0.5), end)
    feed(watch, silence(0.5), end)
    assert told == [MachineAnswer("beep", beep_heard=True)]
    assert watch.done


async def test_a_voicemail_phrase_waits_for_the_beep_then_leaves_it_anyway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(machine_watch, "BEEP_WAIT_S", 0.05)
    told: list[MachineAnswer] = []
    watch = MachineWatch(told.append, started_s=0.0)
    watch.heard("Ha llamado al buzón de voz. Deje su mensaje después de la señal.", 3.0)
    assert watch.machine
    assert told == []  # the beep may still come
    await asyncio.sleep(0.2)
    assert told == [MachineAnswer("phrase", beep_heard=False)]


async def test_the_carrier_s_word_counts_and_the_beep_after_it_starts_the_message() -> None:
    told: list[MachineAnswer] = []
    watch = MachineWatch(told.append, started_s=0.0)
    watch.carrier_says_machine()
    end = feed(watch, tone(1400, 0.4), 1.0)
    feed(watch, silence(0.3), end)
    assert told == [MachineAnswer("carrier", beep_heard=True)]


async def test_a_person_is_never_told_a_machine() -> None:
    told: list[MachineAnswer] = []
    watch = MachineWatch(told.append, started_s=0.0)
    watch.heard("¿Aló? ¿Quién habla?", 1.0)
    feed(watch, silence(machine_watch.WATCH_S + 1), 0.0)
    await asyncio.sleep(0)
    assert told == []
    assert watch.done  # past the watched start: no more cost
