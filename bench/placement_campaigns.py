"""The placement benchmark's campaigns: fresh numbers, each answered by a bot softphone.

Every number's persona holds a real conversation (one of `bench/conversations.py`'s
scripts) with the agent of its scenario; each campaign is started with
`media_placement`, so its calls are placed on the registered media workers.
"""

from __future__ import annotations

import itertools
from typing import Any

from temporalio.client import Client

from bench.campaign import ALWAYS_OPEN
from bench.conversations import SCENARIOS
from bench.latency import STAGGER_S
from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignRunInput
from centralita.campaigns.store.campaigns import NewContact, create_campaign
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from workflows.campaign import CampaignWorkflow

CALL_ALLOWANCE_S = 120.0  # per wave of calls, before a round is called stuck


def _number(index: int) -> str:
    return f"+5699200{index:04d}"


def personas(count: int, concurrency: int) -> dict[str, Any]:
    """`count` numbers, each answered by a bot playing one scenario's script.

    A campaign starts its first `concurrency` calls in the same instant; answered at
    once, their scripted callers would speak in lockstep (every one finishing a sentence
    together, which real traffic never does) and queue their turns on the recogniser at
    the same moment. So the n-th number of each `concurrency` rings `STAGGER_S` longer,
    as `bench/latency.py` starts its simultaneous calls `STAGGER_S` apart.
    """
    return {
        "personas": [
            {
                "number": _number(i),
                "name": f"bench {i}",
                "script": [
                    {
                        "outcome": CallOutcome.COMPLETED.value,  # the agent's decides
                        "ring_seconds": 0.5 + STAGGER_S * (i % concurrency),
                        "conversation": scenario.script.model_dump(mode="json"),
                    }
                ],
            }
            for i, scenario in zip(range(count), itertools.cycle(SCENARIOS), strict=False)
        ]
    }


class Campaigns:
    """Starts campaigns over fresh numbers (a number is never called by two campaigns)."""

    def __init__(self, pool: Pool, client: Client, task_queue: str, concurrency: int) -> None:
        self.pool, self.client, self.queue = pool, client, task_queue
        self.concurrency = concurrency
        self._numbers = itertools.count()

    async def run(self, calls: int, label: str) -> tuple[str, Any]:
        """Start one placed campaign of `calls` contacts; its id and workflow handle."""
        policy = CampaignPolicy.model_validate(
            {
                **ALWAYS_OPEN,
                "concurrency": self.concurrency,
                "segment_agents": {s.agent: s.agent for s in SCENARIOS},
            }
        )
        contacts = []
        for _ in range(calls):
            index = next(self._numbers)
            scenario = SCENARIOS[index % len(SCENARIOS)]
            contacts.append(
                NewContact(
                    name=f"Contacto {index}",
                    phones=[_number(index)],
                    recipient_timezone="America/Santiago",
                    segment=scenario.agent,
                    variables=scenario.variables,
                )
            )
        row = await create_campaign(
            self.pool,
            tenant_id=DEFAULT_TENANT_ID,
            name=f"placement {label}",
            timezone="UTC",
            policy=policy,
            contacts=contacts,
            workflow_id_for=campaign_workflow_id,
        )
        handle = await self.client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=row.id, media_placement=True),
            id=campaign_workflow_id(row.id),
            task_queue=self.queue,
        )
        return row.id, handle

    def timeout_s(self, calls: int) -> float:
        return CALL_ALLOWANCE_S * (1 + -(-calls // self.concurrency))
