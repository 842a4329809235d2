"""Telephony: the tenant's own carrier accounts and the numbers that route its inbound
calls.

A carrier account's secrets (`auth_token`, `api_key`) are taken once and never answered
again, not even by the response that creates the account: answers show their last four
characters (`auth_token_hint`, `api_key_hint`). A problem with a secret is answered
without its value. A number is one tenant's at most: claiming one another tenant holds
answers 409. Another tenant's account or number answers 404, as one that does not
exist.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from centralita.kernel.db import Pool
from centralita.telephony.models import (
    CarrierAccount,
    CarrierAccountCreate,
    CarrierAccountPage,
    FieldProblem,
    InvalidAccountError,
    PhoneNumber,
    PhoneNumberCreate,
    PhoneNumberPage,
    PhoneNumberRouting,
)
from centralita.telephony.numbers import InvalidNumberError, to_e164
from centralita.telephony.store import accounts, numbers
from centralita.telephony.store.accounts import AccountInUseError, AccountNameTakenError
from centralita.telephony.store.numbers import AccountNotFoundError, NumberTakenError
from realtime.agents.loader import shipped_agents
from realtime.store.agents import unknown_agents

log = logging.getLogger(__name__)

router = APIRouter(tags=["telephony"])

AccountId = Annotated[str, Path(max_length=64, description="The carrier account's id.")]
NumberParam = Annotated[
    str,
    Path(
        max_length=40,
        description="E.164, its `+` URL-encoded (`%2B56229990000`) or left out (`56229990000`).",
    ),
]
_ACCOUNT_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such carrier account"}
}
_NUMBER_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "the tenant routes no such number"}
}


def _unprocessable(problems: list[FieldProblem]) -> HTTPException:
    # FastAPI's own shape (`loc`, `msg`, `type`), without the `input` it would echo: a
    # problem may be a secret's.
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[
            {"loc": ["body", p.field], "msg": p.message, "type": "value_error"} for p in problems
        ],
    )


async def _check_agent(pool: Pool, tenant_id: str, agent: str) -> None:
    if await unknown_agents(pool, tenant_id, [agent]):
        raise _unprocessable(
            [
                FieldProblem(
                    field="agent",
                    message=f"unknown agent {agent!r}; an agent is the tenant's own "
                    f"(GET /agents) or shipped ({', '.join(shipped_agents())})",
                )
            ]
        )


def _path_number(raw: str) -> str:
    """The number a path names, in E.164; 404 when it is not a number (it names nothing)."""
    text = raw.strip()
    try:
        return to_e164(text if text.startswith("+") else f"+{text}")
    except InvalidNumberError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no number {raw}") from exc


def _no_account(account_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no carrier account {account_id}")


def _no_body_account() -> HTTPException:
    # The id came in the body: not echoed, so an answer holds only what the path asked.
    return HTTPException(
        status.HTTP_404_NOT_FOUND, detail="carrier_account_id: no such carrier account"
    )


# -- carrier accounts -----------------------------------------------------------------


@router.post(
    "/carrier-accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=CarrierAccount,
    responses={
        409: {"description": "the tenant has an account of that name"},
        422: {"description": "a field is missing, malformed or of the other carrier"},
    },
)
async def create_carrier_account(
    body: CarrierAccountCreate, services: Services, tenant: TenantId
) -> CarrierAccount:
    """Add the tenant's own Twilio or Telnyx account. Its secret is not answered, here
    or ever: keep it where it came from."""
    try:
        credentials = body.credentials()
    except InvalidAccountError as exc:
        raise _unprocessable(exc.problems) from exc
    async with services.pool.connection() as conn:
        try:
            account = await accounts.create_account(
                conn,
                services.keys,
                tenant,
                name=body.name,
                calls_per_second=body.calls_per_second,
                credentials=credentials,
            )
        except AccountNameTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    log.info("carrier account %s (%s) added", account.id, account.carrier)
    return account


@router.get("/carrier-accounts", response_model=CarrierAccountPage)
async def list_carrier_accounts(
    services: Services,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> CarrierAccountPage:
    """The tenant's carrier accounts, oldest first (secrets are never listed)."""
    async with services.pool.connection() as conn:
        return await accounts.list_accounts(conn, tenant, limit=limit, offset=offset)


