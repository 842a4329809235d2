"""Settings that make the media worker ring real phones through Twilio."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from centralita.kernel.settings import InvalidSettingsError, Settings
from realtime.agents.setup import flow_agent_for
from realtime.carrier.stream_broker import StreamBroker
from realtime.conversation_line import ConversationLine
from tests.support.providers import ScriptedSTT, ScriptedTTS
from workers.media import twilio_dialer

pytestmark = pytest.mark.unit


def line() -> ConversationLine:
    return ConversationLine(agent_for=flow_agent_for, stt=ScriptedSTT(), tts=ScriptedTTS())


def test_without_an_account_the_simulated_carrier_stays() -> None:
    assert twilio_dialer(Settings(_env_file=None), line(), StreamBroker()) is None


def test_an_account_without_what_it_needs_is_refused_naming_each_variable() -> None:
    settings = Settings(_env_file=None, twilio_account_sid="AC123")
    with pytest.raises(InvalidSettingsError) as refused:
        twilio_dialer(settings, line(), StreamBroker())
    message = str(refused.value)
    for name in ("TWILIO_AUTH_TOKEN", "PHONE_PUBLIC_BASE", "PHONE_FROM_NUMBERS"):
        assert f"CENTRALITA_{name} is required" in message


def test_a_complete_account_rings_from_the_pool_and_never_shows_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CENTRALITA_PHONE_FROM_NUMBERS", "+56229990000,+34910000000")
    settings = Settings(
        _env_file=None,
        twilio_account_sid="AC123",
        twilio_auth_token=SecretStr("s3cret-token"),
        phone_public_base="https://media.example.com",
    )
    dialer = twilio_dialer(settings, line(), StreamBroker())
    assert dialer is not None
    assert dialer.config.from_numbers == ("+56229990000", "+34910000000")
    assert dialer.config.caller_id("+34612345678", "k1") == "+34910000000"
    assert dialer.config.caller_id("+56961234567", "k1") == "+56229990000"
    assert "s3cret-token" not in repr(settings)


def test_a_ring_shorter_than_fifteen_seconds_is_refused() -> None:
    with pytest.raises(ValidationError, match="phone_ring_timeout_s"):
        Settings(_env_file=None, phone_ring_timeout_s=10)
