"""A campaign policy's carrier account must be its tenant's, checked before it is stored.

Otherwise every call of the campaign would fail at dial time (`carrier_account_not_found`)
and its contacts would end `failed` for a typo: the create or the edit is refused (422)
instead, and nothing is stored.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.db import Pool
from centralita.telephony.store.accounts import get_account


async def check_carrier_account(pool: Pool, tenant_id: str, policy: CampaignPolicy) -> None:
    """Raise a 422 when the policy names a carrier account the tenant does not have.

    Raises:
        HTTPException: 422 naming `carrier_account_id`.
    """
    account_id = policy.carrier_account_id
    if account_id is None:
        return
    async with pool.connection() as conn:
        account = await get_account(conn, tenant_id, account_id)
    if account is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"carrier_account_id {account_id} is not one of this tenant's carrier "
            "accounts (GET /carrier-accounts)",
        )
