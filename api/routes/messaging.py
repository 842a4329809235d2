"""WhatsApp messaging: the tenant's senders, the messages calls sent (payment links),
and the providers' public status receivers.

A sender's secrets (`auth_token`, `access_token`, `app_secret`, `verify_token`) are
taken once and never answered; answers show `secret_hint`. A problem with a secret is
answered without its value (422 naming the field). Another tenant's sender or message
answers 404, as one that does not exist.

The status receivers are public (the providers hold no API key): each is the sender's
own URL and is proved by the provider's signature with the sender's secret, checked
before anything is read (403 on a bad one). Each status first reported is stored with
its message and recorded as a `message_status` webhook event.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from api.auth import TenantId
from api.deps import Services
from api.limits import PageLimit, PageOffset
from centralita.messaging import message_store, store
from centralita.messaging.models import (
    InvalidSenderError,
    Message,
    MessagePage,
    Sender,
    SenderCreate,
    SenderPage,
    SenderSecrets,
    SenderUpdate,
    status_callback_path,
)
from centralita.messaging.status_reports import (
    META_SIGNATURE_HEADER,
    InvalidReportError,
    StatusReport,
    meta_challenge,
    meta_reports,
    twilio_report,
    verify_meta,
)
from centralita.telephony.models import FieldProblem
from centralita.telephony.signatures import TWILIO_SIGNATURE_HEADER, verify_twilio

log = logging.getLogger(__name__)

router = APIRouter(tags=["messaging"])

SenderId = Annotated[str, Path(max_length=64, description="The WhatsApp sender's id.")]
MessageId = Annotated[str, Path(max_length=64, description="The message's id.")]
_SENDER_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such sender"}}
_SIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "the provider's signature is missing or does not match"},
    404: {"description": "no such sender (of this provider)"},
}


def _unprocessable(problems: list[FieldProblem]) -> HTTPException:
    # FastAPI's shape without the `input` it would echo: a problem may be a secret's.
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[
            {"loc": ["body", p.field], "msg": p.message, "type": "value_error"} for p in problems
        ],
    )


def _no_sender(sender_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no WhatsApp sender {sender_id}")


# -- senders --------------------------------------------------------------------------


@router.post(
    "/whatsapp-senders",
    status_code=status.HTTP_201_CREATED,
    response_model=Sender,
    responses={
        409: {"description": "the tenant has a sender of that name"},
        422: {"description": "a field is missing, malformed or of the other provider"},
    },
)
async def create_whatsapp_sender(
    body: SenderCreate, services: Services, tenant: TenantId
) -> Sender:
    """Add the tenant's WhatsApp business number at Twilio or Meta. Its secrets are not
    answered, here or ever. Point the provider's status webhook at
    `status_callback_path` under the API's public address (Twilio's is sent with each
    message when `CENTRALITA_API_PUBLIC_BASE` is set)."""
    try:
        checked = body.checked()
    except InvalidSenderError as exc:
        raise _unprocessable(exc.problems) from exc
    async with services.pool.connection() as conn:
        try:
            sender = await store.create_sender(conn, services.keys, tenant, checked)
        except store.SenderNameTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    log.info("WhatsApp sender %s (%s) added", sender.id, sender.provider)
    return sender


@router.get("/whatsapp-senders", response_model=SenderPage)
async def list_whatsapp_senders(
    services: Services, tenant: TenantId, limit: PageLimit = 100, offset: PageOffset = 0
) -> SenderPage:
    """The tenant's WhatsApp senders, oldest first (the oldest sends payment links)."""
    async with services.pool.connection() as conn:
        return await store.list_senders(conn, tenant, limit=limit, offset=offset)


@router.get("/whatsapp-senders/{sender_id}", response_model=Sender, responses=_SENDER_NOT_FOUND)
async def get_whatsapp_sender(sender_id: SenderId, services: Services, tenant: TenantId) -> Sender:
    """One WhatsApp sender."""
    async with services.pool.connection() as conn:
        sender = await store.get_sender(conn, tenant, sender_id)
    if sender is None:
        raise _no_sender(sender_id)
    return sender


@router.patch(
    "/whatsapp-senders/{sender_id}",
    response_model=Sender,
    responses={
        **_SENDER_NOT_FOUND,
        409: {"description": "the tenant has a sender of that name"},
        422: {"description": "a field is malformed, or a template for a Twilio sender"},
    },
)
async def update_whatsapp_sender(
    sender_id: SenderId, body: SenderUpdate, services: Services, tenant: TenantId
) -> Sender:
    """Rename a sender, change the tool that makes its links, or a Meta sender's
    template. Its credentials do not change here: add a sender and delete this one."""
    async with services.pool.connection() as conn:
        sender = await store.get_sender(conn, tenant, sender_id)
        if sender is None:
            raise _no_sender(sender_id)
        try:
            changes = body.changes(sender.provider)
        except InvalidSenderError as exc:
            raise _unprocessable(exc.problems) from exc
        try:
            updated = await store.update_sender(conn, tenant, sender_id, changes)
        except store.SenderNameTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if updated is None:
        raise _no_sender(sender_id)
    return updated


