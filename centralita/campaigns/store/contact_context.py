"""Everything the calling rules need about a contact, read in one query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from centralita.campaigns.calling_rules import AttemptFact
from centralita.campaigns.policy import CampaignPolicy, read_stored_policy
from centralita.kernel.db import Conn

# Contacts in these states may still be called.
OPEN_STATES = ("pending", "retry_scheduled", "in_progress")

_SELECT = """
SELECT c.id::text AS contact_id, c.campaign_id::text AS campaign_id,
       c.tenant_id::text AS tenant_id, c.name, c.state, c.phones, c.phone_index,
       c.recipient_timezone, c.segment, c.variables, c.admitted_at, c.next_attempt_at,
       k.policy, k.timezone AS campaign_timezone,
       coalesce((SELECT json_agg(json_build_object('started_at', a.started_at,
                                                   'outcome', a.outcome)
                                 ORDER BY a.attempt_number)
                 FROM call_attempts a
                 WHERE a.contact_id = c.id AND a.status = 'completed'), '[]'::json) AS history,
       (SELECT count(*) FROM call_attempts a WHERE a.contact_id = c.id) AS attempts_total,
       coalesce((SELECT array_agg(o.phone) FROM opt_outs o
                 WHERE o.tenant_id = c.tenant_id AND o.phone = ANY(c.phones)),
                '{}') AS opted_out
FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
"""


class ContactContext(BaseModel):
    """A contact, its campaign's policy, its dialled history and its opted-out phones."""

    contact_id: str
    campaign_id: str
    tenant_id: str
    name: str | None = None
    state: str
    phones: list[str]
    phone_index: int
    recipient_timezone: str | None
    campaign_timezone: str
    segment: str | None
    variables: dict[str, Any]
    admitted_at: datetime | None
    next_attempt_at: datetime | None
    policy: CampaignPolicy
    history: list[AttemptFact] = Field(default_factory=list)
    attempts_total: int = Field(description="Attempt rows, skipped ones included.")
    opted_out: set[str] = Field(default_factory=set)

    @property
    def timezone(self) -> str:
        """The recipient's zone (resolved at upload), else the campaign's."""
        return self.recipient_timezone or self.policy.schedule.timezone

    def next_phone(self) -> tuple[int, str] | None:
        """The phone to try from `phone_index` on, skipping opted-out ones."""
        for index in range(self.phone_index, len(self.phones)):
            if self.phones[index] not in self.opted_out:
                return index, self.phones[index]
        return None


class StoredPolicyError(ValueError):
    """The contact's campaign has a stored policy that is not valid (see its message)."""


def _context(row: dict[str, Any]) -> ContactContext:
    policy, problem = read_stored_policy(row["policy"])
    if policy is None:
        raise StoredPolicyError(
            f"campaign {row['campaign_id']}: its stored policy is invalid: {problem}"
        )
    return ContactContext.model_validate({**row, "policy": policy})


async def load_contact(conn: Conn, contact_id: str) -> ContactContext | None:
    """One contact's context, or None.

    Raises:
        StoredPolicyError: its campaign's stored policy is not valid.
    """
    cur = await conn.execute(_SELECT + " WHERE c.id = %s::uuid", (contact_id,))
    row = await cur.fetchone()
    return _context(row) if row else None


async def load_due(
    conn: Conn, campaign_id: str, now: datetime, exclude: list[str], limit: int
) -> list[ContactContext]:
    """Contacts that may be due now: admitted retries first (by due time), then new ones.

    Raises:
        StoredPolicyError: the campaign's stored policy is not valid.
    """
    cur = await conn.execute(
        _SELECT + " WHERE c.campaign_id = %s::uuid AND c.state IN ('pending', 'retry_scheduled') "
        "AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %s) "
        "AND NOT (c.id = ANY(%s::uuid[])) "
        "ORDER BY (c.admitted_at IS NULL), c.next_attempt_at NULLS LAST, c.position LIMIT %s",
        (campaign_id, now, exclude, limit),
    )
    return [_context(r) for r in await cur.fetchall()]
