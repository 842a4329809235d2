"""G.711 µ-law and A-law: the codes the telephone network uses, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from realtime.audio.g711 import FRAME_BYTES, G711Law, decode, encode, silence

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference (Python's own C codec, until 3.13)

pytestmark = pytest.mark.unit

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)
REFERENCE = {
    G711Law.PCMU: (audioop.lin2ulaw, audioop.ulaw2lin),
    G711Law.PCMA: (audioop.lin2alaw, audioop.alaw2lin),
}


@pytest.mark.parametrize("law", list(G711Law))
def test_every_sample_encodes_as_the_reference_codec_does(law: G711Law) -> None:
    lin2law, _ = REFERENCE[law]
    assert encode(EVERY_SAMPLE, law) == lin2law(EVERY_SAMPLE.tobytes(), 2)


@pytest.mark.parametrize("law", list(G711Law))
def test_every_code_decodes_as_the_reference_codec_does(law: G711Law) -> None:
    _, law2lin = REFERENCE[law]
    codes = bytes(range(256))
    assert decode(codes, law).tolist() == np.frombuffer(law2lin(codes, 2), np.int16).tolist()


def test_known_codes() -> None:
    # Silence is 0xFF in µ-law and 0xD5 in A-law; full scale the smallest codes.
    assert silence(G711Law.PCMU) == b"\xff" * FRAME_BYTES
    assert silence(G711Law.PCMA) == b"\xd5" * FRAME_BYTES
    assert encode(np.array([32767, -32768], np.int16), G711Law.PCMU) == b"\x80\x00"
    assert encode(np.array([32767, -32768], np.int16), G711Law.PCMA) == b"\xaa\x2a"


@pytest.mark.parametrize("law", list(G711Law))
def test_speech_survives_a_round_trip_within_the_law_s_step(law: G711Law) -> None:
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    back = decode(encode(tone, law), law).astype(np.int32)
    # Companding keeps the error proportional to the sample: under 1/16 of it, plus a step.
    assert np.all(np.abs(back - tone) <= np.abs(tone.astype(np.int32)) // 16 + 16)


def test_a_law_read_as_mu_law_is_not_the_same_audio() -> None:
    # Why the stream's encoding must be read from its `start`: the wrong law is noise.
    t = np.arange(1600) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    wrong = decode(encode(tone, G711Law.PCMA), G711Law.PCMU).astype(np.int32)
    assert np.mean(np.abs(wrong - tone)) > 4000
