"""Keypad tones the agent plays to an automated menu: each key is its own pair of tones."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from realtime.agents.flows.tools import ToolContext, run_tool
from realtime.audio import g711
from realtime.audio.dtmf import GAP_S, PAUSE_S, TONE_S, detect_key, dtmf_tones
from realtime.audio.synth import espeak

pytestmark = pytest.mark.unit


def keys_in(audio: np.ndarray, rate: int) -> str:
    """Read the keys back, one per tone slot."""
    slot = round((TONE_S + GAP_S) * rate)
    tone = round(TONE_S * rate)
    return "".join(
        key for at in range(0, audio.size, slot) if (key := detect_key(audio[at : at + tone], rate))
    )


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_every_key_reads_back_as_itself(rate: int) -> None:
    keys = "123A456B789C*0#D"
    assert keys_in(dtmf_tones(keys, rate), rate) == keys


def test_keys_survive_the_telephone_s_mu_law() -> None:
    audio = dtmf_tones("5#", 8000)
    heard = g711.decode(g711.encode(audio, g711.G711Law.PCMU), g711.G711Law.PCMU)
    assert keys_in(heard, 8000) == "5#"


def test_w_pauses_half_a_second_and_a_bad_key_is_refused() -> None:
    assert dtmf_tones("w", 8000).size == round(PAUSE_S * 8000)
    with pytest.raises(ValueError, match="not a DTMF key"):
        dtmf_tones("1x", 8000)


def test_speech_is_not_a_key() -> None:
    speech, rate = espeak("Marque uno para ventas, dos para cobranza.", "es")
    window = round(TONE_S * rate)
    found = [detect_key(speech[at : at + window], rate) for at in range(0, speech.size, window)]
    assert not any(found)


async def test_the_send_dtmf_tool_hands_its_keys_on_once() -> None:
    ctx = ToolContext(now=datetime.now(UTC))
    pressed = await run_tool("send_dtmf", {"digits": "1w2#"}, ctx)
    assert pressed.success
    assert ctx.take_dtmf() == "1w2#"
    assert ctx.take_dtmf() == ""  # played once, not at every later reply
    refused = await run_tool("send_dtmf", {"digits": "9; DROP"}, ctx)
    assert not refused.success
    assert ctx.take_dtmf() == ""
