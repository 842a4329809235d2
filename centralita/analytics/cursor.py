"""Keyset cursors: where a listing ordered by (started_at, id) stopped.

Offsets skip or repeat rows when rows arrive between pages, and cost a scan of all the
skipped rows; a keyset cursor resumes strictly after the last row sent. It travels as
opaque URL-safe text so clients do not build one by hand.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime


class BadCursorError(ValueError):
    """The cursor was not one this API handed out."""


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: its start and its id (the tie-breaker)."""

    started_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        """The cursor as opaque URL-safe text."""
        raw = json.dumps([self.started_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor made by `encode`.

        Raises:
            BadCursorError: anything else.
        """
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            started, ident = json.loads(raw)
            at = datetime.fromisoformat(started)
            if at.tzinfo is None:
                raise ValueError("naive time")
            return cls(at, uuid.UUID(ident))
        except (binascii.Error, ValueError, TypeError) as exc:
            raise BadCursorError(f"not a cursor this API issued: {text[:40]!r}") from exc