@router.delete(
    "/whatsapp-senders/{sender_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_SENDER_NOT_FOUND,
)
async def delete_whatsapp_sender(
    sender_id: SenderId, services: Services, tenant: TenantId
) -> Response:
    """Delete a sender with its secrets; its messages stay (their statuses no longer
    arrive: the receiver's URL names the sender)."""
    async with services.pool.connection() as conn:
        deleted = await store.delete_sender(conn, tenant, sender_id)
    if not deleted:
        raise _no_sender(sender_id)
    log.info("WhatsApp sender %s deleted", sender_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- messages -------------------------------------------------------------------------


@router.get("/messages", response_model=MessagePage)
async def list_messages(
    services: Services,
    tenant: TenantId,
    call_key: Annotated[
        str | None, Query(max_length=300, description="Only the messages this call sent.")
    ] = None,
    limit: PageLimit = 100,
    offset: PageOffset = 0,
) -> MessagePage:
    """The messages the tenant's calls sent, newest first, each with its status history."""
    async with services.pool.connection() as conn:
        return await message_store.list_messages(
            conn, tenant, call_key=call_key, limit=limit, offset=offset
        )


@router.get(
    "/messages/{message_id}",
    response_model=Message,
    responses={404: {"description": "no such message"}},
)
async def get_message(message_id: MessageId, services: Services, tenant: TenantId) -> Message:
    """One message and its status history."""
    async with services.pool.connection() as conn:
        message = await message_store.get_message(conn, tenant, message_id)
    if message is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no message {message_id}")
    return message


# -- the providers' status receivers (public, signed) ---------------------------------


async def _sender_of(services: Services, sender_id: str, provider: str) -> SenderSecrets:
    async with services.pool.connection() as conn:
        sender = await store.sender_secrets(conn, services.keys, sender_id)
    if sender is None or sender.provider != provider:
        raise _no_sender(sender_id)
    return sender


def _forbidden(provider: str) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN, detail=f"the {provider} signature does not match"
    )


async def _record(services: Services, sender: SenderSecrets, reports: list[StatusReport]) -> int:
    """Store the reports; how many were new."""
    new = 0
    async with services.pool.connection() as conn:
        for report in reports:
            applied = await message_store.apply_report(
                conn, tenant_id=sender.tenant_id, sender_id=sender.id, report=report
            )
            new += int(applied is not None and applied.new)
    return new


def _signed_urls(request: Request, services: Services, path: str) -> list[str]:
    """The URLs Twilio may have signed: the public one we gave it, and the one asked."""
    public = services.settings.api_public_base
    asked = str(request.url)
    return [public.rstrip("/") + path, asked] if public else [asked]


@router.post(
    "/messaging/twilio/status/{sender_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_SIGNED, 400: {"description": "no MessageSid or MessageStatus"}},
)
async def twilio_message_status(
    sender_id: SenderId, request: Request, services: Services
) -> Response:
    """Twilio's status callback for a message a Twilio sender sent: a form with
    `MessageSid`, `MessageStatus` (and `ErrorCode` on a failure), signed in
    `X-Twilio-Signature` with the sender's auth token. Public: the signature proves it."""
    sender = await _sender_of(services, sender_id, "twilio")
    form = await request.form()
    signature = request.headers.get(TWILIO_SIGNATURE_HEADER, "")
    token = sender.secret.get_secret_value()
    path = status_callback_path("twilio", sender.id)
    if not signature or not any(
        verify_twilio(token, url, form, signature) for url in _signed_urls(request, services, path)
    ):
        raise _forbidden("Twilio")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        report = twilio_report(fields)
    except InvalidReportError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    await _record(services, sender, [report])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/messaging/meta/webhook/{sender_id}",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "the challenge, echoed", "content": {"text/plain": {}}},
        403: {"description": "not a subscription, or not our verify token"},
        404: {"description": "no such Meta sender"},
    },
)
async def meta_webhook_verification(
    sender_id: SenderId, request: Request, services: Services
) -> PlainTextResponse:
    """Meta's subscription check: `hub.mode=subscribe`, `hub.verify_token` (the
    sender's) and `hub.challenge`, answered with the challenge. Public."""
    sender = await _sender_of(services, sender_id, "meta")
    assert sender.verify_token is not None  # a Meta sender has one (migration 0021)
    params = {k: v for k, v in request.query_params.items()}
    challenge = meta_challenge(params, sender.verify_token.get_secret_value())
    if challenge is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="the verify token does not match")
    return PlainTextResponse(challenge)


@router.post(
    "/messaging/meta/webhook/{sender_id}",
    responses={**_SIGNED, 400: {"description": "not a WhatsApp webhook body"}},
)
async def meta_webhook(sender_id: SenderId, request: Request, services: Services) -> dict[str, int]:
    """Meta's webhook for a Meta sender: JSON whose `entry[].changes[].value.statuses[]`
    report its messages' statuses, signed in `X-Hub-Signature-256` (HMAC-SHA256 of the
    raw body with the app secret). Public: the signature proves it. Answers how many
    statuses it carried and how many were new."""
    sender = await _sender_of(services, sender_id, "meta")
    assert sender.app_secret is not None  # a Meta sender has one (migration 0021)
    body = await request.body()
    if not verify_meta(
        sender.app_secret.get_secret_value(), body, request.headers.get(META_SIGNATURE_HEADER)
    ):
        raise _forbidden("Meta")
    try:
        reports = meta_reports(json.loads(body))
    except (ValueError, InvalidReportError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    new = await _record(services, sender, reports)
    return {"statuses": len(reports), "new": new}
