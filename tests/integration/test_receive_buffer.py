"""The agent's incoming audio leaves aiortc's receive buffer one frame late, in order."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from realtime.audio.playback import AgentVoiceTrack
from realtime.legs.agent import AgentLeg
from realtime.legs.receive_buffer import RECEIVE_PREFETCH_FRAMES
from realtime.legs.webrtc import SessionDescription

pytestmark = pytest.mark.integration

_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"


def _buffers(pc: RTCPeerConnection) -> list[JitterBuffer]:
    return [getattr(t.receiver, _ATTRIBUTE) for t in pc.getTransceivers() if t.kind == "audio"]


async def test_an_outbound_leg_buffers_one_frame() -> None:
    leg = AgentLeg()
    try:
        await leg.offer()
        buffers = _buffers(leg.pc)
        assert buffers
        assert all(b._prefetch == RECEIVE_PREFETCH_FRAMES for b in buffers)
    finally:
        await leg.pc.close()


async def test_an_inbound_leg_buffers_one_frame_and_the_caller_keeps_aiortcs() -> None:
    caller = RTCPeerConnection()
    caller.addTrack(AgentVoiceTrack())
    leg = AgentLeg()
    try:
        await caller.setLocalDescription(await caller.createOffer())
        await leg.answer(SessionDescription.of(caller.localDescription))
        assert all(b._prefetch == RECEIVE_PREFETCH_FRAMES for b in _buffers(leg.pc))
        assert all(b._prefetch == 4 for b in _buffers(caller))  # untouched elsewhere
    finally:
        await leg.pc.close()
        await caller.close()


def _packet(seq: int) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
    packet._data = bytes([seq])  # type: ignore[attr-defined]  # the receiver's depayloaded copy
    return packet


async def test_frames_come_out_one_late_and_in_order_when_packets_swap() -> None:
    leg = AgentLeg()
    try:
        (buffer,) = _buffers(leg.pc)
        released: list[int] = []
        for seq in (10, 11, 13, 12, 14, 15, 16, 17):  # 12 and 13 arrive swapped
            _, frame = buffer.add(_packet(seq))
            if frame is not None:
                released.append(frame.data[0])
        # A frame leaves once a later one is there (one per packet, as aiortc does);
        # 13 waits behind the missing 12 instead of jumping it, and nothing is lost.
        assert released == [10, 11, 12, 13, 14, 15]
    finally:
        await leg.pc.close()
