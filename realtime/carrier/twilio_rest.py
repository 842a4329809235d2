"""Twilio's Calls API, as much of it as placing and ending a call needs.

Form-encoded requests with HTTP Basic (Account SID, auth token), JSON answers
(`POST /2010-04-01/Accounts/{Sid}/Calls.json` answers 201 with the call's `sid`).
Twilio has no idempotency key: a request that timed out may still have rung, so the
dialer never retries `create_call` by itself (see `realtime/carrier/twilio.py`).

Errors are sorted by what the caller should do: a number Twilio can never call
(`InvalidDialRequestError`), a refusal that a retry will not fix (`TwilioRejectedError`:
bad credentials, a From number not on the account), or Twilio unreachable or failing
(`TwilioUnavailableError`, which a later attempt may retry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

import httpx
from pydantic import SecretStr

from centralita.kernel.calls import InvalidDialRequestError

DEFAULT_API_BASE = "https://api.twilio.com"
REQUEST_TIMEOUT_S = 10.0
# Twilio error codes for a To number that can never be called.
_INVALID_TO = {21211, 21214, 21217, 21401, 21407, 21421, 21612, 21614}
# "The requested resource was not found": updating a call that already ended.
_NOT_FOUND = 20404


class TwilioRejectedError(RuntimeError):
    """Twilio refused the request; the same request will be refused again."""


class TwilioUnavailableError(RuntimeError):
    """Twilio could not be reached or failed (5xx, a timeout)."""


@dataclass(frozen=True)
class TwilioAccount:
    """A Twilio account the calls are placed on (a tenant brings its own)."""

    account_sid: str
    auth_token: SecretStr
    api_base: str = DEFAULT_API_BASE

    def calls_url(self, call_sid: str | None = None) -> str:
        """The Calls list, or one call."""
        base = f"{self.api_base.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Calls"
        return f"{base}/{call_sid}.json" if call_sid else f"{base}.json"


def stream_twiml(stream_url: str, parameters: dict[str, str]) -> str:
    """TwiML that connects the answered call to our media WebSocket, both ways.

    `<Connect><Stream>` is bidirectional and holds the call while the socket is open
    (`<Start><Stream>` would only listen: an agent nobody hears).
    """
    params = "".join(
        f"<Parameter name={quoteattr(name)} value={quoteattr(value)}/>"
        for name, value in parameters.items()
    )
    stream = f"<Stream url={quoteattr(stream_url)}>{params}</Stream>"
    return f"<Response><Connect>{stream}</Connect></Response>"


def say_twiml(text: str, language: str) -> str:
    """TwiML that says `text` (a transfer's notice, a voicemail message)."""
    return f"<Response><Say language={quoteattr(language)}>{escape(text)}</Say></Response>"


class TwilioCalls:
    """Place, end and list calls on one Twilio account."""

    def __init__(self, account: TwilioAccount, client: httpx.AsyncClient | None = None) -> None:
        self.account = account
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S)
        self._auth = httpx.BasicAuth(account.account_sid, account.auth_token.get_secret_value())

    async def create_call(self, form: Sequence[tuple[str, str]]) -> str:
        """Place a call; its Call SID.

        Raises:
            InvalidDialRequestError: Twilio can never call this number.
            TwilioRejectedError: credentials, From number or parameters refused.
            TwilioUnavailableError: Twilio unreachable or failing.
        """
        answer = await self._post(self.account.calls_url(), form)
        if answer.status_code != 201:
            code, message = _error(answer)
            if code in _INVALID_TO:
                raise InvalidDialRequestError(f"Twilio {code}: {message}")
            raise TwilioRejectedError(f"Twilio answered {answer.status_code} ({code}): {message}")
        return str(answer.json()["sid"])

    async def end_call(self, call_sid: str, *, answered: bool = True) -> bool:
        """Hang up (`completed`) or, before it is answered, cancel (`canceled`) a call.

        Returns:
            False when the call had already ended (Twilio's 20404), True otherwise.

        Raises:
            TwilioRejectedError, TwilioUnavailableError: as for `create_call`.
        """
        status = "completed" if answered else "canceled"
        return await self._update(call_sid, [("Status", status)])

    async def redirect(self, call_sid: str, twiml: str) -> bool:
        """Give a live call new TwiML (a transfer): its media stream ends, the call goes
        on with `twiml`. False when the call had already ended.

        Raises:
            TwilioRejectedError, TwilioUnavailableError: as for `create_call`.
        """
        return await self._update(call_sid, [("Twiml", twiml)])

    async def _update(self, call_sid: str, form: Sequence[tuple[str, str]]) -> bool:
        """Update a live call; False when it had already ended (404, Twilio's 20404)."""
        answer = await self._post(self.account.calls_url(call_sid), form)
        if answer.status_code == 200:
            return True
        code, message = _error(answer)
        if answer.status_code == 404 or code == _NOT_FOUND:
            return False
        raise TwilioRejectedError(f"Twilio answered {answer.status_code} ({code}): {message}")

    async def find_calls(self, *, to: str, from_: str, since: datetime) -> list[dict[str, Any]]:
        """The account's calls from `from_` to `to` created at or after `since`, newest
        first (Twilio filters by day; the time is checked here).

        Raises:
            TwilioRejectedError, TwilioUnavailableError: as for `create_call`.
        """
        query = {"To": to, "From": from_, "StartTime>": since.date().isoformat()}
        try:
            answer = await self._client.get(self.account.calls_url(), params=query, auth=self._auth)
        except httpx.HTTPError as exc:
            raise TwilioUnavailableError(f"Twilio unreachable: {exc!r}") from exc
        if answer.status_code >= 500:
            raise TwilioUnavailableError(f"Twilio answered {answer.status_code}")
        if answer.status_code != 200:
            code, message = _error(answer)
            raise TwilioRejectedError(f"Twilio answered {answer.status_code} ({code}): {message}")
        calls = [c for c in answer.json().get("calls", []) if _created(c) >= since]
        return sorted(calls, key=_created, reverse=True)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _post(self, url: str, form: Sequence[tuple[str, str]]) -> httpx.Response:
        try:
            answer = await self._client.post(
                url,
                # Encoded here: a name may repeat (StatusCallbackEvent), which `data=` cannot.
                content=urlencode(list(form)),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=self._auth,
            )
        except httpx.HTTPError as exc:
            raise TwilioUnavailableError(f"Twilio unreachable: {exc!r}") from exc
        if answer.status_code >= 500:
            raise TwilioUnavailableError(f"Twilio answered {answer.status_code}")
        return answer


def _error(answer: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error code and message (`{"code": 21211, "message": ...}`)."""
    try:
        body = answer.json()
        return int(body.get("code")) if body.get("code") else None, str(body.get("message", ""))
    except ValueError:
        return None, answer.text[:200]


def _created(call: dict[str, Any]) -> datetime:
    """A listed call's `date_created` (RFC 2822, as Twilio writes it)."""
    return parsedate_to_datetime(str(call["date_created"]))
