"""Registering with a SIP provider (RFC 3261 section 10): how a provider that only sends
calls to registered users learns where we are, and keeps knowing it.

A REGISTER binds our address-of-record (``sip:user@domain``) to our Contact for a while
(`expires_s`); the registrar may grant less (the 200's Contact ``expires`` parameter or
its ``Expires`` header), or refuse a short interval with ``423 Interval Too Brief`` and
its ``Min-Expires``, which we then ask for. The binding is refreshed well before it runs
out (at 80 % of it, or 30 s before the end, whichever comes first, never sooner than
5 s), with the same Call-ID and From tag and a CSeq that keeps counting, as section
10.2.4 asks, so the registrar sees one registration rather than many.

A ``401``/``407`` is answered with digest credentials once per challenge; a second
challenge that is not ``stale`` means the password is wrong. Every refresh starts without
credentials and answers the registrar's fresh challenge: a round trip more every few
minutes, and no nonce of ours going stale or being counted as a replay.

Nothing here raises out of the background task: a refused or unanswered REGISTER is
logged, counted (`failures`) and tried again later, with a growing backoff (5, 10, 30,
60 s). Wrong credentials are retried only every five minutes: providers commonly ban an
address after a few failed logins (fail2ban), and a password does not fix itself.
"""

from __future__ import annotations

import asyncio
import logging

from realtime.sip.digest import Challenge, DigestError, authorization, parse_challenge
from realtime.sip.message import (
    Headers,
    SipParseError,
    SipRequest,
    SipResponse,
    new_branch,
    new_call_id,
    new_tag,
    parse_name_addr,
    parse_uri,
)
from realtime.sip.transport import Address
from realtime.sip.user_agent import ALLOW, SipUserAgent

log = logging.getLogger(__name__)

BACKOFF_S = (5.0, 10.0, 30.0, 60.0)  # after 1, 2, 3, 4+ failures in a row
AUTH_REFUSED_RETRY_S = 300.0
MAX_RETRY_AFTER_S = 3600.0  # a registrar's Retry-After, bounded
MIN_REFRESH_S = 5.0
REFRESH_MARGIN_S = 30.0
REFRESH_FRACTION = 0.8
UNREGISTER_WAIT_S = 2.0
# Requests one attempt may send: challenge, credentials, 423, credentials again, one more.
MAX_ROUNDS = 5


class RegistrationError(ValueError):
    """Registration settings that cannot work; the message says which and why."""


def refresh_delay(granted_s: int) -> float:
    """Seconds until a binding granted for `granted_s` is refreshed."""
    early = min(granted_s * REFRESH_FRACTION, granted_s - REFRESH_MARGIN_S)
    return max(early, MIN_REFRESH_S)


def retry_delay(failures_in_row: int, response: SipResponse | None) -> float:
    """Seconds until an attempt after `failures_in_row` failures (the registrar's
    ``Retry-After`` when it asks for longer)."""
    delay = BACKOFF_S[min(failures_in_row, len(BACKOFF_S)) - 1]
    retry_after = (response.headers.get("Retry-After") or "") if response else ""
    seconds = retry_after.split(";")[0].strip()
    if seconds.isdigit():
        delay = max(delay, min(float(seconds), MAX_RETRY_AFTER_S))
    return delay


def granted_expires(response: SipResponse, contact_uri: str, asked: int) -> int:
    """How long the registrar keeps our binding, from its 2xx: our Contact's ``expires``
    (a 200 lists every binding of the address-of-record, other devices' too), else the
    ``Expires`` header, else what we asked for."""
    mine = _uri_key(contact_uri)
    bindings = []
    for value in response.headers.get_all("Contact"):
        try:
            bindings.append(parse_name_addr(value))
        except SipParseError:
            continue  # "*" or garbage: not our binding
    ours = [b for b in bindings if _uri_key(b.uri) == mine]
    if not ours and len(bindings) == 1:
        ours = bindings  # a registrar behind NAT may rewrite our address: the only one
    for binding in ours:
        expires = binding.params.get("expires")
        if expires is not None and expires.strip().isdigit():
            return int(expires)
    header = (response.headers.get("Expires") or "").strip()
    return int(header) if header.isdigit() else asked


def _uri_key(uri: str) -> tuple[str | None, str, int] | None:
    try:
        parsed = parse_uri(uri)
    except SipParseError:
        return None
    return parsed.user, parsed.host.lower(), parsed.port or 5060


