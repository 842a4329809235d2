"""What a campaign's agents need of each contact row, checked when the campaign is created.

A row's call is held by one agent: the campaign's `segment_agents[segment]`, else its
`default_agent`, else the media worker's default (`DEFAULT_AGENT`). That agent reads the
contact's variables by their declared kinds when the call starts, and a value it cannot
read fails the call (`agent_error`) hours later. So each row is read here, with the
same reader the call uses (`realtime.agents.flows.templates.read_variable`), and:

- a typed variable (money, number, date, datetime) that is present but unreadable
  refuses the row, naming the column, the value and what it should be;
- a segment that no agent takes (the campaign maps segments, has no `default_agent`)
  refuses the row instead of handing it silently to the default agent;
- a required variable that is missing is a warning, not a refusal: the row is stored
  (see `README.md`, "Campaign rules", for why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel.db import Pool
from realtime.agents.flows.schema import VariableSpec
from realtime.agents.flows.templates import find_variable, read_variable
from realtime.agents.loader import DEFAULT_AGENT, AnyAgentDefinition, load_any_agent
from realtime.store.agents import load_tenant_agent

log = logging.getLogger(__name__)

# What a value of each kind must be, as a rejection reason says it.
_EXPECTED = {
    "money": "an amount",
    "number": "a number",
    "date": "a date (write it as YYYY-MM-DD)",
    "datetime": "a date and time with its zone (ISO 8601, e.g. 2025-03-15T10:00-03:00)",
}


def call_variables(contact: NewContact) -> dict[str, Any]:
    """The variables the contact's call will carry.

    The same as `activities.campaigns.agent_variables` gives the dial request (the
    contact's name as `name` unless a column has that name); a unit test keeps the two
    in step.
    """
    if contact.name and "name" not in contact.variables:
        return {"name": contact.name, **contact.variables}
    return dict(contact.variables)


@dataclass(frozen=True)
class ContactAgents:
    """The campaign's agents, by name, and how a row finds its own.

    Attributes:
        policy: the campaign's policy (its segment map and default agent).
        definitions: the definitions of every agent the policy can hand a row; an agent
            missing here is not checked.
    """

    policy: CampaignPolicy
    definitions: Mapping[str, AnyAgentDefinition]

    def agent_for(self, segment: str | None) -> str:
        """The agent that will hold a call to a contact of `segment`.

        Raises:
            ValueError: the campaign maps agents by segment, has no `default_agent`,
                and `segment` is not mapped (or the row has none).
        """
        name = self.policy.agent_for(segment)
        if name is not None:
            return name
        mapped = self.policy.segment_agents
        if mapped:
            known = ", ".join(sorted(mapped))
            if segment is None:
                raise ValueError(
                    f"no segment, and the campaign picks its agent by segment ({known}) "
                    "with no default_agent"
                )
            raise ValueError(
                f"segment {segment!r} has no agent: segment_agents maps {known} "
                "and there is no default_agent"
            )
        return DEFAULT_AGENT

    def check(self, contact: NewContact) -> list[str]:
        """Read the row's variables as its agent will; return warnings.

        Returns:
            A warning per required variable the row lacks.

        Raises:
            ValueError: the row's segment has no agent, or a typed variable cannot be
                read (the message names each one).
        """
        name = self.agent_for(contact.segment)
        definition = self.definitions.get(name)
        if definition is None:
            return []
        variables = call_variables(contact)
        problems: list[str] = []
        missing: list[str] = []
        for spec in definition.variables:
            found = find_variable(spec, variables)
            if found is None:
                if spec.required:
                    missing.append(spec.name)
                continue
            problem = _unreadable(spec, *found)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise ValueError(f"{'; '.join(problems)} (agent {name!r})")
        return [
            f"no {variable}, which agent {name!r} requires: a call that reaches the agent will fail"
            for variable in missing
        ]


def _unreadable(spec: VariableSpec, key: str, value: Any) -> str | None:
    if spec.kind not in _EXPECTED:
        return None  # text: anything reads
    try:
        read_variable(spec, value)
    except ValueError:
        label = key if key == spec.name else f"{key} ({spec.name})"
        return f"{label} {value!r} is not {_EXPECTED[spec.kind]}"
    return None


def agents_needed(policy: CampaignPolicy) -> list[str]:
    """Every agent a row of this campaign may get, the fallback default included."""
    names = set(policy.segment_agents.values())
    names.add(policy.default_agent or DEFAULT_AGENT)
    return sorted(names)


async def contact_agents(pool: Pool, tenant_id: str, policy: CampaignPolicy) -> ContactAgents:
    """The campaign's agents as its calls will get them: the tenant's own, else shipped.

    Call after `api.agent_names.check_agent_names`: every name the policy gives exists.
    A stored definition that cannot be read is replaced by the shipped agent of that
    name, as the media worker does (`realtime.store.agent_lookup`); with neither, that agent's
    rows are not checked.
    """
    definitions: dict[str, AnyAgentDefinition] = {}
    for name in agents_needed(policy):
        try:
            found = await load_tenant_agent(pool, tenant_id, name)
        except Exception as exc:  # a broken stored row: the call would use the shipped one
            log.warning("agent %r of tenant %s unreadable: %s", name, tenant_id, exc)
            found = None
        if found is None:
            try:
                found = load_any_agent(name)
            except LookupError:
                continue
        definitions[name] = found
    return ContactAgents(policy=policy, definitions=definitions)
