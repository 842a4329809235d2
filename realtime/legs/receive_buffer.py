"""A one-frame receive buffer for the agent's incoming audio: 60 ms off every turn.

aiortc holds each incoming audio frame until four later ones have arrived (a fixed
80 ms jitter buffer, `JitterBuffer(capacity=16, prefetch=4)`), which smooths playout
for a listener. The agent never plays what it receives: it feeds the endpointer and the
recogniser, so that smoothing buys nothing and delays the end of every caller's turn by
80 ms. With a prefetch of one, a frame leaves as soon as the next one is there; packets
that arrive out of order are still put back in order (the buffer releases nothing past
a missing packet until it arrives or the buffer overflows), so nothing is lost to it.

aiortc offers no setting for this: the buffer is a private attribute of
`RTCRtpReceiver`. When a later aiortc renames it, calls keep working with the stock
buffer and a warning says the tweak is off (`make bench` would show the 60 ms return).
"""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer

log = logging.getLogger(__name__)

RECEIVE_PREFETCH_FRAMES = 1
_CAPACITY = 16  # aiortc's own, a power of two
_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"  # name-mangled `__jitter_buffer`


def shorten_receive_buffers(pc: RTCPeerConnection) -> int:
    """Give every audio receiver of ``pc`` a one-frame buffer; how many were changed.

    Call it before media flows: right after the transceivers exist (after `addTrack`,
    and again after applying a remote offer that may have added one).
    """
    changed = 0
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio" and _shorten(transceiver.receiver):
            changed += 1
    return changed


def _shorten(receiver: RTCRtpReceiver) -> bool:
    current = getattr(receiver, _ATTRIBUTE, None)
    if not isinstance(current, JitterBuffer):
        log.warning("aiortc's receive buffer was not found; the agent hears 60 ms later")
        return False
    if current._prefetch == RECEIVE_PREFETCH_FRAMES:
        return False
    setattr(receiver, _ATTRIBUTE, JitterBuffer(_CAPACITY, prefetch=RECEIVE_PREFETCH_FRAMES))
    return True
