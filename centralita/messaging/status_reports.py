"""Delivery statuses the providers post back: parsed, verified, ordered. Pure; no I/O.

Twilio posts a form to the message's `StatusCallback`: `MessageSid`, `MessageStatus`
(``queued``, ``sent``, ``delivered``, ``read``, ``failed``, ``undelivered``…) and, on a
failure, `ErrorCode`, signed in ``X-Twilio-Signature`` with the account's auth token
(`centralita.telephony.signatures.verify_twilio`, the same check as its call webhooks).

Meta posts JSON to the app's webhook: ``entry[].changes[].value.statuses[]``, each with
`id` (the ``wamid``), `status` (``sent``, ``delivered``, ``read``, ``failed``),
`timestamp` (Unix seconds, text) and, on a failure, ``errors[{code, title, message}]``;
signed in ``X-Hub-Signature-256`` as ``sha256=`` and the hex HMAC-SHA256 of the raw body
keyed with the app secret. Subscribing the webhook is a GET with ``hub.mode=subscribe``,
``hub.verify_token`` (ours) and ``hub.challenge``, answered with the challenge.

Providers do not promise order (a `delivered` may overtake its `sent`), so a message's
status only moves forward along `STATUS_RANK`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

META_SIGNATURE_HEADER: Final = "X-Hub-Signature-256"

# How far along a message is; a report of a lower rank does not move it back.
STATUS_RANK: Final[dict[str, int]] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "failed": 6,
    "undelivered": 6,
    "canceled": 6,
}


class InvalidReportError(ValueError):
    """A status report lacks what identifies it (the message id, the status)."""


@dataclass(frozen=True)
class StatusReport:
    """One message's new status, as a provider reported it."""

    provider_message_id: str
    status: str
    occurred_at: datetime
    error_code: str | None = None
    error_message: str | None = None


def advances(current: str, reported: str) -> bool:
    """Whether `reported` moves a message in status `current` forward."""
    return STATUS_RANK.get(reported, 0) > STATUS_RANK.get(current, 0)


# -- Twilio ---------------------------------------------------------------------------


def twilio_report(form: Mapping[str, str], *, now: datetime | None = None) -> StatusReport:
    """The status a Twilio status callback reports.

    Raises:
        InvalidReportError: no `MessageSid` (or `SmsSid`) or no `MessageStatus`.
    """
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise InvalidReportError("a Twilio status callback needs MessageSid and MessageStatus")
    error = form.get("ErrorCode") or None
    return StatusReport(
        provider_message_id=sid,
        status=status.strip().lower(),
        occurred_at=now or datetime.now(UTC),  # Twilio's callbacks carry no time
        error_code=error,
        error_message=form.get("ErrorMessage") or None,
    )


# -- Meta -----------------------------------------------------------------------------


def meta_signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` Meta sends with `body`: ``sha256=<hex>``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_meta(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is Meta's signature of the raw `body` (constant time)."""
    if not header:
        return False
    expected = meta_signature(app_secret, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().lower().encode("utf-8"))


def meta_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to answer a subscription GET with; None when the token is not ours
    (or it is not a subscription)."""
    presented = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or "hub.challenge" not in params:
        return None
    if not hmac.compare_digest(presented.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return params["hub.challenge"]


def meta_reports(payload: Any) -> list[StatusReport]:
    """Every message status a Cloud API webhook's body carries (incoming messages and
    other fields are left out: nothing here reads them).

    Raises:
        InvalidReportError: not a webhook body (no `entry` list), or a status without
            `id` or `status`.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise InvalidReportError("a WhatsApp webhook's body has an `entry` list")
    reports: list[StatusReport] = []
    for entry in payload["entry"]:
        for change in _dicts(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value")
            statuses = value.get("statuses") if isinstance(value, dict) else None
            reports.extend(_meta_status(s) for s in _dicts(statuses))
    return reports


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _meta_status(status: dict[str, Any]) -> StatusReport:
    message_id, state = status.get("id"), status.get("status")
    if not isinstance(message_id, str) or not message_id or not isinstance(state, str):
        raise InvalidReportError("a status in a WhatsApp webhook needs `id` and `status`")
    errors = _dicts(status.get("errors"))
    first = errors[0] if errors else {}
    code = first.get("code")
    message = first.get("message") or first.get("title")
    return StatusReport(
        provider_message_id=message_id,
        status=state.lower(),
        occurred_at=_unix_time(status.get("timestamp")),
        error_code=str(code) if code is not None else None,
        error_message=message if isinstance(message, str) else None,
    )


def _unix_time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)