def min_expires(response: SipResponse) -> int | None:
    """The interval a ``423 Interval Too Brief`` asks for; None when it says none."""
    value = (response.headers.get("Min-Expires") or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


class Registration:
    """Keeps `aor_user`@`domain` registered at `registrar` until `stop`.

    Args:
        agent: the user agent whose Contact is registered and that sends the REGISTERs.
        registrar: where REGISTERs go (the provider's proxy).
        aor_user: the user part of the address-of-record (the provider's username).
        domain: the provider's domain: Request-URI ``sip:<domain>``, To and From.
        credentials: digest user and password; None when the registrar asks for none.
        expires_s: the binding's lifetime we ask for.

    Raises:
        RegistrationError: an empty user or domain, or an expiry under 1 s.
    """

    def __init__(
        self,
        agent: SipUserAgent,
        *,
        registrar: Address,
        aor_user: str,
        domain: str,
        credentials: tuple[str, str] | None,
        expires_s: int = 600,
    ) -> None:
        if not aor_user or any(c in aor_user for c in " \t<>@;:"):
            raise RegistrationError(f"aor_user {aor_user!r}: a SIP user name is needed")
        if not domain or any(c in domain for c in " \t<>@;"):
            raise RegistrationError(f"domain {domain!r}: a SIP domain or host is needed")
        if expires_s < 1:
            raise RegistrationError(f"expires_s must be at least 1 s, got {expires_s}")
        self._agent = agent
        self._registrar = registrar
        self._user = aor_user
        self._domain = domain
        self._credentials = credentials
        self._expires = expires_s
        self._aor = f"<sip:{aor_user}@{domain}>"
        self._call_id = new_call_id(agent.address[0])
        self._tag = new_tag()
        self._seq = 0
        self._in_row = 0  # failures since the last success
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()  # the first attempt is over, either way
        self.ready = asyncio.Event()
        self.expires_at: float | None = None
        self.next_attempt_at: float | None = None
        self.last_status: int | None = None
        self.refreshes = 0
        self.failures = 0

    @property
    def registered(self) -> bool:
        """The registrar holds our binding now (granted and not yet run out)."""
        if self._loop is None or self.expires_at is None:
            return False
        return self._loop.time() < self.expires_at

    @property
    def expires_s(self) -> int:
        """The lifetime asked for (raised by a ``423``'s ``Min-Expires``)."""
        return self._expires

    async def start(self, *, wait_s: float = 5.0) -> None:
        """Register and keep refreshing in the background; returns once the first
        attempt is over or after `wait_s`, whichever comes first (`ready` tells success).
        """
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=f"sip-register-{self._user}")
        try:
            await asyncio.wait_for(self._settled.wait(), wait_s)
        except TimeoutError:
            log.info("REGISTER %s@%s: still waiting for the registrar", self._user, self._domain)

    async def stop(self, *, wait_s: float = UNREGISTER_WAIT_S) -> None:
        """Stop refreshing, and remove our binding (REGISTER with ``Expires: 0``) when
        there is one, waiting at most `wait_s` for the registrar."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self.next_attempt_at = None
        if not self.registered:
            self.expires_at = None
            return
        try:
            response, _ = await asyncio.wait_for(self._exchange(0), wait_s)
            self.last_status = response.status
            log.info("unREGISTER %s@%s: %s", self._user, self._domain, response.status)
        except TimeoutError:
            log.warning("unREGISTER %s@%s: no answer in %s s", self._user, self._domain, wait_s)
        except (DigestError, SipParseError) as exc:
            log.warning("unREGISTER %s@%s failed: %s", self._user, self._domain, exc)
        finally:
            self.expires_at = None

    # -- the background task --------------------------------------------------------------

    async def _run(self) -> None:
        assert self._loop is not None
        while True:
            delay = await self._attempt()
            self._settled.set()
            self.next_attempt_at = self._loop.time() + delay
            await asyncio.sleep(delay)

    async def _attempt(self) -> float:
        """One registration, to its end; the seconds until the next one."""
        try:
            response, refused = await self._exchange(self._expires)
        except Exception:  # a bug or an answer we cannot read must not end the refreshes
            log.exception("REGISTER %s@%s failed", self._user, self._domain)
            return self._failed(None, refused=False)
        self.last_status = response.status
        if 200 <= response.status < 300:
            granted = granted_expires(response, self._contact_uri, self._expires)
            if granted > 0:
                return self._succeeded(granted)
            log.warning("REGISTER %s@%s: the registrar granted 0 s", self._user, self._domain)
        return self._failed(response, refused=refused)

    def _succeeded(self, granted: int) -> float:
        assert self._loop is not None
        self.expires_at = self._loop.time() + granted
        self._in_row = 0
        if self.ready.is_set():
            self.refreshes += 1
            log.debug("REGISTER %s@%s refreshed for %d s", self._user, self._domain, granted)
        else:
            self.ready.set()
            log.info("registered %s@%s for %d s", self._user, self._domain, granted)
        return refresh_delay(granted)

    def _failed(self, response: SipResponse | None, *, refused: bool) -> float:
        self.failures += 1
        self._in_row += 1
        what = f"{response.status} {response.reason}" if response else "an error"
        if refused:
            log.error(
                "REGISTER %s@%s: the registrar refused our credentials (%s): wrong user or "
                "password? Trying again in %.0f s",
                self._user,
                self._domain,
                what,
                AUTH_REFUSED_RETRY_S,
            )
            return AUTH_REFUSED_RETRY_S
        delay = retry_delay(self._in_row, response)
        log.warning(
            "REGISTER %s@%s failed (%s, %d in a row); trying again in %.0f s",
            self._user,
            self._domain,
            what,
            self._in_row,
            delay,
        )
        return delay

    # -- one REGISTER, through its challenge and a 423 ---------------------------------

    async def _exchange(self, expires: int) -> tuple[SipResponse, bool]:
        """REGISTER for `expires` s, answering a challenge and a ``423``: the final
        answer, and whether it means our credentials were refused."""
        challenge: tuple[str, Challenge] | None = None  # header name, challenge
        nc = 0
        for _ in range(MAX_ROUNDS):
            auth = None
            if challenge is not None and self._credentials is not None:
                nc += 1  # the same nonce again (after a 423) counts up (RFC 2617 3.2.2)
                auth = (challenge[0], self._authorization(challenge[1], nc))
            response = await self._send(self._request(expires, auth))
            if response.status in (401, 407):
                fresh = self._challenge(response)
                # No credentials, or a second challenge that is not only a stale nonce:
                # the registrar does not take who we say we are.
                if fresh is None or (challenge is not None and not fresh.stale):
                    return response, fresh is not None or self._credentials is None
                name = "Authorization" if response.status == 401 else "Proxy-Authorization"
                challenge, nc = (name, fresh), 0
                continue
            wanted = min_expires(response) if response.status == 423 else None
            if wanted is None or wanted <= expires or expires == 0:
                return response, False
            log.info("REGISTER %s@%s: the registrar wants %d s", self._user, self._domain, wanted)
            expires = self._expires = wanted
        return response, False

    def _challenge(self, response: SipResponse) -> Challenge | None:
        """The challenge of a 401/407 we can answer; None (logged) when we cannot."""
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        if self._credentials is None:
            log.error("REGISTER %s@%s: the registrar wants credentials", self._user, self._domain)
            return None
        try:
            challenge = parse_challenge(response.headers.get(header) or "")
            self._authorization(challenge, 1)  # a qop we cannot answer fails here, once
        except DigestError as exc:
            log.warning(
                "REGISTER %s@%s: challenge not understood: %s", self._user, self._domain, exc
            )
            return None
        return challenge

    @property
    def _contact_uri(self) -> str:
        return parse_name_addr(self._agent.contact(self._user)).uri

    def _request(self, expires: int, auth: tuple[str, str] | None) -> SipRequest:
        host, port = self._agent.address
        self._seq += 1
        headers = Headers()
        headers.set("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        headers.set("Max-Forwards", "70")
        headers.set("From", f"{self._aor};tag={self._tag}")
        headers.set("To", self._aor)
        headers.set("Call-ID", self._call_id)
        headers.set("CSeq", f"{self._seq} REGISTER")
        headers.set("Contact", self._agent.contact(self._user))
        headers.set("Expires", str(expires))
        headers.set("Allow", ALLOW)
        headers.set("User-Agent", self._agent.user_agent)
        if auth is not None:
            headers.set(*auth)
        return SipRequest("REGISTER", f"sip:{self._domain}", headers)

    def _authorization(self, challenge: Challenge, nc: int) -> str:
        assert self._credentials is not None
        username, password = self._credentials
        return authorization(
            challenge,
            method="REGISTER",
            uri=f"sip:{self._domain}",
            username=username,
            password=password,
            nc=nc,
        )

    async def _send(self, request: SipRequest) -> SipResponse:
        tx = self._agent.transactions.send_request(request, self._registrar)
        try:
            return await tx.final
        except asyncio.CancelledError:
            self._agent.transactions.forget(tx)  # no retransmissions after we stopped
            raise
