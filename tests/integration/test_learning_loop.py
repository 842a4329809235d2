"""The reviewed learning loop on the real app and Postgres: proposals from each source,
their review, the lexicon API, the L1 dictionary it yields, and the metrics.

Every expected figure is computed here from the rows the test seeds.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb

from centralita.correction.online import OnlineCorrector
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.learning import metrics
from centralita.learning.dictionary import tenant_dictionary
from centralita.learning.diff import core
from centralita.learning.models import LOW_PROBABILITY
from tests.support.servers import AppClients, free_port, settings_for

pytestmark = pytest.mark.integration

OTHER_TENANT = "00000000-0000-0000-0000-0000000000bb"
METRICS_TENANT = "00000000-0000-0000-0000-0000000000cc"
T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


async def insert_call(
    pool: Pool, tenant_id: str, started_at: datetime, language: str = "es-CL"
) -> str:
    """A stored inbound call; returns its id."""
    call_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO calls (id, tenant_id, direction, status, started_at, metadata) "
            "VALUES (%s, %s, 'inbound', 'ended', %s, %s)",
            (call_id, tenant_id, started_at, Jsonb({"language": language})),
        )
    return call_id


async def insert_correction(pool: Pool, call_id: str, row: dict[str, Any]) -> int:
    """One call_corrections row (keys as the table's columns); returns its id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO call_corrections (call_id, pass, segment_index, word_start, word_end, "
            "level, score, before, after, probability, reverted_at, created_at) "
            "VALUES (%s, 'offline', %s, %s, %s, %s, 0.9, %s, %s, %s, %s, coalesce(%s, now())) "
            "RETURNING id",
            (
                call_id,
                row["segment_index"],
                row["word_start"],
                row["word_start"] + 1,
                row["level"],
                row["before"],
                row["after"],
                row["probability"],
                row.get("reverted_at"),
                row.get("created_at"),
            ),
        )
        found = await cur.fetchone()
    assert found is not None
    return int(found["id"])


async def insert_transcript(
    pool: Pool, call_id: str, texts: list[str], created_at: datetime | None = None
) -> None:
    """The call's corrected transcript, one segment per text."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO transcripts (call_id, kind, language, text, segments, created_at) "
            "VALUES (%s, 'corrected', 'es', %s, %s, coalesce(%s, now()))",
            (
                call_id,
                " ".join(texts),
                Jsonb([{"source": "offline", "text": t} for t in texts]),
                created_at,
            ),
        )


async def insert_tool_call(pool: Pool, call_id: str, seq: int, payload: dict[str, Any]) -> None:
    """A `tool_call` event of the call."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO call_events (call_id, seq, type, payload) "
            "VALUES (%s, %s, 'tool_call', %s)",
            (call_id, seq, Jsonb(payload)),
        )


# -- seed ----------------------------------------------------------------------------------

# (call, segment, word, level, before, after, probability, reverted)
CORRECTIONS = [
    ("a", 0, 1, "L2", "Belasques", "Velázquez", 0.5, False),
    ("a", 0, 3, "L3", "Peres", "Pérez", 0.9, False),  # the recogniser was sure
    ("a", 1, 0, "L1", "loscientos", "doscientos", 0.4, False),  # already a dictionary pair
    ("a", 1, 2, "L2", "gonsales", "González", 0.6, True),  # reviewers undid it
    ("b", 0, 0, "L2", "belasques,", "Velázquez,", 0.7, False),  # the same pair again
    ("b", 0, 2, "L3", "Karen", "Caren", 0.84, False),
    ("x", 0, 0, "L2", "Belasques", "Velázquez", 0.3, False),  # another tenant's call
]
TRANSCRIPTS = {
    "a": ["hablé con Velázquez y Pérez", "son doscientos mil de González"],
    "b": ["Velázquez pagó a Caren"],
}
# (call, seq, payload, is a miss: (term, kind))
TOOL_CALLS: list[tuple[str, int, dict[str, Any], tuple[str, str] | None]] = [
    (
        "a",
        5,
        {
            "name": "lookup_customer",
            "arguments": {"name": "Belasques"},
            "result": {"verified": False},
            "success": True,
        },
        ("Belasques", "person"),
    ),
    (
        "a",
        6,
        {
            "name": "search_products",
            "arguments": {"query": "cuenta vista"},
            "result": {"results": []},
            "success": True,
        },
        ("cuenta vista", "product"),
    ),
    (
        "a",
        7,
        {
            "name": "lookup_customer",
            "arguments": {"name": "Pérez"},
            "result": {"verified": True},
            "success": True,
        },
        None,
    ),
    (
        "b",
        3,
        {
            "name": "search_products",
            "arguments": {"query": "cuenta vista"},
            "result": {"results": []},
            "success": True,
        },
        ("cuenta vista", "product"),
    ),
]