@router.get(
    "/carrier-accounts/{account_id}", response_model=CarrierAccount, responses=_ACCOUNT_NOT_FOUND
)
async def get_carrier_account(
    account_id: AccountId, services: Services, tenant: TenantId
) -> CarrierAccount:
    """One carrier account."""
    async with services.pool.connection() as conn:
        account = await accounts.get_account(conn, tenant, account_id)
    if account is None:
        raise _no_account(account_id)
    return account


@router.delete(
    "/carrier-accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_ACCOUNT_NOT_FOUND, 409: {"description": "numbers still use the account"}},
)
async def delete_carrier_account(
    account_id: AccountId, services: Services, tenant: TenantId
) -> Response:
    """Delete a carrier account with its credentials; refused (409) while numbers use it."""
    async with services.pool.connection() as conn:
        try:
            deleted = await accounts.delete_account(conn, tenant, account_id)
        except AccountInUseError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if not deleted:
        raise _no_account(account_id)
    log.info("carrier account %s deleted", account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- phone numbers --------------------------------------------------------------------


@router.post(
    "/phone-numbers",
    status_code=status.HTTP_201_CREATED,
    response_model=PhoneNumber,
    responses={
        404: {"description": "no such carrier account"},
        409: {"description": "the number is routed already (by this tenant or another)"},
        422: {"description": "not an E.164 number, unknown agent, bad variables"},
    },
)
async def create_phone_number(
    body: PhoneNumberCreate, services: Services, tenant: TenantId
) -> PhoneNumber:
    """Route a number the tenant holds at its carrier: its inbound calls go to `agent`."""
    await _check_agent(services.pool, tenant, body.agent)
    async with services.pool.connection() as conn:
        try:
            return await numbers.create_number(conn, tenant, body)
        except AccountNotFoundError as exc:
            raise _no_body_account() from exc
        except NumberTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.get("/phone-numbers", response_model=PhoneNumberPage)
async def list_phone_numbers(
    services: Services,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> PhoneNumberPage:
    """The tenant's routed numbers, oldest first."""
    async with services.pool.connection() as conn:
        return await numbers.list_numbers(conn, tenant, limit=limit, offset=offset)


@router.get(
    "/phone-numbers/{phone_number}", response_model=PhoneNumber, responses=_NUMBER_NOT_FOUND
)
async def get_phone_number(
    phone_number: NumberParam, services: Services, tenant: TenantId
) -> PhoneNumber:
    """One routed number."""
    e164 = _path_number(phone_number)
    async with services.pool.connection() as conn:
        found = await numbers.get_number(conn, tenant, e164)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no number {e164}")
    return found


@router.put(
    "/phone-numbers/{phone_number}",
    response_model=PhoneNumber,
    responses={
        404: {"description": "the tenant routes no such number, or has no such account"},
        422: {"description": "unknown agent, bad variables"},
    },
)
async def replace_phone_number(
    phone_number: NumberParam, body: PhoneNumberRouting, services: Services, tenant: TenantId
) -> PhoneNumber:
    """Replace where a routed number's calls go: account, agent and variables together."""
    e164 = _path_number(phone_number)
    await _check_agent(services.pool, tenant, body.agent)
    async with services.pool.connection() as conn:
        try:
            updated = await numbers.update_number(conn, tenant, e164, body)
        except AccountNotFoundError as exc:
            raise _no_body_account() from exc
    if updated is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no number {e164}")
    return updated


@router.delete(
    "/phone-numbers/{phone_number}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NUMBER_NOT_FOUND,
)
async def delete_phone_number(
    phone_number: NumberParam, services: Services, tenant: TenantId
) -> Response:
    """Stop routing a number: its inbound calls find no agent from now on."""
    e164 = _path_number(phone_number)
    async with services.pool.connection() as conn:
        if not await numbers.delete_number(conn, tenant, e164):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no number {e164}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
