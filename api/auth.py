"""Who is calling: an API key on every route, the tenant a request acts for, the admin.

Every route needs `Authorization: Bearer <key>` (`create_app` makes `authenticate` a
dependency of the whole app), except the public ones in `PUBLIC_ROUTES`: health
probes, the pages (which ask the person for a key and send it themselves) and the
WhatsApp providers' status receivers (proved by the providers' signatures). The
OpenAPI schema and docs are served outside the routers and need no key either.

- A tenant's key (``ctk_<prefix>_<secret>``, `centralita.tenants.keys`) makes the request
  act for that tenant: routes take `TenantId` and scope every query to it, so another
  tenant's ids answer 404.
- The admin key (setting `admin_api_key`) is for `/admin` only (tenants and keys); it
  acts for no tenant.
- Event streams and download links may carry the key as `?access_token=` instead: a
  browser's EventSource cannot set headers, nor can a plain link. Routes opt in by
  taking `LinkTenantId`; everywhere else the query parameter is refused, because URLs
  end up in logs and browser history.

A missing, malformed, unknown or revoked key answers 401 with `WWW-Authenticate:
Bearer`; all four read the same, so a caller learns nothing about which keys exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Security, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import Services
from centralita.tenants.keys import secret_matches
from centralita.tenants.store import keys as tenants

# (method, path template) of the routes anyone may call.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
        ("GET", "/softphone"),
        ("GET", "/operator"),
        ("GET", "/dashboard"),
        ("GET", "/dashboard/assets/{name}"),
        # WhatsApp providers' status reports: proved by their signatures (api/routes/messaging.py)
        ("POST", "/messaging/twilio/status/{sender_id}"),
        ("GET", "/messaging/meta/webhook/{sender_id}"),
        ("POST", "/messaging/meta/webhook/{sender_id}"),
    }
)
ACCESS_TOKEN_PARAM = "access_token"  # noqa: S105 (a parameter name, not a secret)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer ctk_<prefix>_<secret>`: a tenant's key (the admin "
    "key on /admin).",
)
access_token_query = APIKeyQuery(
    name=ACCESS_TOKEN_PARAM,
    auto_error=False,
    scheme_name="AccessToken",
    description="The same key as a query parameter, accepted only by event streams and "
    "download links (EventSource cannot set headers). Prefer the header everywhere else.",
)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: a tenant's key, or the admin key (no tenant)."""

    tenant_id: str | None
    key_id: str | None

    @property
    def admin(self) -> bool:
        """Whether the admin key was presented."""
        return self.tenant_id is None


def _unauthorized(detail: str, *, invalid: bool) -> HTTPException:
    challenge = 'Bearer realm="centralita"'
    if invalid:
        challenge += ', error="invalid_token"'
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": challenge}
    )


def _forbidden(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


def is_public(method: str, route: Any) -> bool:
    """Whether the matched route needs no key."""
    return isinstance(route, APIRoute) and (method, route.path) in PUBLIC_ROUTES


def accepts_access_token(route: Any) -> bool:
    """Whether the route takes the key as `?access_token=` (it depends on `LinkTenantId`)."""
    return isinstance(route, APIRoute) and _depends_on(route.dependant, access_token_query)


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _presented_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is not None:
        return credentials.credentials
    if request.headers.get("authorization"):
        raise _unauthorized("send the key as `Authorization: Bearer <key>`", invalid=True)
    in_query = request.query_params.get(ACCESS_TOKEN_PARAM)
    if in_query is not None:
        if not accepts_access_token(request.scope.get("route")):
            raise _unauthorized(
                f"`{ACCESS_TOKEN_PARAM}` is accepted only by event streams and download "
                "links; send `Authorization: Bearer <key>`",
                invalid=True,
            )
        return in_query
    raise _unauthorized("an API key is required: `Authorization: Bearer <key>`", invalid=False)


async def authenticate(
    request: Request,
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller | None:
    """The caller of this request; None on a public route.

    Raises:
        HTTPException: 401 for a missing, malformed, unknown or revoked key.
    """
    if is_public(request.method, request.scope.get("route")):
        return None
    token = _presented_token(request, credentials)
    admin_key = services.settings.admin_api_key
    if admin_key is not None and secret_matches(admin_key.get_secret_value(), token):
        return Caller(tenant_id=None, key_id=None)
    owner = await tenants.authenticate(services.pool, token)
    if owner is None:
        raise _unauthorized("invalid or revoked API key", invalid=True)
    return Caller(tenant_id=owner.tenant_id, key_id=owner.key_id)


AuthenticatedCaller = Annotated[Caller | None, Depends(authenticate)]


async def caller_tenant(caller: AuthenticatedCaller) -> str:
    """The tenant the request acts for.

    Raises:
        HTTPException: 401 without a key (a public route cannot act for a tenant), 403
            for the admin key.
    """
    if caller is None:
        raise _unauthorized("an API key is required: `Authorization: Bearer <key>`", invalid=False)
    if caller.tenant_id is None:
        raise _forbidden("the admin key manages tenants and keys; use a tenant's key here")
    return caller.tenant_id


TenantId = Annotated[str, Depends(caller_tenant)]


async def link_tenant(
    tenant_id: TenantId, _token: Annotated[str | None, Security(access_token_query)]
) -> str:
    """`caller_tenant`, for routes that also take the key as `?access_token=`."""
    return tenant_id


LinkTenantId = Annotated[str, Depends(link_tenant)]


async def require_admin(caller: AuthenticatedCaller, services: Services) -> None:
    """Only the admin key passes.

    Raises:
        HTTPException: 403 for a tenant's key, or when no admin key is configured.
    """
    if services.settings.admin_api_key is None:
        raise _forbidden(
            "the admin API is off: set CENTRALITA_ADMIN_API_KEY, or manage tenants and keys "
            "with `centralita tenants` and `centralita keys`"
        )
    if caller is None or not caller.admin:
        raise _forbidden("this route needs the admin key")


def document_public_routes(app: FastAPI) -> None:
    """Make the OpenAPI schema say that public operations need no key.

    `authenticate` is a dependency of every route, so FastAPI lists the bearer scheme on
    every operation; a public one must say `security: []` instead, or schema-driven
    clients and checkers would think it ignores a required key.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            for method, path in PUBLIC_ROUTES:
                operation = schema.get("paths", {}).get(path, {}).get(method.lower())
                if operation is not None:
                    operation["security"] = []
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
