"""A tenant's own payment service on loopback: the HTTP tool that creates payment links.

It answers our signed tool POSTs (`centralita.actions.http_caller`: Standard Webhooks
signature with the tool's secret, ``{"tool", "call_key", "arguments"}``) with a link
``{"id", "url", "status"}``, as a tenant's service would; an unsigned or badly signed
request is refused (401), and `fail` makes it answer 500.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from centralita.actions.http_caller import call_http_tool
from centralita.actions.models import HttpToolConfig
from centralita.webhooks.signing import new_secret, verify
from realtime.agents.external_tools import ExternalTool, ExternalTools
from tests.support.fakes.loopback import LoopbackServer

LINK_TOOL = "crear_link_pago"
LINK_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "currency": {"type": "string"},
        "reference": {"type": "string"},
        "phone": {"type": "string"},
        "name": {"type": "string"},
    },
    "required": ["phone"],
}


class PaymentService(LoopbackServer):
    """`async with PaymentService() as service:` creates links at `origin`/links."""

    def __init__(self) -> None:
        super().__init__()
        self.secret = new_secret()
        self.requests: list[dict[str, Any]] = []
        self.fail = False
        self.app.post("/links")(self._create)

    async def _create(self, request: Request) -> Response:
        body = await request.body()
        try:
            verify(self.secret, dict(request.headers), body)
        except ValueError:  # InvalidSignature is one: any failed check is a refusal
            return JSONResponse({"error": "unsigned"}, status_code=401)
        if self.fail:
            return JSONResponse({"error": "gateway down"}, status_code=500)
        sent = json.loads(body)
        self.requests.append(sent)
        link_id = "pl_" + secrets.token_hex(6)
        return JSONResponse(
            {"id": link_id, "url": f"https://pagos.example.cl/l/{link_id}", "status": "open"}
        )

    def tools(self, call_key: str) -> ExternalTools:
        """A call's tenant tools holding this service's link tool (HTTP, signed)."""
        config = HttpToolConfig(
            name=LINK_TOOL,
            description="Crea un link de pago",
            parameters=LINK_PARAMETERS,
            url=f"{self.origin}/links",
            timeout_ms=5000,
            waiting_line=None,
            failure_line=None,
            secret=self.secret,
        )

        async def run(arguments: dict[str, Any]) -> Any:
            return await call_http_tool(
                config, arguments, call_key=call_key, allow_hosts=["127.0.0.1"]
            )

        tool = ExternalTool(
            name=LINK_TOOL,
            kind="http",
            description=config.description,
            parameters=LINK_PARAMETERS,
            waiting_line="Un momento.",
            failure_line="No pude crear el link.",
            timeout_s=5.0,
            run=run,
        )
        return ExternalTools([tool], call_key=call_key)