class Seed:
    def __init__(self) -> None:
        self.calls: dict[str, str] = {}
        self.corrections: dict[tuple[str, int, int], int] = {}


@pytest.fixture(scope="module")
async def seed(pool: Pool) -> Seed:
    s = Seed()
    async with pool.connection() as conn:
        for tenant, name in ((OTHER_TENANT, "other"), (METRICS_TENANT, "metrics")):
            await conn.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant, name))
    for label in ("a", "b"):
        s.calls[label] = await insert_call(pool, DEFAULT_TENANT_ID, T0)
    s.calls["x"] = await insert_call(pool, OTHER_TENANT, T0)
    for call, seg, word, level, before, after, prob, reverted in CORRECTIONS:
        row = {
            "segment_index": seg,
            "word_start": word,
            "level": level,
            "before": before,
            "after": after,
            "probability": prob,
            "reverted_at": T0 if reverted else None,
        }
        s.corrections[(call, seg, word)] = await insert_correction(pool, s.calls[call], row)
    for call, texts in TRANSCRIPTS.items():
        await insert_transcript(pool, s.calls[call], texts)
    for call, seq, payload, _ in TOOL_CALLS:
        await insert_tool_call(pool, s.calls[call], seq, payload)
    return s


@pytest.fixture
async def api(app_clients: AppClients, database_url: str, seed: Seed) -> httpx.AsyncClient:
    settings = settings_for(database_url, f"127.0.0.1:{free_port()}")
    client = await app_clients.open(settings)
    response = await client.post("/learning/scan")
    assert response.status_code == 200, response.text
    return client


