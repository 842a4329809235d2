"""Campaigns name agents that exist: the tenant's own or the shipped ones.

Checked when a campaign is created and when its policy is edited, so a misspelt agent
is a 422 at once, not a campaign whose every call fails with `agent_error` hours later.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.db import Pool
from realtime.agents.loader import shipped_agents
from realtime.store.agents import unknown_agents


def policy_agents(policy: CampaignPolicy) -> list[str]:
    """Every agent the policy names (by segment and the default)."""
    names = set(policy.segment_agents.values())
    if policy.default_agent is not None:
        names.add(policy.default_agent)
    return sorted(names)


async def check_agent_names(pool: Pool, tenant_id: str, policy: CampaignPolicy) -> None:
    """Raise a 422 naming the policy's unknown agents, if any.

    Raises:
        HTTPException: 422, `detail` a message with the unknown names and the shipped ones.
    """
    unknown = await unknown_agents(pool, tenant_id, policy_agents(policy))
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"unknown agent(s): {', '.join(unknown)}; an agent is the tenant's own "
            f"(GET /agents) or shipped ({', '.join(shipped_agents())})",
        )
