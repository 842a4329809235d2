"""Telnyx's Call Control API (v2), as much of it as placing and ending a call needs.

JSON requests with `Authorization: Bearer <API key>`, JSON answers. `POST /v2/calls`
(the Dial command) answers with `{"data": {"call_control_id", "call_leg_id",
"call_session_id", "is_alive", "record_type": "call"}}`; the call then rings
asynchronously and its progress comes as signed webhooks (`realtime/carrier/telnyx.py`).
`POST /v2/calls/{call_control_id}/actions/hangup` ends it; a call already over answers
422 with error code 90018 ("Call has already ended"). The other commands on a call
(`answer` or `reject` for an inbound call, `transfer`, `bridge`) answer `{"data": {"result": "ok"}}`
and are refused alike.

Errors come as `{"errors": [{"code": "10016", "title", "detail", "source":
{"pointer": "/to"}}]}` (codes are strings). They are sorted by what the caller should
do: a number Telnyx can never call (`InvalidDialRequestError`: an invalid or non-E.164
`to`), a refusal that a retry will not fix (`TelnyxRejectedError`: the API key, the
connection, the From number), or Telnyx unreachable, failing or rate limiting
(`TelnyxUnavailableError`, which a later attempt may retry). Like Twilio's, a dial
that timed out may still have rung: the dialer never retries one by itself.

Sources: Telnyx's API reference (Dial, Hangup, Answer, Reject, Transfer, Bridge: `bridge`
takes the other call as `call_control_id`), its SDKs' generated models
(`team-telnyx/telnyx-python`: `CallDialParams`, `CallDialResponse`) and its error code
list; 90018 as pipecat met it (pipecat-ai/pipecat#2054).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from centralita.kernel.calls import InvalidDialRequestError

DEFAULT_API_BASE = "https://api.telnyx.com"
REQUEST_TIMEOUT_S = 10.0
# "Invalid phone number", "Phone number must be in +E.164 format": when they name `to`.
_INVALID_NUMBER = frozenset({"10002", "10016"})
# "Call has already ended": a command to a call that is over.
CALL_ENDED = "90018"


class TelnyxRejectedError(RuntimeError):
    """Telnyx refused the request; the same request will be refused again."""


class TelnyxUnavailableError(RuntimeError):
    """Telnyx could not be reached, failed (5xx, a timeout) or asked us to slow down (429)."""


@dataclass(frozen=True)
class TelnyxAccount:
    """A Telnyx account the calls are placed on (a tenant brings its own).

    Args:
        api_key: the API key (Bearer) the commands are sent with.
        connection_id: the Call Control Application the calls are placed from.
        public_key: the account's Ed25519 public key (base64, as the portal shows it):
            every webhook is verified with it.
        api_base: Telnyx's API (a fake's, in tests).
    """

    api_key: SecretStr
    connection_id: str
    public_key: str
    api_base: str = DEFAULT_API_BASE

    def url(self, path: str) -> str:
        """The v2 API's `path` (`/calls`)."""
        return f"{self.api_base.rstrip('/')}/v2{path}"


