"""The media worker's SIP side: one user agent on `sip_listen`, the trunk's dialer (the
worker's carrier when a trunk is configured), and the trunk's calls in.

The user agent needs a running event loop to bind its socket, so `SipLine` is built
with the worker's other parts and `start`ed with the server; a dial that comes before
the start waits for it. `from_settings` reads the `sip_*` settings.
"""

from __future__ import annotations

import asyncio
import secrets

from centralita.kernel.calls import DialRequest, DialResult
from centralita.kernel.settings import InvalidSettingsError, Settings
from realtime.carrier.sip_trunk import SipMedia, SipTrunk, SipTrunkDialer
from realtime.conversation_line import ConversationLine
from realtime.server.phone_inbound import CallerVariables, RouteLookup
from realtime.server.sip_inbound import SipInbound
from realtime.sip.digest import NonceKeeper
from realtime.sip.registration import Registration
from realtime.sip.rtp_session import PortRange
from realtime.sip.user_agent import SipUserAgent


def parse_host_port(text: str, default_port: int = 5060) -> tuple[str, int]:
    """``host:port`` (or a bare host) as a pair; ValueError when the port is not one."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    number = int(port)
    if not 0 <= number < 65536:
        raise ValueError(f"not a port: {port}")
    return host.strip("[]"), number


def parse_port_range(text: str) -> PortRange:
    """``20000-20999`` as a `PortRange`; ValueError otherwise."""
    start, _, end = text.partition("-")
    return PortRange(int(start), int(end or start))


class SipLine:
    """The SIP user agent with its trunk dialer and inbound calls."""

    def __init__(
        self,
        trunk: SipTrunk,
        media: SipMedia,
        listen: tuple[str, int],
        line: ConversationLine,
        *,
        routes: RouteLookup | None = None,
        caller_variables: CallerVariables | None = None,
        register: bool = False,
    ) -> None:
        self.trunk = trunk
        self.media = media
        self.listen = listen
        self._line = line
        self._routes = routes
        self._caller_variables = caller_variables
        self.agent: SipUserAgent | None = None
        self.dialer: SipTrunkDialer | None = None
        self.inbound: SipInbound | None = None
        self._started = asyncio.Event()
        self._register = register
        self.registration: Registration | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        line: ConversationLine,
        *,
        routes: RouteLookup | None = None,
        caller_variables: CallerVariables | None = None,
    ) -> SipLine | None:
        """The SIP line the settings describe; None when no trunk is set.

        Raises:
            InvalidSettingsError: a setting that cannot be used, naming its variable.
        """
        if settings.sip_trunk_host is None:
            return None
        problems: list[str] = []
        try:
            listen = parse_host_port(settings.sip_listen)
        except ValueError as exc:
            problems.append(f"CENTRALITA_SIP_LISTEN: {exc}")
        try:
            ports = parse_port_range(settings.sip_rtp_ports)
        except ValueError as exc:
            problems.append(f"CENTRALITA_SIP_RTP_PORTS: {exc} (expected e.g. 20000-20999)")
        try:
            trunk = SipTrunk(
                proxy_host=settings.sip_trunk_host,
                proxy_port=settings.sip_trunk_port,
                domain=settings.sip_trunk_domain,
                username=settings.sip_trunk_username,
                password=settings.sip_trunk_password,
                from_numbers=tuple(settings.phone_from_numbers),
                ring_timeout_s=settings.phone_ring_timeout_s,
                calls_per_second=settings.phone_calls_per_second,
                transfer_to=settings.phone_transfer_to,
                transfer_mode=settings.phone_transfer_mode,
                allowed_sources=tuple(settings.sip_trunk_sources),
                inbound_digest=settings.sip_trunk_inbound_digest,
                dial_plus=settings.sip_trunk_dial_plus,
            )
        except ValueError as exc:
            problems.append(f"CENTRALITA_SIP_TRUNK_*: {exc}")
        if settings.sip_register and settings.sip_trunk_username is None:
            problems.append(
                "CENTRALITA_SIP_REGISTER: needs CENTRALITA_SIP_TRUNK_USERNAME (the user registered)"
            )
        if problems:
            raise InvalidSettingsError(problems)
        host = listen[0]
        media = SipMedia(host=host, ports=ports, advertised=settings.sip_advertised_address)
        return cls(
            trunk,
            media,
            listen,
            line,
            routes=routes,
            caller_variables=caller_variables,
            register=settings.sip_register,
        )

    async def start(self) -> None:
        """Listen, and take the trunk's calls in when there is a routing table."""
        self.agent = await SipUserAgent.start(
            self.listen[0], self.listen[1], advertised=self.media.advertised
        )
        self.dialer = SipTrunkDialer(
            self.agent, self.trunk, self.media, self._line, tts=self._line.tts
        )
        if self._routes is not None:
            self.inbound = SipInbound(
                self.agent,
                self._line,
                self._routes,
                self.media,
                [self.trunk],
                nonces=NonceKeeper(secrets.token_bytes(32)),
                caller_variables=self._caller_variables,
            )
            self.inbound.attach()
        self._started.set()
        # Dials need no registration; inbound is attached first, so a call that comes
        # right after the registrar's 200 is taken.
        if self._register and self.trunk.username is not None:
            self.registration = Registration(
                self.agent,
                registrar=(self.trunk.proxy_host, self.trunk.proxy_port),
                aor_user=self.trunk.username,
                domain=self.trunk.host,
                credentials=self.trunk.credentials,
            )
            await self.registration.start()  # waits at most 5 s; never raises

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring through the trunk (once the line has started)."""
        await self._started.wait()
        assert self.dialer is not None
        return await self.dialer.dial(request)

    def stop_taking_calls(self) -> None:
        """Drain: new INVITEs get 503 (the trunk's next route); calls under way go on."""
        if self.inbound is not None:
            self.inbound.draining = True

    async def aclose(self) -> None:
        """Unregister, end the calls in and the bridged ones, and stop listening."""
        if self.registration is not None:
            await self.registration.stop()  # needs the socket still open
        if self.dialer is not None:
            await self.dialer.aclose()
        if self.inbound is not None:
            await self.inbound.aclose()
        if self.agent is not None:
            self.agent.close()
