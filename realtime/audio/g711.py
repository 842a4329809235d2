"""G.711: the telephone network's 8 kHz companded audio, µ-law (PCMU) and A-law (PCMA).

Carrier media streams (Twilio, Telnyx) carry 20 ms frames of 160 bytes, one byte per
sample, with no header. North America and Japan use µ-law; Europe and most of Latin
America A-law, so a Spanish or Chilean number can arrive as either: the stream's
`start` message says which, and decoding one as the other is loud static (dograh PR 256).

The tables follow ITU-T G.711 as the Sun reference implementation writes it (the one
`audioop` used): each of the 65,536 16-bit samples maps to a code, each code back to a
16-bit sample. Both are built once, with numpy; converting a frame is one lookup.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import numpy as np
import numpy.typing as npt

from centralita.kernel.pcm import Pcm16

SAMPLE_RATE = 8_000
# One 20 ms frame at 8 kHz: 160 samples, 160 bytes.
FRAME_BYTES = 160

Codes = npt.NDArray[np.uint8]


class G711Law(StrEnum):
    """The two companding laws, under the names carriers' SDP and APIs give them."""

    PCMU = "PCMU"  # µ-law
    PCMA = "PCMA"  # A-law


_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in 14-bit units
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _all_samples() -> npt.NDArray[np.int64]:
    return np.arange(-32768, 32768, dtype=np.int64)


@cache
def _ulaw_encode_table() -> Codes:
    """Code for each 16-bit sample (index: sample + 32768)."""
    pcm = _all_samples() >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, pcm)  # first end >= value
    mantissa = (pcm >> (np.minimum(segment, 7) + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


@cache
def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int64) & 0xFF
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    return np.where(code & 0x80, _ULAW_BIAS - magnitude, magnitude - _ULAW_BIAS).astype(np.int16)


@cache
def _alaw_encode_table() -> Codes:
    pcm = _all_samples() >> 3  # 13-bit
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, pcm)
    shift = np.where(segment < 2, 1, np.minimum(segment, 7))
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((pcm >> shift) & 0x0F))
    return (code ^ mask).astype(np.uint8)


@cache
def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int64) ^ 0x55
    segment = (code & 0x70) >> 4
    base = (code & 0x0F) << 4
    magnitude = np.where(segment == 0, base + 8, (base + 0x108) << np.maximum(segment - 1, 0))
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


def encode(samples: Pcm16, law: G711Law) -> bytes:
    """16-bit samples (already at 8 kHz) as G.711 bytes, one per sample."""
    table = _ulaw_encode_table() if law is G711Law.PCMU else _alaw_encode_table()
    index = np.asarray(samples, dtype=np.int16).astype(np.int32) + 32768
    return table[index].tobytes()


def decode(data: bytes, law: G711Law) -> Pcm16:
    """G.711 bytes as 16-bit samples at 8 kHz."""
    table = _ulaw_decode_table() if law is G711Law.PCMU else _alaw_decode_table()
    return table[np.frombuffer(data, dtype=np.uint8)]


def silence(law: G711Law, samples: int = FRAME_BYTES) -> bytes:
    """`samples` of digital silence in `law` (0xFF for µ-law, 0xD5 for A-law)."""
    return encode(np.zeros(samples, dtype=np.int16), law)