class TelnyxCalls:
    """Dial and hang up calls on one Telnyx account."""

    def __init__(self, account: TelnyxAccount, client: httpx.AsyncClient | None = None) -> None:
        self.account = account
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S)

    async def dial(self, body: Mapping[str, Any]) -> str:
        """Place a call (the Dial command); its `call_control_id`.

        Args:
            body: the Dial command's fields; `connection_id` defaults to the account's.

        Raises:
            InvalidDialRequestError: Telnyx can never call this `to` number.
            TelnyxRejectedError: the key, connection, From number or a field refused.
            TelnyxUnavailableError: Telnyx unreachable, failing or rate limiting.
        """
        answer = await self._post("/calls", {"connection_id": self.account.connection_id, **body})
        if not answer.is_success:
            errors = _errors(answer)
            if any(_invalid_to(error) for error in errors):
                raise InvalidDialRequestError(f"Telnyx: {_describe(errors)}")
            raise TelnyxRejectedError(
                f"Telnyx answered {answer.status_code}: {_describe(errors) or answer.text[:200]}"
            )
        try:
            return str(answer.json()["data"]["call_control_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TelnyxUnavailableError(
                f"Telnyx answered {answer.status_code} without a call_control_id"
            ) from exc

    async def hangup(self, call_control_id: str) -> bool:
        """Hang up a call, answered or still ringing.

        Returns:
            False when the call had already ended (90018, or a call Telnyx no longer
            knows: 404), True otherwise.

        Raises:
            TelnyxRejectedError, TelnyxUnavailableError: as for `dial`.
        """
        path = f"/calls/{quote(call_control_id, safe=':')}/actions/hangup"
        answer = await self._post(path, {})
        if answer.is_success:
            return True
        errors = _errors(answer)
        if answer.status_code == 404 or any(e.get("code") == CALL_ENDED for e in errors):
            return False
        raise TelnyxRejectedError(
            f"Telnyx answered {answer.status_code}: {_describe(errors) or answer.text[:200]}"
        )

    async def answer(self, call_control_id: str, body: Mapping[str, Any]) -> None:
        """Answer an inbound call (`call.initiated`, direction `incoming`) with `body`'s
        options (its media stream, webhooks, `client_state`).

        Raises:
            TelnyxRejectedError: the call is over or a field was refused.
            TelnyxUnavailableError: Telnyx unreachable, failing or rate limiting.
        """
        await self._command(call_control_id, "answer", body)

    async def reject(self, call_control_id: str, cause: str = "USER_BUSY") -> None:
        """Refuse an inbound call before answering it (the caller hears it busy).

        Raises:
            TelnyxRejectedError, TelnyxUnavailableError: as for `answer`.
        """
        await self._command(call_control_id, "reject", {"cause": cause})

    async def transfer(self, call_control_id: str, body: Mapping[str, Any]) -> None:
        """Transfer a call to `body["to"]`: Telnyx rings it as a new leg (its webhooks
        carry `body`'s `client_state`) and bridges the two once it answers; if it does
        not, that leg's `call.hangup` says so and the call stays as it was.

        Raises:
            TelnyxRejectedError, TelnyxUnavailableError: as for `answer`.
        """
        await self._command(call_control_id, "transfer", body)

    async def bridge(self, call_control_id: str, other_call_control_id: str) -> None:
        """Bridge two live calls: each caller hears the other.

        Raises:
            TelnyxRejectedError, TelnyxUnavailableError: as for `answer`.
        """
        await self._command(call_control_id, "bridge", {"call_control_id": other_call_control_id})

    async def _command(self, call_control_id: str, action: str, body: Mapping[str, Any]) -> None:
        path = f"/calls/{quote(call_control_id, safe=':')}/actions/{action}"
        answer = await self._post(path, body)
        if not answer.is_success:
            errors = _errors(answer)
            raise TelnyxRejectedError(
                f"Telnyx {action} answered {answer.status_code}: "
                f"{_describe(errors) or answer.text[:200]}"
            )

    async def active_calls(self) -> list[dict[str, Any]]:
        """The calls up now on the account's connection (`GET
        /v2/connections/{id}/active_calls`), each with its `client_state`.

        Raises:
            TelnyxRejectedError, TelnyxUnavailableError: as for `dial`.
        """
        key = self.account.api_key.get_secret_value()
        path = f"/connections/{self.account.connection_id}/active_calls"
        try:
            answer = await self._client.get(
                self.account.url(path),
                params={"page[size]": "250"},
                headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise TelnyxUnavailableError(f"Telnyx unreachable: {exc!r}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TelnyxUnavailableError(f"Telnyx answered {answer.status_code}")
        if answer.status_code != 200:
            raise TelnyxRejectedError(f"Telnyx answered {answer.status_code}: {answer.text[:200]}")
        data = answer.json().get("data", [])
        return [call for call in data if isinstance(call, dict)]

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _post(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        key = self.account.api_key.get_secret_value()
        try:
            answer = await self._client.post(
                self.account.url(path),
                json=dict(body),
                headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise TelnyxUnavailableError(f"Telnyx unreachable: {exc!r}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TelnyxUnavailableError(f"Telnyx answered {answer.status_code}")
        return answer


def _errors(answer: httpx.Response) -> list[dict[str, Any]]:
    """Telnyx's `errors` list, each with its code as text; empty when the body has none."""
    try:
        body = answer.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [
        {**error, "code": str(error.get("code", ""))} for error in errors if isinstance(error, dict)
    ]


def _invalid_to(error: Mapping[str, Any]) -> bool:
    """An error that says the `to` number itself is invalid (not our From number)."""
    source = error.get("source")
    names_to = isinstance(source, dict) and (
        source.get("pointer") == "/to" or source.get("parameter") == "to"
    )
    return error.get("code") in _INVALID_NUMBER and bool(names_to)


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e.get('code')} {e.get('title', '')}: {e.get('detail', '')}".strip() for e in errors
    )[:300]
