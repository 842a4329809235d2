"""The interface between the dial activity and whatever places the call."""

from __future__ import annotations

from typing import Protocol

from workflows.models import DialRequest, DialResult


class InvalidDialRequestError(ValueError):
    """The request can never succeed (malformed number, unknown destination kind)."""


class Dialer(Protocol):
    """Places a call and returns when it has ended.

    Implementations must be idempotent on `request.idempotency_key`: a second `dial`
    with the same key joins or reports the first call, never rings again.
    """

    async def dial(self, request: DialRequest) -> DialResult:
        """Place the call and wait for its end."""
        ...
