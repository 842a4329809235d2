"""The SIP test peers work on their own: baresip calls baresip, SIPp calls SIPp.

Before our SIP user agent is tested against them, the harness has to be right: a call
between two baresip phones carries DTMF and audible speech both ways a test can read, a
transfer reaches its target, and each SIPp scenario passes against the answer it expects
and fails against any other (a scenario that can't fail would prove nothing).
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime.audio.synth import espeak
from tests.support.sip_peers import SCENARIOS, Baresip, Sipp, SipPeerInputError

pytestmark = pytest.mark.integration

SPEECH_RMS = 500  # int16 RMS of a 20 ms frame: espeak speech is ~3000, silence ~0
FRAME = 160  # 20 ms at 8 kHz


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pcm, rate = espeak("hola, prueba de audio. uno, dos, tres.")
    path = tmp_path_factory.mktemp("sip") / "hola.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def speech_seconds(path: Path) -> float:
    """How long the recording is loud enough to be speech (20 ms frames over SPEECH_RMS)."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    frames = pcm[: len(pcm) - len(pcm) % FRAME].reshape(-1, FRAME)
    rms = np.sqrt((frames**2).mean(axis=1))
    return float((rms > SPEECH_RMS).sum()) * FRAME / 8000


async def test_two_baresips_talk_with_dtmf_and_speech(speech_wav: Path) -> None:
    async with (
        Baresip("far", wav=speech_wav) as far,
        Baresip("near", answer="manual") as near,
    ):
        await near.dial(far.uri)
        established = await near.wait_event("CALL_ESTABLISHED")
        assert established.peer_uri == far.uri
        await far.wait_event("CALL_ESTABLISHED")

        await far.send_dtmf("5#")
        await near.wait_event("CALL_DTMF_START")
        await near.wait_event("CALL_DTMF_START")
        assert near.dtmf_received() == "5#"

        await asyncio.sleep(3)  # the sentence lasts about 2.5 s
        await near.hangup()
        closed = await far.wait_event("CALL_CLOSED")
        assert closed.param == "Connection reset by peer"

        heard = await near.recording()
        assert heard is not None
        assert speech_seconds(heard) > 1.0
        # The other way: near's microphone was silence, and so is what far heard.
        far_heard = await far.recording()
        assert far_heard is not None
        assert speech_seconds(far_heard) == 0.0


async def test_manual_answer_with_a_delay_then_a_transfer() -> None:
    async with (
        Baresip("far", answer="auto", answer_delay_s=0.5) as far,
        Baresip("near") as near,
        Baresip("third") as third,
    ):
        await near.dial(far.uri)
        await far.wait_event("CALL_INCOMING")  # reported: the answer is ours to give
        await near.wait_event("CALL_RINGING")
        await near.wait_event("CALL_ESTABLISHED")

        await far.transfer(third.uri)
        refer = await near.wait_event("TRANSFER")
        assert refer.param == third.uri
        assert (await third.wait_event("CALL_ESTABLISHED")).peer_uri == near.uri
        assert (await far.wait_event("CALL_CLOSED")).param == "Call transfered"


async def test_baresip_hears_busy_from_a_sipp_uas() -> None:
    async with Baresip("near") as near, Sipp("uas_busy.xml") as uas:
        await near.dial(uas.uri)
        closed = await near.wait_event("CALL_CLOSED")
        assert closed.param == "486 Busy Here"
        assert (await uas.wait()).passed


async def test_baresip_cancels_a_phone_that_rings_forever() -> None:
    async with Baresip("near") as near, Sipp("uas_ring_forever.xml") as uas:
        await near.dial(uas.uri)
        await near.wait_event("CALL_RINGING")
        await near.hangup()  # while ringing: CANCEL, then 200, 487, ACK
        await near.wait_event("CALL_CLOSED")
        assert (await uas.wait()).passed


async def test_sipp_caller_cancels_a_ringing_baresip() -> None:
    async with (
        Baresip("near", answer="manual") as near,
        Sipp(
            "uac_cancel_after_ringing.xml",
            remote=f"127.0.0.1:{near.sip_port}",
            service="near",  # baresip answers 404 to a user it is not
        ) as uac,
    ):
        await near.wait_event("CALL_INCOMING")
        await near.wait_event("CALL_CLOSED")
        assert (await uac.wait()).passed


def refusing(tmp_path: Path, answer: str) -> Path:
    """A UAS scenario like uas_busy.xml that answers `answer` ("488 Not Acceptable Here")."""
    path = tmp_path / f"uas_{answer.split()[0]}.xml"
    path.write_text((SCENARIOS / "uas_busy.xml").read_text().replace("486 Busy Here", answer))
    return path


@pytest.mark.parametrize(
    ("caller", "answer", "passes"),
    [
        ("uac_expect_busy.xml", "486 Busy Here", True),
        ("uac_expect_busy.xml", "603 Decline", False),
        ("uac_expect_decline.xml", "603 Decline", True),
        ("uac_expect_decline.xml", "486 Busy Here", False),
        ("uac_malformed.xml", "400 Bad Request", True),
        ("uac_malformed.xml", "488 Not Acceptable Here", True),
        ("uac_malformed.xml", "486 Busy Here", False),
        ("uac_unauthenticated_invite.xml", "403 Forbidden", True),
        ("uac_unauthenticated_invite.xml", "401 Unauthorized", True),
        ("uac_unauthenticated_invite.xml", "407 Proxy Authentication Required", True),
        ("uac_unauthenticated_invite.xml", "486 Busy Here", False),
    ],
)
async def test_sipp_caller_scenarios_pass_only_on_their_answer(
    tmp_path: Path, caller: str, answer: str, passes: bool
) -> None:
    async with Sipp(refusing(tmp_path, answer)) as uas:
        async with Sipp(caller, remote=f"127.0.0.1:{uas.port}", timeout_s=5) as uac:
            result = await uac.wait()
        assert result.passed is passes, result.errors
        assert (result.successful, result.failed) == ((1, 0) if passes else (0, 1))
        assert (await uas.wait()).passed  # the refusing side got its ACK either way


async def test_sipp_uas_decline_against_its_caller() -> None:
    async with Sipp("uas_decline.xml") as uas:
        async with Sipp("uac_expect_decline.xml", remote=f"127.0.0.1:{uas.port}") as uac:
            assert (await uac.wait()).passed
        assert (await uas.wait()).passed


async def test_bad_input_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SipPeerInputError, match="does not exist"):
        async with Baresip("far", wav=tmp_path / "missing.wav"):
            pass
    with pytest.raises(SipPeerInputError, match="scenario"):
        Sipp("no_such_scenario.xml")
    async with Baresip("far") as far:
        with pytest.raises(SipPeerInputError, match="DTMF"):
            await far.send_dtmf("1x")
