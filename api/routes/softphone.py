"""The browser softphone: its page, and the media worker's signalling relayed to it.

The page (`api/static/softphone.html`) calls an agent's number, or holds a number and
answers a campaign's call, over WebRTC with the media worker. Its signalling goes
through the API (one origin for the page: no CORS), relayed as is to the media
worker's routes (`realtime/server/signalling.py`); the live transcript and the controls are
the API's own (`GET /calls/{key}/events`, `POST /calls/{key}/...`).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from api.deps import Services

router = APIRouter(tags=["softphone"])

_RELAY_TIMEOUT_S = 40.0  # above the longest long poll (wait <= 30 s)


def _json_body_schema(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    # The bodies are relayed as they come (the media worker validates them), so they are
    # read by hand; this states in the OpenAPI schema what the media worker expects.
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_SDP = {"type": "string", "description": "The session description."}
_OFFER_BODY = _json_body_schema(
    ["to_number", "from_number", "sdp"],
    {
        "to_number": {"type": "string", "description": "The agent's number, E.164."},
        "from_number": {"type": "string", "description": "Who calls."},
        "sdp": _SDP,
        "type": {"type": "string", "enum": ["offer"]},
    },
)
_ANSWER_BODY = _json_body_schema(
    ["sdp", "type"], {"sdp": _SDP, "type": {"type": "string", "enum": ["answer"]}}
)


@router.get("/softphone", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    """The softphone page."""
    html = resources.files("api").joinpath("static/softphone.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


async def _json_body(request: Request) -> Any:
    """The request's JSON body; a clear 422 when it is not JSON.

    Raises:
        HTTPException: 422, the body is not JSON.
    """
    try:
        return await request.json()
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the body must be JSON (an SDP offer/answer)"
        ) from exc


def _segment(value: str) -> str:
    """`value` as one path segment of the media worker's URL.

    Percent-encoded: a `/` or `..` in it cannot reach another route there, and control
    characters (which httpx refuses in a URL) come out as a 404 from the media worker
    instead of a 500 here.
    """
    return quote(value, safe="")


async def _relay(
    services: Services, method: str, path: str, *, body: Any = None, params: Any = None
) -> Response:
    url = f"{services.settings.effective_carrier_url}{path}"
    try:
        async with httpx.AsyncClient(timeout=_RELAY_TIMEOUT_S) as client:
            answer = await client.request(method, url, json=body, params=params)
    except httpx.HTTPError as exc:
        return Response(
            content=f'{{"detail": "media worker unreachable: {type(exc).__name__}"}}',
            status_code=status.HTTP_502_BAD_GATEWAY,
            media_type="application/json",
        )
    return Response(
        content=answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
    )


@router.post(
    "/softphone/calls",
    responses={201: {}, 404: {}, 409: {}, 422: {}, 502: {}},
    openapi_extra=_OFFER_BODY,
)
async def call_agent(request: Request, services: Services) -> Response:
    """Call an agent's number: `{to_number, from_number, sdp, type: "offer"}` (relayed)."""
    return await _relay(services, "POST", "/calls/inbound", body=await _json_body(request))


@router.get("/softphone/numbers/{number}/next", responses={200: {}, 204: {}, 502: {}})
async def next_call(
    number: str, services: Services, wait: Annotated[float, Query(ge=0, le=30)] = 20
) -> Response:
    """Hold `number`: the agent's offer when a campaign dials it (long poll, relayed)."""
    return await _relay(
        services, "GET", f"/softphones/{_segment(number)}/calls/next", params={"wait": wait}
    )


@router.post(
    "/softphone/calls/{call_id}/answer",
    responses={204: {}, 404: {}, 502: {}},
    openapi_extra=_ANSWER_BODY,
)
async def answer_call(call_id: str, request: Request, services: Services) -> Response:
    """Pick up a received call with the page's SDP answer (relayed)."""
    body = await _json_body(request)
    return await _relay(services, "POST", f"/calls/{_segment(call_id)}/answer", body=body)


@router.post("/softphone/calls/{call_id}/hangup", responses={204: {}, 404: {}, 502: {}})
async def hang_up(call_id: str, services: Services) -> Response:
    """Hang up a call the page made (relayed)."""
    return await _relay(services, "DELETE", f"/calls/{_segment(call_id)}")
