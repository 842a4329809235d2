"""The codec endpoint: Temporal's remote codec protocol, for operators with the admin key.

Every payload Centralita writes to Temporal is encrypted (`centralita.kernel.payload_codec`),
so the Temporal UI and CLI show ciphertext. Pointed here (`temporal server start-dev
--ui-codec-endpoint`, the UI's `TEMPORAL_CODEC_ENDPOINT`, the CLI's `--codec-endpoint`
with `--codec-auth "Bearer <admin key>"`), they show the payloads decoded.

`POST /codec/decode` and `/codec/encode` take and answer `{"payloads": [{"metadata":
{key: base64}, "data": base64}]}` (the protobuf JSON of `Payloads`), with the namespace
in `X-Namespace`. Decoding hands out personal data, so only the admin key passes: 401
without `Authorization: Bearer`, 403 with any other key (a tenant's too), 404 while no
admin key is configured. The endpoint is a small application mounted on the API: the
Temporal UI calls it cross-origin with a preflight that carries no key, which the API's
own authentication would refuse, and its CORS answer is for the UI's origin only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, Header, HTTPException, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, RedirectResponse
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads

from api.codec_session import COOKIE, SESSION_S, SIGN_IN_PAGE, session_cookie, session_is_valid
from centralita.kernel.key_ring import KeyRingError
from centralita.kernel.payload_codec import EncryptionCodec
from centralita.kernel.settings import Settings
from centralita.tenants.keys import secret_matches

PREFIX = "/codec"
Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def ui_origins(settings: Settings) -> list[str]:
    """The Temporal UI's origin (and its `localhost` twin when it is on 127.0.0.1)."""
    parts = urlsplit(settings.temporal_ui_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    twin = origin.replace("://127.0.0.1:", "://localhost:")
    return [origin] if twin == origin else [origin, twin]


def codec_app(settings: Settings) -> FastAPI:
    """The codec endpoint as an application to mount at `PREFIX`."""
    codec = EncryptionCodec(settings.key_ring)  # the ring is read on the first request
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=ui_origins(settings),
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
    )

    async def answer(
        request: Request, transform: Transform, namespace: str | None
    ) -> dict[str, Any]:
        _require_admin(settings, request.headers.get("authorization"), request.cookies.get(COOKIE))
        if namespace is not None and namespace != settings.temporal_namespace:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                detail=f"this endpoint serves namespace {settings.temporal_namespace!r}",
            )
        payloads = _read_payloads(await request.body())
        try:
            result = await transform(payloads)
        except KeyRingError as exc:  # names the key id, never key material
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
        return {"payloads": [json_format.MessageToDict(payload) for payload in result]}

    @app.post("/decode")
    async def decode(
        request: Request, x_namespace: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        """The payloads, decrypted (those that were not encrypted, as they are)."""
        return await answer(request, codec.decode, x_namespace)

    @app.post("/encode")
    async def encode(
        request: Request, x_namespace: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        """The payloads, encrypted with the active key (the UI encodes signal inputs)."""
        return await answer(request, codec.encode, x_namespace)

    @app.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> str:
        """A form for the admin key (the Temporal UI can only send cookies)."""
        _admin_key(settings)
        return SIGN_IN_PAGE % {"endpoint": str(request.base_url).rstrip("/")}

    @app.post("/session")
    async def sign_in(key: Annotated[str, Form(max_length=500)]) -> RedirectResponse:
        """Check the admin key; set the session cookie and go to the Temporal UI."""
        admin_key = _admin_key(settings)
        if not secret_matches(admin_key.get_secret_value(), key.strip()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="that is not the admin key")
        answer = RedirectResponse(settings.temporal_ui_url, status.HTTP_303_SEE_OTHER)
        answer.set_cookie(
            COOKIE,
            session_cookie(admin_key),
            max_age=SESSION_S,
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=settings.temporal_ui_url.startswith("https://"),
        )
        return answer

    @app.post("/sign-out")
    async def sign_out() -> RedirectResponse:
        """Forget the session in this browser."""
        answer = RedirectResponse(settings.temporal_ui_url, status.HTTP_303_SEE_OTHER)
        answer.delete_cookie(COOKIE, path=PREFIX)
        return answer

    return app


def _admin_key(settings: Settings) -> SecretStr:
    if settings.admin_api_key is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail="the codec endpoint is off: set CENTRALITA_ADMIN_API_KEY",
        )
    return settings.admin_api_key


def _require_admin(settings: Settings, authorization: str | None, cookie: str | None) -> None:
    admin_key = _admin_key(settings)
    if not authorization and session_is_valid(admin_key, cookie):
        return  # an operator signed in at /codec/sign-in (the Temporal UI's way)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="the admin key is required: `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": 'Bearer realm="centralita"'},
        )
    if not secret_matches(admin_key.get_secret_value(), token.strip()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this endpoint needs the admin key")


def _read_payloads(body: bytes) -> list[Payload]:
    message = Payloads()
    try:
        json_format.Parse(body or b"{}", message)
    except (json_format.ParseError, ValueError) as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail='expected {"payloads": [{"metadata": {key: base64}, "data": base64}]}',
        ) from exc
    return list(message.payloads)
