"""Schemathesis against the API's own OpenAPI document: no 5xx, only documented statuses,
documented content types, bodies that match their response schemas.

The real app runs in-process over ASGI (Schemathesis' own client: its event loop, the
app's lifespan) on real Postgres and the Temporal dev server, with a tenant's API key.
No worker serves its task queues and nobody listens at the media worker's address:
every route must still answer, quickly, with a documented status. Seeded rows (stored
calls with a corrected transcript, a campaign with contacts, webhooks with a delivery,
an opt-out, a lexicon entry, learning proposals, a re-analysis) give path parameters
existing ids to pick, and a few operations a valid body to send, so that operations
are exercised past their 404s and 422s; the last test checks that they were.

Bounded: a fixed seed, 20 generated examples per operation (plus Schemathesis' coverage
cases), no shrinking, no example database.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, TypeAlias

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.routes import campaign_controls, reanalysis
from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from tests.support.fuzz_seed import (
    FUZZ_CARRIER_ACCOUNT_ID,
    FUZZ_OPERATOR_ID,
    Seeded,
    fuzz_agent,
    seed_world,
)
from tests.support.servers import AppClients, api_key_for, bearer, free_port, settings_for

pytestmark = pytest.mark.integration

Case: TypeAlias = "schemathesis.Case[Any]"

BASE_URL = f"http://{asgi.HOST}"
ADMIN_KEY = f"fuzz-admin-{uuid.uuid4().hex}"

# What this test asks; other checks (negative-data rejection, auth probes...) are other
# questions. A documented 5xx (502: the media worker is unreachable, 503: Temporal or a
# worker is) is an answer, not a crash: status_code_conformance fails undocumented ones.
_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
_ANSWERS_NOT_CRASHES = ["2xx", "3xx", "4xx", "502", "503"]

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 82025,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {
            "mode": "all",  # valid and invalid inputs
            "max-examples": 20,
            "no-shrink": True,
            "database": "none",
            # The key is the session's; generated credentials would only test the 401.
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            **{name: {"enabled": True} for name in _CHECKS},
            "not_a_server_error": {"expected-statuses": _ANSWERS_NOT_CRASHES},
        },
        "request-timeout": 20,
        "operations": [
            # A live stream waits for its call to start: read what came in a short while.
            {"include-path": "/calls/{call_key}/events", "request-timeout": 0.5},
            # An operator's queue stream never ends: its first snapshot is what is judged.
            {"include-path": "/operators/{operator_id}/events", "request-timeout": 0.5},
        ],
    }
)

schema = schemathesis.openapi.from_dict(
    create_app(Settings(_env_file=None)).openapi(), config=CONFIG
)

# Filled by the `seeded` fixture before the first case is generated.
SEEDED = Seeded()

# Valid JSON bodies for operations where chance rarely makes one, so that they run past
# their 422 too: each case is the generated one, or this body sent to existing ids.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/campaigns"): {
        "name": "fuzz",
        "contacts": [{"name": "Ana", "phone": "+56961234567"}],
        "start": False,
    },
    ("PATCH", "/campaigns/{campaign_id}"): {"concurrency": 2},
    ("POST", "/webhooks"): {"url": "http://127.0.0.1:9/hook"},
    ("POST", "/opt-outs"): {"phone": "+56922334455"},
    ("POST", "/calls/{call_id}/transcript-edits"): {"segment_index": 0, "text": "el banco sur"},
    ("PATCH", "/learning/proposals/{proposal_id}"): {"right": "jueves"},
    ("PUT", "/agents/{agent_name}"): fuzz_agent(),
    ("POST", "/carrier-accounts"): {
        "carrier": "twilio",
        "name": "fuzz",  # 201 once, 409 after
        "account_sid": "AC" + "0" * 32,
        "auth_token": "fuzz-token-0123456789abcdef",
    },
    ("POST", "/phone-numbers"): {
        "number": "+56229990003",  # 201 once, 409 after
        "carrier_account_id": FUZZ_CARRIER_ACCOUNT_ID,
        "agent": "cobranza-temprana",
    },
    ("PUT", "/phone-numbers/{phone_number}"): {
        "carrier_account_id": FUZZ_CARRIER_ACCOUNT_ID,
        "agent": "cobranza-temprana",
    },
    ("POST", "/whatsapp-senders"): {
        "provider": "meta",
        "name": "fuzz: meta",  # 201 once, 409 after
        "phone_number_id": "106540352242922",
        "access_token": "fuzz-meta-access-token-0123",
        "app_secret": "fuzz-meta-app-secret-0123",
        "verify_token": "fuzz-meta-verify-token-0123",
    },
    ("PATCH", "/whatsapp-senders/{sender_id}"): {"payment_link_tool": "crear_link_pago"},
    ("POST", "/tools"): {  # 201 once, 409 after
        "name": "fuzz_consulta",
        "description": "fuzz",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        "url": "http://127.0.0.1:9/tool",
    },
    ("PUT", "/tools/{tool_name}"): {
        "name": "fuzz_tool",
        "description": "fuzz, replaced",
        "url": "http://127.0.0.1:9/tool",
    },
    ("POST", "/mcp-servers"): {  # 201 once, 409 after
        "name": "fuzzmcp",
        "url": "http://127.0.0.1:9/mcp",
        "allowed_tools": ["lookup"],
        "token": "fuzz-mcp-token-0123",
    },
    ("POST", "/operators/sign-in"): {"name": "fuzz: firma", "queues": ["default"]},
    ("PUT", "/operators/{operator_id}/status"): {"status": "available"},
    ("POST", "/operators/{operator_id}/answer"): {"sdp": "v=0", "type": "offer"},  # 502: no media
    ("POST", "/handoffs/{handoff_id}/wrap-up"): {
        "operator_id": FUZZ_OPERATOR_ID,
        "disposition": "resolved",
    },
    ("POST", "/human-callbacks/{callback_id}/done"): {  # 200 once, 409 after
        "operator_id": FUZZ_OPERATOR_ID,
        "disposition": "callback",
    },
    ("POST", "/payments"): {  # stored once; the same report again is the same payment
        "reference": "fuzz-pago-1",
        "phone": "+56961234567",
        "amount": 1000,
        "currency": "CLP",
        "paid_on": "2026-11-27",
    },
}

# Status counts per operation, for the last test.
ANSWERS: dict[str, Counter[int]] = {}


@schema.hook
def flatmap_path_parameters(
    context: Any, path_parameters: dict[str, Any] | None
) -> SearchStrategy[dict[str, Any] | None]:
    """The generated parameters, or the same with an existing id put in."""
    if not path_parameters:
        return st.just(path_parameters)
    seeded = {name: SEEDED.values(context.operation.method, name) for name in path_parameters}
    variants = [
        {**path_parameters, name: value} for name, values in seeded.items() for value in values
    ]
    if len(seeded) > 1 and all(seeded.values()):
        # Ids that belong together (a call and its correction) come first in each list.
        variants.append({name: values[0] for name, values in seeded.items()})
    return st.sampled_from([path_parameters, *variants])


@schema.hook
def flatmap_case(context: Any, case: Case) -> SearchStrategy[Case]:
    """The generated case, or a valid request: a valid JSON body, sent to existing ids."""
    valid = VALID_BODIES.get((case.method.upper(), case.operation.path))
    if valid is None:
        return st.just(case)
    existing = {
        name: SEEDED.values(case.method, name)[:1] or [value]
        for name, value in (case.path_parameters or {}).items()
    }
    with_valid_body = case.operation.Case(
        path_parameters={name: values[0] for name, values in existing.items()},
        query=case.query,
        body=valid,
        media_type="application/json",
    )
    return st.sampled_from([case, with_valid_body])


@schema.hook
def after_call(context: Any, case: Case, response: schemathesis.Response) -> None:
    """Count the answer."""
    ANSWERS.setdefault(case.operation.label, Counter())[response.status_code] += 1


def _address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@pytest.fixture(scope="module")
def fuzz_settings(database_url: str, dev_env: WorkflowEnvironment) -> Settings:
    nobody = f"fuzz-no-worker-{uuid.uuid4().hex[:8]}"
    return settings_for(
        database_url,
        _address(dev_env),
        task_queue=nobody,
        post_call_task_queue=nobody,
        webhook_task_queue=nobody,
        carrier_url=f"http://127.0.0.1:{free_port()}",  # no media worker listens there
        webhook_allow_hosts=["127.0.0.1"],  # test deliveries are refused at once
        webhook_timeout_s=2.0,
        admin_api_key=ADMIN_KEY,
        # Rate limits have their own tests; here they would only turn creations into 429s.
        campaign_create_burst=10_000,
        csv_upload_burst=10_000,
    )


@pytest.fixture(scope="module")
async def seeded(pool: Pool, fuzz_settings: Settings) -> Seeded:
    clients = AppClients()
    try:
        api = await clients.open(fuzz_settings)
        found = await seed_world(pool, api, f"http://127.0.0.1:{free_port()}/hook")
    finally:
        await clients.aclose()
    SEEDED.ids, SEEDED.victims = found.ids, found.victims
    return found


@pytest.fixture(scope="module")
async def api_key(database_url: str) -> str:
    return await api_key_for(database_url)


@pytest.fixture(scope="module")
def fuzz_client(
    fuzz_settings: Settings, seeded: Seeded, api_key: str
) -> Iterator[requests.Session]:
    """A client on a fresh app, its lifespan run in Schemathesis' event loop."""
    app: Any = create_app(fuzz_settings)  # an ASGI app, as Schemathesis' client takes it
    with pytest.MonkeyPatch.context() as patch:
        # No worker answers a re-analysis' progress query or takes a campaign's policy
        # edit here: half a second shows their 503 as well as the 10 s a worker is given.
        patch.setattr(reanalysis, "_QUERY_TIMEOUT", timedelta(seconds=0.5))
        patch.setattr(campaign_controls, "UPDATE_TIMEOUT", timedelta(seconds=0.5))
        with asgi.get_client(app) as client:
            client.headers.update(bearer(api_key))
            yield client
        asgi.shutdown_lifespans()


