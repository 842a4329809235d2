"""`centralita demo`: a small Spanish collections campaign, end to end, on the embedded stack.

It creates the campaign through the real API, follows it while real Temporal workflows
dial the simulated carrier's personas, then prints one line per contact, the latency
percentiles of the conversations held, and where to see every workflow in the Temporal UI.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any, TextIO
from urllib.parse import quote

import httpx

from centralita.kernel.privacy import mask_phone
from centralita.kernel.settings import Settings
from centralita.tenants.dev_key import dev_key_path, read_dev_key

# María's instalment fell due last week, whatever day the demo runs: the early-collections
# flow reminds of an overdue one ("que venció el …"); a fixed date read "venció" for a
# day still to come once the demo ran before it.
_DUE_LAST_WEEK = (date.today() - timedelta(days=5)).isoformat()

# Personas behind these numbers live in realtime/personas/demo_es.json.
DEMO_CONTACTS: list[dict[str, Any]] = [
    {
        "name": "María González",
        "phone": "+56 9 6123 4567",
        "external_id": "CL-0001",
        "segment": "temprana",
        # María's number is answered by a bot softphone: a real WebRTC conversation
        # with the cobranza-temprana flow (realtime/personas/demo_es.json).
        "variables": {"nombre": "María", "monto_total": 200000, "fecha_limite": _DUE_LAST_WEEK},
    },
    {
        "name": "Juan Pérez",
        "phone": "+56 9 7234 5678",
        "external_id": "CL-0002",
        "segment": "tardia",
        "variables": {"nombre": "Juan", "monto_total": 350000, "RUT": "12.345.678-5"},
    },
    {
        "name": "Carmen Ruiz",
        "phone": "+34 612 34 56 78",
        "external_id": "ES-0001",
        "segment": "temprana",
        "variables": {"nombre": "Carmen", "monto_total": 150},
    },
    {
        "name": "Pedro Soto",
        "phone": "+56 2 2345 6789",
        "external_id": "CL-0003",
        "segment": "grave",
        "variables": {"nombre": "Pedro", "monto_total": 990000},
    },
    {
        "name": "Lucía Fernández",
        "phone": "+34 699 12 34 56",
        "try_phones": ["+34 911 23 45 67"],
        "external_id": "ES-0002",
        "segment": "tardia",
        "variables": {"nombre": "Lucía", "monto_total": 420},
    },
    {
        "name": "Andrés Muñoz",
        "phone": "+56 9 8765 4321",
        "external_id": "CL-0004",
        "segment": "temprana",
        "variables": {"nombre": "Andrés", "monto_total": 80000},
    },
    {
        # Deliberately broken: shows a rejected row instead of a silently dropped one.
        "name": "Número mal escrito",
        "phone": "+56 12",
        "external_id": "CL-0005",
    },
]

# Short delays so the demo's retries happen in seconds, not hours, and a schedule that
# is open whenever you run it (real campaigns keep the legal profiles and batch slots).
DEMO_POLICY: dict[str, Any] = {
    "profile": "unrestricted",
    "schedule": {
        "timezone": "America/Santiago",
        "batch_slots": ["00:00"],
        "window_end": "00:00",
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "daily_quota": 100,
    },
    "caps": {"max_attempts": 3, "calls_per_day": 3},
    "retry": {
        "no_answer_seconds": 2,
        "busy_seconds": 2,
        "voicemail_seconds": 2,
        "failure_seconds": 1,
    },
    "concurrency": 4,
}


class DemoError(RuntimeError):
    """The demo campaign could not be created or did not finish in time."""


async def run_demo(
    settings: Settings, out: TextIO, *, timeout_s: float = 180.0, api_key: str | None = None
) -> int:
    """Create the demo campaign via the API, follow it to the end, print the summary.

    Args:
        api_key: the key to call the API with; unset: the stack's development key,
            read from `HOME/dev-api-key`.

    Returns:
        The process exit code (0 when the campaign completed).

    Raises:
        DemoError: no key, the campaign could not be created, or it did not finish.
    """
    key = api_key or read_dev_key(settings.home.resolve())
    if key is None:
        raise DemoError(f"no API key: {dev_key_path(settings.home.resolve())} is missing")
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=30.0, headers=headers) as api:
        created = await _create_campaign(api)
        campaign = created["campaign"]
        print(f"\nCampaign {campaign['name']!r} created: {campaign['id']}", file=out)
        print(f"  {created['accepted']} contacts accepted", file=out)
        for rejected in created["rejected"]:
            print(f"  row {rejected['row']} rejected: {rejected['reason']}", file=out)
        if not created["started"]:
            raise DemoError(f"campaign stored but not started: {created['start_error']}")
        print("\nDialling (simulated carrier, real Temporal workflows):", file=out)
        contacts = await _follow(api, campaign["id"], out, timeout_s)
        latency = await _latency(api, campaign["id"])
        _print_summary(contacts, out)
        print("", file=out)
        for line in latency_lines(latency):
            print(line, file=out)
        await _print_post_call(api, contacts, out, POST_CALL_WAIT_S)
    _print_links(settings, campaign, out)
    return 0


# Re-transcription loads Whisper and decodes with beam search: tens of seconds a call.
POST_CALL_WAIT_S = 120.0


async def _print_post_call(
    api: httpx.AsyncClient, contacts: list[dict[str, Any]], out: TextIO, wait_s: float
) -> None:
    """What the post-call worker made of each conversation (it runs after the campaign)."""
    held: list[tuple[str, str]] = []
    for contact in contacts:
        for attempt in contact["attempts"]:
            found = await api.get(f"/calls/by-attempt/{quote(attempt['attempt_key'])}")
            if found.status_code == 200:
                held.append((contact["name"], found.json()["id"]))
    if not held:
        return
    print(
        "\nAfter the call (re-transcribed, corrected and analysed by the post-call worker):",
        file=out,
    )
    deadline = time.monotonic() + wait_s
    for name, call_id in held:
        detail = await _analysed(api, call_id, deadline)
        if detail is None:
            print(f"  {name:<18} still being analysed (workflow postcall-...)", file=out)
            continue
        for line in post_call_lines(name, detail):
            print(line, file=out)


async def _analysed(api: httpx.AsyncClient, call_id: str, deadline: float) -> dict[str, Any] | None:
    while True:
        detail: dict[str, Any] = (await api.get(f"/calls/{call_id}")).json()
        if detail.get("analysis") is not None or time.monotonic() > deadline:
            return detail if detail.get("analysis") is not None else None
        await asyncio.sleep(1.0)


def post_call_lines(name: str, detail: dict[str, Any]) -> list[str]:
    """One conversation's post-call analysis, as the demo prints it.

    Args:
        name: the contact's name.
        detail: the body of `GET /calls/{id}` once its `analysis` is there.
    """
    analysis = detail["analysis"]
    promise = analysis["variables"]
    said = (
        f" · promised {promise['promised_amount']:,} {promise['promised_currency'] or ''}".rstrip()
        if promise.get("promised_amount") is not None
        else ""
    )
    if promise.get("promised_date"):
        said += f" on {promise['promised_date']}"
    fixed = [c for c in detail["corrections"] if not c["reverted"]]
    return [
        f"  {name:<18} {analysis['intent']['intent']}{said} · "
        f"{_count(len(fixed), 'correction')} · quality {analysis['quality']['score']:.2f}",
        f"  {'':<18} {analysis['summary']}",
    ]


async def _create_campaign(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post(
        "/campaigns",
        json={
            "name": "Demo cobranza (CL/ES)",
            "policy": DEMO_POLICY,
            "contacts": DEMO_CONTACTS,
        },
    )
    if response.status_code != 201:
        raise DemoError(f"POST /campaigns answered {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


async def _follow(
    api: httpx.AsyncClient, campaign_id: str, out: TextIO, timeout_s: float
) -> list[dict[str, Any]]:
    """Poll the API, printing each attempt once as it ends, until the campaign completes."""
    started = time.monotonic()
    printed: set[str] = set()
    while True:
        contacts = (await api.get(f"/campaigns/{campaign_id}/contacts")).json()
        for contact in contacts:
            for attempt in contact["attempts"]:
                if attempt["outcome"] is None or attempt["attempt_key"] in printed:
                    continue
                printed.add(attempt["attempt_key"])
                print(
                    f"  [{time.monotonic() - started:5.1f}s] {contact['name']:<18} "
                    f"attempt {attempt['attempt_number']} to {mask_phone(attempt['phone'])}: "
                    f"{attempt['outcome']}",
                    file=out,
                )
        status = (await api.get(f"/campaigns/{campaign_id}")).json()["status"]
        if status in {"completed", "cancelled", "failed"}:
            return list(contacts)
        if time.monotonic() - started > timeout_s:
            raise DemoError(f"campaign still {status!r} after {timeout_s:.0f}s")
        await asyncio.sleep(0.5)


async def _latency(api: httpx.AsyncClient, campaign_id: str) -> dict[str, Any]:
    response = await api.get(f"/campaigns/{campaign_id}/latency")
    if response.status_code != 200:
        raise DemoError(f"GET latency answered {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def latency_lines(latency: dict[str, Any]) -> list[str]:
    """The latency of the campaign's conversations, as printed after the summary.

    Args:
        latency: the body of `GET /campaigns/{id}/latency`.
    """
    v2v = latency["voice_to_voice"]
    if not latency["calls"]:
        return ["Latency: no conversation was held, so there is no latency to report."]
    if not v2v["samples"]:
        return [
            f"Latency: {_count(latency['calls'], 'conversation')} held, "
            "but no turn had a voice-to-voice figure."
        ]
    p50 = latency["p50"]
    parts = " · ".join(
        f"{label} {_ms(p50[key])}"
        for label, key in [
            ("endpointing", "endpointing_ms"),
            ("STT", "stt_ms"),
            ("brain", "brain_ms"),
            ("TTS first audio", "tts_first_audio_ms"),
        ]
    )
    return [
        f"Voice-to-voice latency ({_count(v2v['samples'], 'turn')} over "
        f"{_count(latency['calls'], 'call')}): p50 {_ms(v2v['p50_ms'])} · "
        f"p95 {_ms(v2v['p95_ms'])} · max {_ms(v2v['max_ms'])}",
        f"  p50 by part: {parts}",
    ]


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    # A rule-based brain answers in well under a millisecond: "0 ms" would hide it.
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _print_summary(contacts: list[dict[str, Any]], out: TextIO) -> None:
    header = f"{'contact':<18} {'phone':<14} {'attempts':>8}  {'state':<10} outcome"
    print(f"\nSummary\n{header}\n{'-' * len(header)}", file=out)
    for c in contacts:
        phone = mask_phone(c["last_phone_tried"] or c["phones"][0])
        print(
            f"{c['name']:<18} {phone:<14} {c['attempts_count']:>8}  {c['state']:<10} "
            f"{c['outcome'] or '-'}",
            file=out,
        )


def _print_links(settings: Settings, campaign: dict[str, Any], out: TextIO) -> None:
    query = quote(f'WorkflowId STARTS_WITH "{campaign["workflow_id"]}"')
    ui = settings.temporal_ui_namespace_url
    print(
        f"\nEvery workflow of this demo in the Temporal UI:\n  {ui}/workflows?query={query}",
        file=out,
    )
    print(f"The campaign workflow:\n  {campaign['temporal_ui_url']}", file=out)
