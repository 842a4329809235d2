"""An agent's own voice (`voice:` on flows and LLM agents) and the line's voice setting."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from centralita.kernel.calls import DialRequest
from centralita.kernel.settings import Settings
from realtime.agents.flows.schema import FlowDefinitionError
from realtime.agents.loader import load_agent, parse_any_agent_data
from realtime.agents.setup import setup_for
from realtime.providers.elevenlabs import ElevenLabsTTS
from realtime.providers.espeak import EspeakTTS
from realtime.providers.kokoro import KokoroTTS
from workers.media import line_voice

pytestmark = pytest.mark.unit

CALL = DialRequest(
    idempotency_key="campaign-c-contact-k-attempt-1",
    to_number="+56961234567",
    campaign_id="c",
    contact_id="k",
    attempt_number=1,
    variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
)


def shipped_flow_with(voice: Any) -> dict[str, Any]:
    data = load_agent("cobranza-temprana").model_dump(mode="json", exclude_none=True)
    data["name"] = "cobranza-voz"
    data["voice"] = voice
    return data


def test_a_flow_agent_speaks_with_its_kokoro_voice() -> None:
    definition = parse_any_agent_data(
        shipped_flow_with({"provider": "kokoro", "voice": "em_alex", "speed": 1.1})
    )
    setup = setup_for(definition, CALL)
    assert isinstance(setup.voice, KokoroTTS)
    assert setup.voice.voice_for("es") == "em_alex"
    assert setup.voice.speed == pytest.approx(1.1)
    # Calls of the same agent share one voice (one loaded model, one cache of lines).
    assert setup_for(definition, CALL).voice is setup.voice


def test_a_flow_agent_without_a_voice_speaks_with_the_lines() -> None:
    assert setup_for(load_agent("cobranza-temprana"), CALL).voice is None


def test_a_voice_block_without_a_provider_is_elevenlabs_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", "k")
    definition = parse_any_agent_data(shipped_flow_with({"voice_id": "abc"}))
    assert isinstance(setup_for(definition, CALL).voice, ElevenLabsTTS)


@pytest.mark.parametrize(
    ("voice", "complaint"),
    [
        ({"provider": "kokoro", "voice": "xf_nobody"}, "unknown Kokoro voice 'xf_nobody'"),
        ({"provider": "kokoro", "voice": "ef_dora", "speed": 5}, "speed"),
        ({"provider": "polly", "voice": "Lucia"}, "polly"),
    ],
)
def test_a_bad_voice_is_refused_when_the_agent_is_loaded(
    voice: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(FlowDefinitionError, match=complaint):
        parse_any_agent_data(shipped_flow_with(voice))


def test_an_llm_agent_takes_a_kokoro_voice_too() -> None:
    data = yaml.safe_load(
        """
kind: llm
name: asistente
language: en-US
currency: USD
prompt: You are Sofia.
model: {base_url: "http://127.0.0.1:9/v1", model: m}
voice: {provider: kokoro, voice: af_heart}
"""
    )
    definition = parse_any_agent_data(data)
    assert definition.voice is not None
    assert definition.voice.provider == "kokoro"


def test_the_lines_voice_follows_the_setting() -> None:
    assert isinstance(line_voice(Settings(tts_voice="espeak")), EspeakTTS)
    kokoro = line_voice(Settings(tts_voice="kokoro", tts_threads=2))
    assert isinstance(kokoro, KokoroTTS)
    assert kokoro.threads == 2
    with pytest.raises(ValueError, match="tts_voice"):
        Settings(tts_voice="festival")
