"""Peer connections as Centralita makes them: ICE servers from settings, loopback in dev.

aioice gathers host candidates from the machine's interfaces and skips 127.0.0.1, so on
a machine (or a test sandbox) where only loopback carries traffic no call would ever
connect. With `loopback_only` the host candidates are restricted to 127.0.0.1; in
production it is off and STUN/TURN servers come from settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

_original_host_addresses = aioice.ice.get_host_addresses


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def restrict_ice_to_loopback(enabled: bool = True) -> None:
    """Gather ICE host candidates on 127.0.0.1 only (or restore the default)."""
    aioice.ice.get_host_addresses = _loopback_addresses if enabled else _original_host_addresses


class IceServer(BaseModel):
    """A STUN or TURN server (production; none by default)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class SessionDescription(BaseModel):
    """An SDP offer or answer, as it travels over HTTP signalling."""

    sdp: str
    type: str = Field(pattern="^(offer|answer)$")

    @classmethod
    def of(cls, description: RTCSessionDescription) -> SessionDescription:
        """From aiortc's description."""
        return cls(sdp=description.sdp, type=description.type)

    def to_rtc(self) -> RTCSessionDescription:
        """To aiortc's description."""
        return RTCSessionDescription(sdp=self.sdp, type=self.type)


def new_peer_connection(ice_servers: Sequence[IceServer] = ()) -> RTCPeerConnection:
    """A peer connection with exactly the ICE servers given (no public STUN by default)."""
    servers = [
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in ice_servers
    ]
    return RTCPeerConnection(RTCConfiguration(iceServers=servers))


async def wait_connected(pc: RTCPeerConnection, timeout_s: float = 10.0) -> None:
    """Wait until ICE and DTLS are up.

    Raises:
        ConnectionError: the connection failed or did not come up in time.
    """
    done = asyncio.get_running_loop().create_future()

    def check() -> None:
        state = pc.connectionState
        if done.done():
            return
        if state == "connected":
            done.set_result(None)
        elif state in {"failed", "closed"}:
            done.set_exception(ConnectionError(f"peer connection {state}"))

    pc.on("connectionstatechange", check)
    check()
    try:
        await asyncio.wait_for(done, timeout_s)
    except TimeoutError as exc:
        raise ConnectionError(f"peer connection not up after {timeout_s:.0f}s") from exc


async def apply_remote(pc: RTCPeerConnection, description: SessionDescription) -> None:
    """The far end's description, or a ValueError saying why it is unusable.

    aiortc raises whatever its parser tripped on (ValueError, KeyError, IndexError,
    InvalidStateError...); callers answer all of them as one clear "bad SDP".
    """
    try:
        await pc.setRemoteDescription(description.to_rtc())
    except Exception as exc:
        raise ValueError(f"unusable SDP {description.type}: {exc!r}") from exc