def _for_admin(case: Case) -> bool:
    # Tenants, keys and the purge answer the admin key only (a tenant's key gets 403).
    path: str = case.operation.path
    return path.startswith("/admin/") or path == "/retention/purge"


@schema.parametrize()
def test_operation_honours_its_schema(case: Case, fuzz_client: requests.Session) -> None:
    admin = bearer(ADMIN_KEY) if _for_admin(case) else None
    case.call_and_validate(session=fuzz_client, base_url=BASE_URL, headers=admin)


def test_a_time_of_day_with_an_offset_is_refused(fuzz_client: requests.Session) -> None:
    # Once a 500 that stayed: the campaign was stored, and every listing failed after it.
    body: dict[str, Any] = {
        "name": "offset",
        "contacts": [{"name": "Ana", "phone": "+56961234567"}],
        "policy": {"schedule": {"batch_slots": ["09:00+03:00"]}},
        "start": False,
    }
    refused = fuzz_client.post("/campaigns", json=body)
    assert refused.status_code == 422, refused.text
    assert "UTC offset" in refused.text
    assert fuzz_client.get("/campaigns").status_code == 200


def test_a_body_that_is_not_utf8_is_a_documented_400(fuzz_client: requests.Session) -> None:
    not_utf8 = b'{"phone": "\xff"}'
    response = fuzz_client.post(
        "/opt-outs", data=not_utf8, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    documented = schema.raw_schema["paths"]["/opt-outs"]["post"]["responses"]
    assert "400" in documented


# Statuses that say the request was refused before the operation did its work.
_REFUSALS = {400, 401, 403, 404, 405, 413, 415, 422}
# Operations that work only for a request signed with a provider's secret, which no
# generated case can carry: their 403 is the answer here; the signed requests are
# tests/integration/test_whatsapp_payment_link.py's.
_SIGNED_BY_PROVIDERS = {
    "POST /messaging/twilio/status/{sender_id}",
    "GET /messaging/meta/webhook/{sender_id}",
    "POST /messaging/meta/webhook/{sender_id}",
}


def test_every_operation_was_exercised_past_its_refusals() -> None:
    """Each operation the fuzz test ran answered something else than a refusal at least
    once: the seeds and valid bodies did their job."""
    summary = "\n".join(
        f"{sum(codes.values()):4d} {label}: {dict(sorted(codes.items()))}"
        for label, codes in sorted(ANSWERS.items())
    )
    print(f"\n{summary}\n{sum(sum(c.values()) for c in ANSWERS.values())} requests")
    only_refused = [
        label
        for label, codes in ANSWERS.items()
        if set(codes) <= _REFUSALS and label not in _SIGNED_BY_PROVIDERS
    ]
    assert not only_refused, f"never past a refusal: {only_refused}\n{summary}"
