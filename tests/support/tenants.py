"""Helpers for the tenant and API-key tests: every route of the app, and a second tenant."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from api.auth import PUBLIC_ROUTES
from centralita.kernel.settings import Settings
from tests.support.servers import AppClients, bearer

ADMIN_KEY = "admin-key-of-the-tenant-tests-0123456789"


@dataclass(frozen=True)
class Route:
    """One method on one path template of the app."""

    method: str
    path: str

    @property
    def params(self) -> list[str]:
        """The path parameters' names, in order."""
        return re.findall(r"{([^}:]+)(?::[^}]*)?}", self.path)

    @property
    def public(self) -> bool:
        """Whether it needs no key."""
        return (self.method, self.path) in PUBLIC_ROUTES

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def app_routes(app: FastAPI) -> list[Route]:
    """Every API route of `app` (routers included lazily are walked too), HEAD left out."""
    found: set[Route] = set()
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if not isinstance(original, APIRoute):
            continue  # the OpenAPI schema and docs: Starlette routes outside the routers
        path = context.path or original.path
        for method in original.methods or ():
            if method != "HEAD":
                found.add(Route(method, path))
    return sorted(found, key=lambda r: (r.path, r.method))


async def new_tenant(admin: httpx.AsyncClient, name: str) -> tuple[str, str]:
    """A tenant made through the admin API and a key of it: (tenant id, key)."""
    tenant = await admin.post("/admin/tenants", json={"name": name})
    assert tenant.status_code == 201, tenant.text
    tenant_id: str = tenant.json()["id"]
    key = await admin.post(f"/admin/tenants/{tenant_id}/api-keys", json={"name": "tests"})
    assert key.status_code == 201, key.text
    return tenant_id, key.json()["key"]


async def other_tenant_client(settings: Settings, clients: AppClients) -> httpx.AsyncClient:
    """An API client of a new tenant, made through the admin API (`settings` must carry
    `ADMIN_KEY` as its admin key): who must see none of the default tenant's rows."""
    admin = await clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, key = await new_tenant(admin, f"otra {uuid.uuid4().hex[:6]}")
    client = await clients.open(settings, tenant_id=None)
    client.headers.update(bearer(key))
    return client
