"""Each tenant's own carrier account rings its campaigns' phones.

A campaign whose policy names a `carrier_account_id` (one of its tenant's, stored with
`POST /carrier-accounts`) has its calls placed on that account: its credentials are
read at every call (so a deleted or edited account takes effect at once), and one
dialer per account is kept while they stay the same (its own
calls-per-second pacing, its own callback verification). A call with no account goes to
the media worker's own carrier (`fallback`: the settings' Twilio account, or the
simulated carrier). An account that is not the tenant's, or is gone, fails the call
without ringing anyone (`carrier_account_not_found`).

Twilio and Telnyx accounts both dial; Telnyx's webhooks are routed by the account's
`connection_id`, Twilio's callbacks by `AccountSid`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import SecretStr

from centralita.kernel.calls import CallOutcome, Dialer, DialRequest, DialResult
from centralita.telephony.models import TelnyxCredentials, TwilioCredentials
from realtime.carrier.carrier_calls import RecoveringDialer
from realtime.carrier.phone_line import PhoneLineConfig
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.telnyx import TelnyxDialer
from realtime.carrier.telnyx_rest import DEFAULT_API_BASE as DEFAULT_TELNYX_API
from realtime.carrier.telnyx_rest import TelnyxAccount, TelnyxCalls
from realtime.carrier.twilio import TwilioDialer
from realtime.carrier.twilio_rest import TwilioAccount, TwilioCalls
from realtime.conversation_line import ConversationLine

log = logging.getLogger(__name__)

# (tenant, account id) -> the account's credentials and its calls-per-second limit, None
# when it is not the tenant's.
Found = tuple[TwilioCredentials | TelnyxCredentials, float]
CredentialsLookup = Callable[[str, str], Awaitable[Found | None]]
ACCOUNT_NOT_FOUND = "carrier_account_not_found"


class AccountDialers:
    """A `Dialer` that places each call on its campaign's carrier account."""

    def __init__(
        self,
        credentials: CredentialsLookup,
        line: ConversationLine,
        broker: StreamBroker,
        config: PhoneLineConfig,
        *,
        twilio_api_base: str,
        telnyx_api_base: str = DEFAULT_TELNYX_API,
        fallback: Dialer | None = None,
    ) -> None:
        self._credentials = credentials
        self._line = line
        self._broker = broker
        self._config = config
        self._twilio_api_base = twilio_api_base
        self._fallback = fallback
        # (tenant, account) -> what the account was when its dialer was built, and it.
        self._dialers: dict[tuple[str, str], tuple[Found, TwilioDialer | TelnyxDialer]] = {}
        self._retired: list[TwilioDialer | TelnyxDialer] = []
        self._by_sid: dict[str, TwilioDialer] = {}
        self._by_connection: dict[str, TelnyxDialer] = {}
        self.telnyx_api_base = telnyx_api_base
        if isinstance(fallback, TwilioDialer):
            self._by_sid[fallback.calls.account.account_sid] = fallback

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring through the campaign's account, else the media worker's own carrier."""
        dialer = await self._dialer(request)
        if isinstance(dialer, DialResult):
            return dialer
        return await dialer.dial(request)

    async def recover(self, request: DialRequest, rang_at: datetime) -> DialResult | None:
        """A lost ring's call, asked of the carrier account that placed it."""
        dialer = await self._dialer(request)
        if isinstance(dialer, DialResult) or not isinstance(dialer, RecoveringDialer):
            return None
        return await dialer.recover(request, rang_at)

    def twilio_dialer(self, account_sid: str) -> TwilioDialer | None:
        """The dialer of the Twilio account a callback names (`AccountSid`), if ours."""
        return self._by_sid.get(account_sid)

    def telnyx_dialer(self, connection_id: str) -> TelnyxDialer | None:
        """The dialer of the Telnyx account an event names (`connection_id`), if ours."""
        return self._by_connection.get(connection_id)

    async def aclose(self) -> None:
        """Close every account's HTTP client."""
        for dialer in [*(built for _, built in self._dialers.values()), *self._retired]:
            await dialer.calls.aclose()

    async def _dialer(self, request: DialRequest) -> Dialer | DialResult:
        account = request.carrier_account_id
        if account is None:
            if self._fallback is None:
                return _failed_now("no carrier for calls without a carrier account")
            return self._fallback
        tenant = request.tenant_id or ""
        # Read at every call: an account deleted, or given new credentials or a new
        # limit, takes effect at the next call, never after a restart.
        found = await self._credentials(tenant, account)
        if found is None:
            key = request.idempotency_key
            log.warning("call %s: carrier account %s is not its tenant's", key, account)
            return _failed_now(ACCOUNT_NOT_FOUND)
        known = self._dialers.get((tenant, account))
        if known is not None and known[0] == found:
            return known[1]
        if known is not None:
            self._retired.append(known[1])  # its calls under way go on; closed at the end
        dialer = self._build(*found)
        self._dialers[(tenant, account)] = (found, dialer)
        return dialer

    def _build(
        self, credentials: TwilioCredentials | TelnyxCredentials, calls_per_second: float
    ) -> TwilioDialer | TelnyxDialer:
        """A dialer for one account, found by its callbacks' account id from now on."""
        config = replace(self._config, calls_per_second=calls_per_second)  # the account's own
        if isinstance(credentials, TelnyxCredentials):
            telnyx = TelnyxDialer(
                TelnyxCalls(
                    TelnyxAccount(
                        SecretStr(credentials.api_key.get_secret_value()),
                        credentials.connection_id,
                        credentials.public_key,
                        self.telnyx_api_base,
                    )
                ),
                config,
                self._line,
                self._broker,
            )
            self._by_connection[credentials.connection_id] = telnyx
            return telnyx
        twilio = TwilioDialer(
            TwilioCalls(
                TwilioAccount(
                    credentials.account_sid,
                    SecretStr(credentials.auth_token.get_secret_value()),
                    self._twilio_api_base,
                )
            ),
            config,
            self._line,
            self._broker,
        )
        self._by_sid[credentials.account_sid] = twilio
        return twilio


def _failed_now(reason: str) -> DialResult:
    return DialResult.unanswered(CallOutcome.FAILED, reason, datetime.now(UTC))
