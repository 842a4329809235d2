"""The word counts the full-text search prunes by (migration 0019's knowledge_terms):
kept right as documents are indexed, re-indexed and deleted, and words that most of a
tenant's chunks hold are left to the vector side."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pytest

from centralita.kernel.db import Pool
from centralita.knowledge.search_store import KnowledgeHit, search
from centralita.knowledge.store import create_document, delete_document, replace_chunks

pytestmark = pytest.mark.integration

MODEL = "test-model"
CHUNKS = [
    "Puede pagar en Servipag con su RUT.",
    "Puede pagar en Caja Vecina con el código 4417.",
    "Puede pagar por transferencia al Banco de Chile.",
    "El convenio se firma por teléfono y llega por correo.",
]


def _vectors(n: int, seed: int = 7) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


async def _tenant(pool: Pool) -> str:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id",
            [f"terms-{uuid.uuid4().hex[:6]}"],
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


async def _index(pool: Pool, tenant: str, texts: list[str]) -> str:
    body = "\n".join(texts).encode()
    async with pool.connection() as conn:
        doc, _ = await create_document(
            conn, tenant, title="FAQ", media_type="text/plain", size_bytes=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
        )  # fmt: skip
        await replace_chunks(
            conn, tenant, doc.id, texts=texts, headings=[None] * len(texts),
            vectors=_vectors(len(texts)), model_id=MODEL,
        )  # fmt: skip
    return doc.id


async def _counts(pool: Pool, tenant: str) -> dict[str, int]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT word, chunks FROM knowledge_terms WHERE tenant_id = %s AND chunks > 0",
            [tenant],
        )
        return {str(r["word"]): int(r["chunks"]) for r in await cur.fetchall()}


async def test_counts_follow_indexing_reindexing_and_deleting(pool: Pool) -> None:
    tenant, other = await _tenant(pool), await _tenant(pool)
    doc = await _index(pool, tenant, CHUNKS)
    await _index(pool, other, CHUNKS[:1])
    counts = await _counts(pool, tenant)
    assert counts["pagar"] == 3
    assert counts["servipag"] == 1
    assert counts["convenio"] == 1
    assert "de" not in counts  # a stop word is no word of the index

    async with pool.connection() as conn:  # re-indexed with two chunks only
        await replace_chunks(
            conn, tenant, doc, texts=CHUNKS[:2], headings=[None, None],
            vectors=_vectors(2), model_id=MODEL,
        )  # fmt: skip
    counts = await _counts(pool, tenant)
    assert counts["pagar"] == 2
    assert "convenio" not in counts

    async with pool.connection() as conn:
        assert await delete_document(conn, tenant, doc)
    assert await _counts(pool, tenant) == {}
    assert (await _counts(pool, other))["servipag"] == 1  # another tenant's are its own


async def test_words_most_chunks_hold_are_left_to_the_vectors(pool: Pool) -> None:
    tenant = await _tenant(pool)
    await _index(pool, tenant, CHUNKS)
    away = -_vectors(1, seed=99)[0]  # a question vector near none of the chunks

    async def ask(question: str, most: int) -> list[KnowledgeHit]:
        return await search(pool, tenant, question, away, model_id=MODEL, max_term_chunks=most)

    common, rare, every = (
        await ask("¿puedo pagar?", 2),
        await ask("¿pagar en servipag?", 2),
        (await ask("¿puedo pagar?", 3)),
    )

    assert all(hit.text_rank is None for hit in common)  # "pagar" is in 3 chunks of 4
    assert [hit.text for hit in rare if hit.text_rank == 1] == [CHUNKS[0]]
    assert sum(hit.text_rank is not None for hit in every) == 3
