"""The SIP line from its settings: what a trunk is made of, and every bad value named."""

from __future__ import annotations

import pytest

from centralita.kernel.settings import InvalidSettingsError, Settings
from realtime.agents.setup import flow_agent_for
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server.sip_line import SipLine, parse_host_port, parse_port_range

pytestmark = pytest.mark.unit


@pytest.fixture
def line() -> ConversationLine:
    return ConversationLine(agent_for=flow_agent_for, stt=WhisperSTT(), tts=EspeakTTS())


def test_no_trunk_no_sip(line: ConversationLine) -> None:
    assert SipLine.from_settings(Settings(), line) is None


def test_a_trunk_from_its_settings(line: ConversationLine) -> None:
    settings = Settings(
        sip_trunk_host="203.0.113.10",
        sip_trunk_port=5080,
        sip_trunk_username="acme",
        sip_trunk_password="s3cret",
        sip_trunk_sources=["203.0.113.0/28"],
        sip_trunk_dial_plus=False,
        sip_listen="0.0.0.0:5070",
        sip_advertised_address="198.51.100.7",
        sip_rtp_ports="30000-30099",
        phone_from_numbers=["+56229990000"],
        phone_transfer_to="+56229990099",
        phone_transfer_mode="cold",
        sip_register=True,
    )
    sip = SipLine.from_settings(settings, line)
    assert sip is not None
    trunk = sip.trunk
    assert (trunk.proxy_host, trunk.proxy_port) == ("203.0.113.10", 5080)
    assert trunk.credentials == ("acme", "s3cret")
    assert trunk.sources == ("203.0.113.0/28",)
    assert trunk.uri("+56912345678") == "sip:56912345678@203.0.113.10"
    assert trunk.transfer_mode == "cold"
    assert sip.listen == ("0.0.0.0", 5070)
    assert sip.media.advertised == "198.51.100.7"
    assert (sip.media.ports.start, sip.media.ports.end) == (30000, 30099)
    assert "s3cret" not in repr(settings)  # never logged


def test_every_bad_value_is_named(line: ConversationLine) -> None:
    settings = Settings(
        sip_trunk_host="203.0.113.10",
        sip_listen="0.0.0.0:99999",
        sip_rtp_ports="banana",
        sip_register=True,
    )
    with pytest.raises(InvalidSettingsError) as caught:
        SipLine.from_settings(settings, line)
    message = str(caught.value)
    assert "CENTRALITA_SIP_LISTEN" in message
    assert "CENTRALITA_SIP_RTP_PORTS" in message
    assert "CENTRALITA_SIP_REGISTER" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1:5070", ("10.0.0.1", 5070)),
        ("10.0.0.1", ("10.0.0.1", 5060)),
        ("[::1]:5060", ("::1", 5060)),
    ],
)
def test_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


def test_port_ranges() -> None:
    assert parse_port_range("20000-20999").end == 20999
    for bad in ("20999-20000", "80-90", "x-y"):
        with pytest.raises(ValueError, match=r".+"):
            parse_port_range(bad)
