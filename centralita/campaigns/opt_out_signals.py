"""An opt-out reaches every running campaign of the tenant that would call the number.

Used by the attempt that heard "no me llamen más" (an activity) and by `POST /opt-outs`.
The campaign workflow is signalled by its id and the signal's name, so nothing here (or
in its callers) imports the workflow.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from centralita.campaigns.messages import OPT_OUT_SIGNAL, campaign_workflow_id
from centralita.campaigns.policy import OptOutSignal
from centralita.campaigns.store import opt_outs
from centralita.kernel.db import Pool


async def signal_opt_out(client: Client, pool: Pool, phone: str, *, tenant_id: str) -> None:
    """Signal the tenant's campaigns that have a contact with `phone` (running ones take it).

    An opt-out is the tenant's own: another tenant's campaigns keep calling the number.

    Raises:
        RPCError: Temporal could not take a signal (a finished campaign is not an error).
    """
    async with pool.connection() as conn:
        ids = await opt_outs.open_campaigns_calling(conn, tenant_id, phone)

    async def one(campaign_id: str) -> None:
        handle = client.get_workflow_handle(campaign_workflow_id(campaign_id))
        try:
            await handle.signal(OPT_OUT_SIGNAL, OptOutSignal(phone=phone))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise  # Temporal trouble: the caller must know the signal did not land
            # Finished or never started: nothing in flight to stop.

    await asyncio.gather(*(one(cid) for cid in ids))