async def _proposals(api: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await api.get("/learning/proposals", params={"limit": "500", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    items: list[dict[str, Any]] = body["items"]
    return items


def _find(items: list[dict[str, Any]], wrong: str | None, right: str) -> dict[str, Any]:
    key = ((wrong or "").lower(), right.lower())
    (found,) = [p for p in items if ((p["wrong"] or "").lower(), p["right"].lower()) == key]
    return found


# -- sources -------------------------------------------------------------------------------


async def test_low_confidence_fixes_are_counted_once_per_sighting(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for call, _, _, level, before, after, prob, reverted in CORRECTIONS:
        if call == "x" or reverted or level == "L1" or prob >= LOW_PROBABILITY:
            continue
        key = (core(before).lower(), core(after).lower())
        expected[key].add(seed.calls[call])
        counts[key] += 1
    assert (await api.post("/learning/scan")).status_code == 200  # a second scan

    items = await _proposals(api, source="low_confidence_fixed")
    got = {(p["wrong"].lower(), p["right"].lower()): p for p in items}
    assert set(got) == set(expected)
    for key, proposal in got.items():
        assert proposal["kind"] == "dictionary"
        assert proposal["status"] == "pending"
        assert proposal["evidence"]["occurrences"] == counts[key]
        assert set(proposal["evidence"]["calls"]) == expected[key]
        assert proposal["language"] == "es"  # es-CL calls, kept per primary language


async def test_lookups_that_found_nothing_propose_their_term(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    expected: dict[tuple[str, str], list[str]] = defaultdict(list)
    for call, _, _, miss in TOOL_CALLS:
        if miss is not None:
            expected[miss].append(seed.calls[call])
    items = await _proposals(api, source="tool_miss")
    got = {(p["right"], p["entry_kind"]): p for p in items}
    assert set(got) == set(expected)
    for key, proposal in got.items():
        assert proposal["kind"] == "lexicon"
        assert proposal["wrong"] is None
        assert proposal["evidence"]["occurrences"] == len(expected[key])
        assert set(proposal["evidence"]["calls"]) == set(expected[key])


async def test_a_human_edit_proposes_each_changed_word(
    api: httpx.AsyncClient, seed: Seed, pool: Pool
) -> None:
    call = seed.calls["b"]
    edited = "Velázquez pagó a Karen hoy"  # "Caren" -> "Karen"; "hoy" added
    for _ in range(2):
        response = await api.post(
            f"/calls/{call}/transcript-edits",
            json={"segment_index": 0, "text": edited, "editor": "ana"},
        )
        assert response.status_code == 201, response.text
        assert [(p["wrong"], p["right"]) for p in response.json()["pairs"]] == [("Caren", "Karen")]

    (proposal,) = await _proposals(api, source="human_edit")
    assert (proposal["wrong"], proposal["right"], proposal["kind"]) == (
        "Caren",
        "Karen",
        "dictionary",
    )
    assert proposal["evidence"]["occurrences"] == 1  # the same edit twice is one sighting
    assert proposal["evidence"]["examples"] == [edited]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT before_text, edited_text FROM transcript_edits WHERE call_id = %s", (call,)
        )
        rows = await cur.fetchall()
    assert [(r["before_text"], r["edited_text"]) for r in rows] == [
        (TRANSCRIPTS["b"][0], edited)
    ] * 2

    missing = await api.post(
        f"/calls/{call}/transcript-edits", json={"segment_index": 5, "text": "x"}
    )
    assert missing.status_code == 404
    unknown = await api.post(
        f"/calls/{uuid.uuid4()}/transcript-edits", json={"segment_index": 0, "text": "x"}
    )
    assert unknown.status_code == 404
    foreign = await api.post(
        f"/calls/{seed.calls['x']}/transcript-edits", json={"segment_index": 0, "text": "x"}
    )
    assert foreign.status_code == 404


# -- review ---------------------------------------------------------------------------------


async def test_approving_a_pair_makes_it_active_for_level_one(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    proposal = _find(await _proposals(api, source="low_confidence_fixed"), "Belasques", "Velázquez")
    before = OnlineCorrector(await tenant_dictionary(pool, DEFAULT_TENANT_ID, "es-CL"))
    assert before.correct("hablé con belasques hoy").corrections == []  # nothing before review

    response = await api.post(
        f"/learning/proposals/{proposal['id']}/approve", json={"reviewer": "ana"}
    )
    assert response.status_code == 200, response.text
    approved = response.json()
    assert (approved["status"], approved["reviewer"]) == ("approved", "ana")
    assert approved["reviewed_at"] is not None
    assert approved["lexicon_entry_id"] is not None

    rows = (await api.get("/lexicon", params={"kind": "error_pair"})).json()["items"]
    (row,) = [r for r in rows if r["id"] == approved["lexicon_entry_id"]]
    assert (row["wrong"], row["text"], row["source"]) == (
        proposal["wrong"],
        "Velázquez",
        "approved",
    )
    after = OnlineCorrector(await tenant_dictionary(pool, DEFAULT_TENANT_ID, "es"))
    assert after.correct("hablé con belasques hoy").text == "hablé con Velázquez hoy"

    again = await api.post(f"/learning/proposals/{proposal['id']}/approve")
    assert again.status_code == 200
    assert again.json()["reviewer"] == "ana"
    assert (await api.post(f"/learning/proposals/{proposal['id']}/reject")).status_code == 409
    assert (
        await api.patch(f"/learning/proposals/{proposal['id']}", json={"right": "x"})
    ).status_code == 409


async def test_edit_then_reject_leaves_nothing_active(api: httpx.AsyncClient) -> None:
    proposal = _find(await _proposals(api, source="low_confidence_fixed"), "Karen", "Caren")
    edited = await api.patch(f"/learning/proposals/{proposal['id']}", json={"right": "Karem"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["wrong"], edited.json()["right"]) == ("Karen", "Karem")
    assert edited.json()["evidence"] == proposal["evidence"]  # the evidence stays with it

    misses = await _proposals(api, source="tool_miss")
    person = _find(misses, None, "Belasques")
    duplicate = await api.patch(
        f"/learning/proposals/{person['id']}",
        json={"right": "cuenta vista", "entry_kind": "product"},
    )
    assert duplicate.status_code == 409
    no_wrong = await api.patch(f"/learning/proposals/{person['id']}", json={"kind": "dictionary"})
    assert no_wrong.status_code == 422

    rejected = await api.post(
        f"/learning/proposals/{proposal['id']}/reject", json={"reviewer": "luis"}
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert (await api.post(f"/learning/proposals/{proposal['id']}/approve")).status_code == 409
    texts = {
        r["text"] for r in (await api.get("/lexicon", params={"limit": "500"})).json()["items"]
    }
    assert "Karem" not in texts
    assert (await api.post("/learning/proposals/999999/approve")).status_code == 404
    pending = await _proposals(api, status="pending")
    assert proposal["id"] not in {p["id"] for p in pending}


async def test_approving_a_lexicon_term_adds_it_with_its_kind(api: httpx.AsyncClient) -> None:
    term = _find(await _proposals(api, source="tool_miss"), None, "cuenta vista")
    response = await api.post(f"/learning/proposals/{term['id']}/approve")
    assert response.status_code == 200, response.text
    rows = (await api.get("/lexicon", params={"kind": "product"})).json()["items"]
    assert [
        (r["text"], r["wrong"], r["source"])
        for r in rows
        if r["id"] == response.json()["lexicon_entry_id"]
    ] == [("cuenta vista", None, "approved")]


async def test_a_reverted_correction_is_blocked_once_approved(
    api: httpx.AsyncClient, seed: Seed, pool: Pool
) -> None:
    call = seed.calls["a"]
    correction = seed.corrections[("a", 0, 3)]  # Peres -> Pérez
    added = await api.post(
        "/lexicon", json=[{"kind": "error_pair", "text": "Pérez", "wrong": "Peres"}]
    )
    assert added.status_code == 201, added.text
    (pair_row,) = added.json()
    assert (
        OnlineCorrector(await tenant_dictionary(pool, DEFAULT_TENANT_ID, "es"))
        .correct("con Peres")
        .text
        == "con Pérez"
    )

    first = await api.post(
        f"/calls/{call}/corrections/{correction}/revert", json={"reviewer": "ana"}
    )
    assert first.status_code == 200, first.text
    second = await api.post(
        f"/calls/{call}/corrections/{correction}/revert", json={"reviewer": "otro"}
    )
    assert second.json()["reverted_at"] == first.json()["reverted_at"]
    assert second.json()["reverted_by"] == "ana"
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT before, after, reverted_by FROM call_corrections WHERE id = %s", (correction,)
        )
        row = await cur.fetchone()
    assert row is not None
    assert (row["before"], row["after"], row["reverted_by"]) == (
        "Peres",
        "Pérez",
        "ana",
    )

    (block,) = await _proposals(api, source="reverted_correction")
    assert (block["kind"], block["wrong"], block["right"], block["status"]) == (
        "block",
        "Peres",
        "Pérez",
        "pending",
    )
    assert block["evidence"]["occurrences"] == 1
    assert (await api.post(f"/learning/proposals/{block['id']}/approve")).status_code == 200

    active = {r["id"] for r in (await api.get("/lexicon", params={"limit": "500"})).json()["items"]}
    assert pair_row["id"] not in active
    pairs = await tenant_dictionary(pool, DEFAULT_TENANT_ID, "es")
    assert pairs[-1] == ("Peres", "Peres")
    assert OnlineCorrector(pairs).correct("con Peres").corrections == []

    wrong_call = await api.post(f"/calls/{seed.calls['b']}/corrections/{correction}/revert")
    assert wrong_call.status_code == 404


async def test_a_value_postgres_cannot_store_is_a_422_not_a_500(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    # Found by the OpenAPI fuzz test: a NUL byte passes validation and fails in Postgres.
    correction = seed.corrections[("a", 0, 3)]
    refused = await api.post(
        f"/calls/{seed.calls['a']}/corrections/{correction}/revert", json={"reviewer": "a\x00b"}
    )
    assert refused.status_code == 422, refused.text
    assert "NUL" in refused.json()["detail"]


# -- lexicon ---------------------------------------------------------------------------------


async def test_lexicon_add_list_and_deactivate(api: httpx.AsyncClient, pool: Pool) -> None:
    bad = await api.post(
        "/lexicon",
        json=[{"kind": "place", "text": "Ñuñoa"}, {"kind": "error_pair", "text": "saldo"}],
    )
    assert bad.status_code == 422
    texts = {
        r["text"] for r in (await api.get("/lexicon", params={"limit": "500"})).json()["items"]
    }
    assert "Ñuñoa" not in texts  # all or nothing
    added = await api.post(
        "/lexicon", json=[{"kind": "place", "text": "Ñuñoa", "aliases": ["Nunoa"]}]
    )
    assert added.status_code == 201, added.text
    assert sorted((r["text"], r["wrong"] or "") for r in added.json()) == [
        ("Ñuñoa", ""),
        ("Ñuñoa", "Nunoa"),
    ]

    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM lexicon_entries WHERE tenant_id = %s AND active",
            (DEFAULT_TENANT_ID,),
        )
        row = await cur.fetchone()
    assert row is not None
    listed: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = (await api.get("/lexicon", params={"limit": "2", "offset": str(offset)})).json()
        assert page["total"] == row["n"]
        if not page["items"]:
            break
        listed += page["items"]
        offset += 2
    assert len({r["id"] for r in listed}) == row["n"]

    target = added.json()[0]["id"]
    assert (await api.delete(f"/lexicon/{target}")).status_code == 204
    ids = {r["id"] for r in (await api.get("/lexicon", params={"limit": "500"})).json()["items"]}
    assert target not in ids
    assert (await api.delete("/lexicon/99999999")).status_code == 404


# -- metrics ---------------------------------------------------------------------------------


def _day(d: int) -> datetime:
    return datetime(2025, 3, d, 12, 0, tzinfo=UTC)


async def _proposal(pool: Pool, values: dict[str, Any]) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            'INSERT INTO lexicon_proposals (tenant_id, kind, wrong, "right", source, status, '
            "reviewed_at, lexicon_entry_id, created_at) VALUES (%s, %s, %s, %s, 'human_edit', "
            "%s, %s, %s, %s) RETURNING id",
            (
                METRICS_TENANT,
                values["kind"],
                values["wrong"],
                values["right"],
                values["status"],
                values.get("reviewed_at"),
                values.get("entry"),
                values["created_at"],
            ),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def _entry(pool: Pool, kind: str, text: str, wrong: str | None, active: bool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO lexicon_entries (tenant_id, kind, text, wrong, active, source, embedding, "
            "phonetic_key) VALUES (%s, %s, %s, %s, %s, 'approved', %s::vector, 'k') RETURNING id",
            (METRICS_TENANT, kind, text, wrong, active, "[" + ",".join(["0.0625"] * 256) + "]"),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def test_metrics_are_computed_from_the_stored_rows(
    api: httpx.AsyncClient, pool: Pool, seed: Seed
) -> None:
    # Approved entries: (kind, wrong, right, reviewed day, entry still active)
    approved = {
        "salgo": ("dictionary", "salgo", "saldo", 4, True),
        "velazquez": ("lexicon", None, "Velázquez", 5, True),
        "dicon": ("dictionary", "dicon", "Dicom", 12, False),
    }
    ids: dict[str, int] = {}
    for name, (kind, wrong, right, day, active) in approved.items():
        entry = await _entry(pool, "error_pair" if wrong else "person", right, wrong, active)
        ids[name] = await _proposal(
            pool,
            {
                "kind": kind,
                "wrong": wrong,
                "right": right,
                "status": "approved",
                "reviewed_at": _day(day),
                "entry": entry,
                "created_at": _day(1),
            },
        )
    pending = await _proposal(
        pool,
        {
            "kind": "dictionary",
            "wrong": "peres",
            "right": "Pérez",
            "status": "pending",
            "created_at": _day(3),
        },
    )
    quiet = await _proposal(
        pool,
        {
            "kind": "dictionary",
            "wrong": "gonsales",
            "right": "González",
            "status": "pending",
            "created_at": _day(3),
        },
    )
    # Sightings: (proposal, call started day)
    sightings = [(pending, 1), (pending, 10), (pending, 11), (quiet, 2)]
    async with pool.connection() as conn:
        for n, (proposal, day) in enumerate(sightings):
            call = await insert_call(pool, METRICS_TENANT, _day(day))
            await conn.execute(
                "INSERT INTO lexicon_proposal_evidence (proposal_id, occurrence, call_id) "
                "VALUES (%s, %s, %s)",
                (proposal, f"o{n}", call),
            )
    # Corrections: (before, after, created day, reverted)
    corrections = [
        ("salgo", "saldo", 6, False),
        ("Salgo,", "Saldo,", 7, True),
        ("salgo", "saldo", 1, False),  # before the approval
        ("Belasques", "Velázquez", 6, False),
        ("Velasco", "Velázquez", 8, False),
        ("dicon", "Dicom", 13, False),  # its entry is off: no precision for it
    ]
    call = await insert_call(pool, METRICS_TENANT, _day(1))
    for n, (before, after, day, reverted) in enumerate(corrections):
        await insert_correction(
            pool,
            call,
            {
                "segment_index": 0,
                "word_start": n,
                "level": "L2",
                "before": before,
                "after": after,
                "probability": 0.5,
                "reverted_at": _day(day) if reverted else None,
                "created_at": _day(day),
            },
        )
    # Corrected transcripts: (text, written day)
    transcripts = [
        ("tengo un salgo pendiente", 6),
        ("salgo de la casa", 2),  # before the approval
        ("estoy en dicon", 13),
        ("estoy en dicons", 14),  # not the whole word
    ]
    for text, day in transcripts:
        await insert_transcript(
            pool, await insert_call(pool, METRICS_TENANT, _day(day)), [text], _day(day)
        )

    async with pool.connection() as conn:
        got = await metrics.learning_metrics(conn, METRICS_TENANT)

    weeks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kind, _, _, day, _ in approved.values():
        year, week, _ = _day(day).isocalendar()
        weeks[f"{year}-W{week:02d}"][kind] += 1
    assert [(w.week, w.approved, w.by_kind) for w in got.learned_per_week] == [
        (w, sum(k.values()), dict(k)) for w, k in sorted(weeks.items())
    ]

    created = {pending: 3, quiet: 3}
    failing: dict[int, int] = defaultdict(int)
    for proposal, day in sightings:
        if day > created[proposal]:
            failing[proposal] += 1
    assert [(f.proposal_id, f.sightings, f.calls) for f in got.still_failing_pending] == [
        (p, n, n) for p, n in failing.items()
    ]

    still: dict[int, int] = defaultdict(int)
    for name, (kind, wrong, _, day, _) in approved.items():
        for text, written in transcripts:
            if kind == "dictionary" and written > day and wrong in text.split():
                still[ids[name]] += 1
    assert {f.proposal_id: f.calls for f in got.still_failing_approved} == dict(still)

    expected: dict[int, tuple[int, int]] = {}
    for name, (kind, wrong, right, day, active) in approved.items():
        if not active:
            continue
        made = [
            c
            for c in corrections
            if c[2] >= day
            and core(c[1]).lower() == right.lower()
            and (kind == "lexicon" or core(c[0]).lower() == wrong)
        ]
        expected[ids[name]] = (len(made), sum(1 for c in made if not c[3]))
    assert {e.proposal_id: (e.corrections, e.kept) for e in got.precision} == expected
    for e in got.precision:
        assert e.precision == pytest.approx(e.kept / e.corrections)
    assert got.overall_precision == pytest.approx(
        sum(k for _, k in expected.values()) / sum(n for n, _ in expected.values())
    )

    # The route answers the default tenant's figures the same way.
    response = await api.get("/learning/metrics")
    assert response.status_code == 200, response.text
    async with pool.connection() as conn:
        own = await metrics.learning_metrics(conn, DEFAULT_TENANT_ID)
    assert response.json() == own.model_dump(mode="json")
