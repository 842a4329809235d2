"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp
from temporalio.client import Client

from api.auth import authenticate, document_public_routes
from api.data_errors import refuse_unstorable_values
from api.limits import JsonBodyLimitAnswers, upload_body_limit
from api.live_hub import LiveEventHub
from api.mcp.server import mount_mcp
from api.openapi_errors import document_error_bodies
from api.operator_presence import OperatorPresence
from api.routes import (
    actions,
    admin,
    agents,
    analytics,
    call_controls,
    calls,
    campaign_controls,
    campaigns,
    codec,
    contacts,
    dashboard,
    exports,
    health,
    human_callbacks,
    knowledge,
    learning,
    lexicon,
    live,
    media_plane,
    messaging,
    operators,
    opt_outs,
    payments,
    reanalysis,
    retention,
    softphone,
    telephony,
    webhooks,
)
from api.services import ApiServices, TemporalConnector
from centralita import __version__
from centralita.handoff import queue_store
from centralita.kernel.db import open_pool
from centralita.kernel.settings import InvalidSettingsError, Settings, get_settings
from centralita.kernel.telemetry import instrument_http_app


class _App(FastAPI):
    """FastAPI with the body limit's plain-text 413 answered as JSON.

    FastAPI places its body limit (`max_body_size`) outside every middleware that
    `add_middleware` adds, so the rewrite goes right inside the outermost layer,
    `ServerErrorMiddleware`: OpenTelemetry's FastAPI instrumentation expects that layer
    on top of the stack and skips (no server spans at all) when it finds another.
    """

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(**options)
        self._centralita_settings = settings

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if isinstance(stack, ServerErrorMiddleware):
            stack.app = JsonBodyLimitAnswers(stack.app, self._centralita_settings)
            return stack
        return JsonBodyLimitAnswers(stack, self._centralita_settings)


def create_app(
    settings: Settings | None = None, *, temporal_client: Client | None = None
) -> FastAPI:
    """Build the API.

    Args:
        settings: defaults to the process settings.
        temporal_client: an already connected client (tests pass their environment's);
            otherwise the API connects on first need.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database_url = settings.database_url
        if not database_url:
            # The process that starts the API resolves it (`centralita api` starts the
            # embedded server when none is configured; `dev up` passes its own).
            raise InvalidSettingsError(["CENTRALITA_DATABASE_URL: the API needs a database"])
        pool = await open_pool(
            database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        live = LiveEventHub(database_url)
        handoffs = LiveEventHub(database_url, listen=queue_store.listen)
        presence = OperatorPresence(pool, settings.operator_away_after_s)
        app.state.services = ApiServices(
            settings=settings,
            pool=pool,
            temporal=TemporalConnector(settings, client=temporal_client),
            live=live,
            handoffs=handoffs,
            presence=presence,
            keys=settings.key_ring(),
        )
        try:
            async with mcp.running():  # the MCP SDK's session manager (api/mcp/)
                yield
        finally:
            await live.close()
            await handoffs.close()
            await presence.close()
            await pool.close()

    app = _App(
        settings,
        title="Centralita",
        version=__version__,
        summary="Open-source AI voice call center: campaigns, calls, agents.",
        lifespan=lifespan,
        # Every route needs an API key but the public ones (api/auth.py).
        dependencies=[Depends(authenticate)],
        max_body_size=settings.max_request_bytes,  # campaigns take more (api/limits.py)
    )
    app.include_router(health.router)
    app.include_router(campaigns.router, max_body_size=upload_body_limit(settings))
    app.include_router(campaign_controls.router)
    app.include_router(contacts.router)
    app.include_router(calls.router)
    app.include_router(live.router)
    app.include_router(call_controls.router)
    app.include_router(softphone.router)
    app.include_router(dashboard.router)
    app.include_router(opt_outs.router)
    app.include_router(operators.router)
    app.include_router(human_callbacks.router)
    app.include_router(payments.router)
    app.include_router(learning.router)
    app.include_router(lexicon.router)
    app.include_router(reanalysis.router)
    app.include_router(retention.router)
    app.include_router(webhooks.router)
    app.include_router(analytics.router)
    app.include_router(exports.router)
    app.include_router(agents.router)
    app.include_router(telephony.router)
    app.include_router(actions.router)
    app.include_router(messaging.router)
    app.include_router(admin.router)
    app.include_router(media_plane.router)
    app.include_router(knowledge.router, max_body_size=knowledge.body_limit(settings))
    # Mounted, not included: its own CORS and admin-key check (see api/routes/codec.py).
    app.mount(codec.PREFIX, codec.codec_app(settings))
    mcp = mount_mcp(app)  # /mcp: the tenant's key on each request (api/mcp/endpoint.py)
    refuse_unstorable_values(app)
    document_public_routes(app)
    document_error_bodies(app)  # after: it reads which operations are public
    # A server span per request, continuing the caller's trace; the campaign workflow
    # a request starts is its child (the Temporal plugin carries the context).
    instrument_http_app(app)
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory api.app:app_factory`.

    Invalid settings end the process with their lines, not a traceback.
    """
    try:
        settings = get_settings()
    except InvalidSettingsError as exc:
        raise SystemExit("\n".join(f"invalid setting {p}" for p in exc.problems)) from exc
    return create_app(settings)
