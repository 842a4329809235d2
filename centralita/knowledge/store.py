"""A tenant's knowledge base in Postgres: documents, their chunks, and the hybrid search.

The search runs two retrievals in one statement and fuses them by rank (reciprocal rank
fusion, RRF): the chunks nearest the question's vector (pgvector HNSW, cosine) and the
chunks best matching its words (the GIN index on ``search_text``, any word counting, as a
spoken question's words rarely all appear in the answer). Vectors carry meaning across
wording and languages; words catch what vectors miss: codes, product and company names.
RRF needs no calibration between a cosine distance and a text rank, only the two orders.

Every statement filters on the tenant inside the SQL (never on rows after they are read),
so no query can return another tenant's chunk. The vector side also filters on the
embedding model: vectors of two models live in different spaces and never mix.

``hnsw.ef_search`` and ``hnsw.iterative_scan`` are set per query inside its transaction
(``set_config(..., true)``), as in `centralita.correction.store`: with the iterative scan
(pgvector 0.8+, which the project requires) the index walk goes on until enough rows pass
the tenant and model filters, rather than returning fewer when other tenants' chunks
crowd the nearest candidates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from psycopg.rows import DictRow

from centralita.kernel.db import Conn, Pool

DocumentStatus = Literal["pending", "indexing", "ready", "failed"]

# knowledge_chunks.embedding is vector(384): multilingual-e5-small's width.
EMBEDDING_DIMENSIONS: Final = 384
# Candidates each side brings to the fusion; the HNSW walk keeps at least as many.
DEFAULT_CANDIDATES: Final = 40
DEFAULT_EF_SEARCH: Final = 40
# The full-text side leaves out words more of the tenant's chunks hold than this: they
# tell chunks apart least, and ranking all their chunks is what made a 100k-chunk
# tenant's search slow. A small tenant keeps every word.
MAX_TERM_CHUNKS: Final = 2000
# RRF's constant (Cormack et al. 2009): rank r scores 1 / (60 + r) on each side.
RRF_K: Final = 60


class DocumentNotFoundError(LookupError):
    """No such document for this tenant (another tenant's document is not found either)."""


@dataclass(frozen=True)
class KnowledgeDocument:
    """One uploaded document and where its indexing stands."""

    id: str
    tenant_id: str
    title: str
    filename: str | None
    media_type: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    error: str | None
    chunk_count: int
    embedding_model: str | None
    page_count: int | None
    section_count: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class KnowledgeHit:
    """One chunk the search found, with its fused score and its rank on each side.

    A rank is 1-based; None when that side did not bring the chunk among its candidates.
    """

    chunk_id: int
    document_id: str
    title: str
    heading: str | None
    text: str
    ordinal: int
    score: float
    vector_rank: int | None
    text_rank: int | None
    # cosine similarity of the chunk to the question (e5's crowd between ~0.7 and ~0.9,
    # so a threshold is the model's own); None when only the full-text side brought it
    similarity: float | None = None


_DOC_COLUMNS: Final = (
    "id::text AS id, tenant_id::text AS tenant_id, title, filename, media_type, size_bytes, "
    "sha256, status, error, chunk_count, embedding_model, page_count, section_count, "
    "created_at, updated_at"
)

_INSERT_DOCUMENT: Final = f"""
INSERT INTO knowledge_documents
    (tenant_id, title, filename, media_type, size_bytes, sha256, page_count, section_count)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (tenant_id, sha256) DO NOTHING
RETURNING {_DOC_COLUMNS}
"""

_SEARCH: Final = """
WITH words AS MATERIALIZED (
    -- the question's words (folded, stop words out), computed once: to_tsvector is only
    -- STABLE, and inside a filter it was run again for every row of knowledge_terms
    SELECT DISTINCT word FROM unnest(tsvector_to_array(
        to_tsvector('knowledge_text'::regconfig, knowledge_fold(%(text)s)))) AS word
),
question AS MATERIALIZED (
    -- those that some of the tenant's chunks hold, but not too many (knowledge_terms,
    -- migration 0019), joined with OR; looked up by key, once (not once per chunk)
    SELECT to_tsquery('simple', string_agg(quote_literal(t.word), ' | ')) AS query
    FROM knowledge_terms t
    WHERE t.tenant_id = %(tenant)s AND t.word = ANY (ARRAY(SELECT word FROM words))
      AND t.chunks BETWEEN 1 AND %(max_term_chunks)s
),
by_vector AS (
    SELECT id, 1 - distance AS similarity, row_number() OVER (ORDER BY distance, id) AS rank
    FROM (
        SELECT id, embedding <=> %(vector)s::vector AS distance
        FROM knowledge_chunks
        WHERE tenant_id = %(tenant)s AND embedding_model = %(model)s
        ORDER BY embedding <=> %(vector)s::vector
        LIMIT %(candidates)s
    ) nearest
),
by_text AS (
    SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank
    FROM (
        SELECT c.id, ts_rank('{0.1, 0.2, 0.4, 0.5}', c.search_text, question.query, 1) AS score
        FROM knowledge_chunks c, question
        WHERE c.tenant_id = %(tenant)s AND c.embedding_model = %(model)s
          AND c.search_text @@ question.query
        ORDER BY score DESC
        LIMIT %(candidates)s
    ) best
),
fused AS (
    SELECT id, by_vector.rank AS vector_rank, by_text.rank AS text_rank, by_vector.similarity,
           coalesce(1.0 / (%(rrf)s + by_vector.rank), 0)
           + coalesce(1.0 / (%(rrf)s + by_text.rank), 0) AS score
    FROM by_vector FULL JOIN by_text USING (id)
),
best AS (
    -- an exact tie (one side's first is the other's second) goes to the vector side
    SELECT * FROM fused ORDER BY score DESC, vector_rank NULLS LAST, id LIMIT %(k)s
)
-- The chunks are fetched by primary key from the ids in hand (= ANY of an array): a plain
-- join let the planner, misled by estimates, scan all of the tenant's chunks instead.
SELECT c.id AS chunk_id, c.document_id::text AS document_id, d.title, c.heading, c.text,
       c.ordinal, b.score, b.vector_rank, b.text_rank, b.similarity
FROM knowledge_chunks c
JOIN best b ON b.id = c.id
JOIN knowledge_documents d ON d.id = c.document_id AND d.tenant_id = %(tenant)s
WHERE c.id = ANY (ARRAY(SELECT id FROM best)) AND c.tenant_id = %(tenant)s
ORDER BY b.score DESC, b.vector_rank NULLS LAST, c.id
"""


def _as_uuid(value: str) -> uuid.UUID | None:
    """The id as a UUID, or None for text that is no id (so it is simply not found)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _document(row: DictRow) -> KnowledgeDocument:
    return KnowledgeDocument(**row)


def _vector_text(vector: NDArray[np.floating]) -> str:
    """pgvector's text form; 7 significant digits keep float32 as stored."""
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


def _check_vectors(vectors: NDArray[np.floating], rows: int) -> None:
    if vectors.ndim != 2 or vectors.shape != (rows, EMBEDDING_DIMENSIONS):
        raise ValueError(
            f"expected vectors of shape ({rows}, {EMBEDDING_DIMENSIONS}), got {vectors.shape}"
        )
    if not np.isfinite(vectors).all():
        raise ValueError("vectors hold NaN or infinite values")


async def create_document(
    conn: Conn,
    tenant_id: str,
    *,
    title: str,
    media_type: str,
    size_bytes: int,
    sha256: str,
    filename: str | None = None,
    page_count: int | None = None,
    section_count: int | None = None,
) -> tuple[KnowledgeDocument, bool]:
    """The tenant's document for these bytes, created the first time (idempotent).

    The same upload twice (same ``sha256`` for the tenant) is one document: the second
    call returns the first one untouched, whatever title it was given.

    Args:
        conn: a connection.
        tenant_id: the owning tenant.
        title: what the document is called (shown with every hit).
        media_type: the upload's media type ("application/pdf", "text/markdown", ...).
        size_bytes: the upload's size.
        sha256: hex digest of the upload's bytes.
        filename: the uploaded file's name, when there was one.
        page_count: pages, when the format has them.
        section_count: sections found, when known.

    Returns:
        The document, and True when this call created it.
    """
    cur = await conn.execute(
        _INSERT_DOCUMENT,
        (tenant_id, title, filename, media_type, size_bytes, sha256, page_count, section_count),
    )
    row = await cur.fetchone()
    if row is not None:
        return _document(row), True
    cur = await conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM knowledge_documents WHERE tenant_id = %s AND sha256 = %s",
        (tenant_id, sha256),
    )
    row = await cur.fetchone()
    if row is None:  # deleted between the two statements: a caller's retry creates it
        raise DocumentNotFoundError(sha256)
    return _document(row), False


async def get_document(conn: Conn, tenant_id: str, document_id: str) -> KnowledgeDocument | None:
    """The tenant's document, or None (no such id, or another tenant's)."""
    doc_id = _as_uuid(document_id)
    if doc_id is None:
        return None
    cur = await conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM knowledge_documents WHERE id = %s AND tenant_id = %s",
        (doc_id, tenant_id),
    )
    row = await cur.fetchone()
    return _document(row) if row is not None else None


async def list_documents(
    conn: Conn, tenant_id: str, *, limit: int = 100, offset: int = 0
) -> list[KnowledgeDocument]:
    """One page of the tenant's documents, newest first."""
    cur = await conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM knowledge_documents WHERE tenant_id = %s "
        "ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    return [_document(r) for r in await cur.fetchall()]


async def delete_document(conn: Conn, tenant_id: str, document_id: str) -> bool:
    """Delete the tenant's document and (by cascade) its chunks; False when not found."""
    doc_id = _as_uuid(document_id)
    if doc_id is None:
        return False
    cur = await conn.execute(
        "DELETE FROM knowledge_documents WHERE id = %s AND tenant_id = %s", (doc_id, tenant_id)
    )
    return cur.rowcount > 0


async def set_status(
    conn: Conn,
    tenant_id: str,
    document_id: str,
    status: DocumentStatus,
    *,
    error: str | None = None,
    page_count: int | None = None,
    section_count: int | None = None,
) -> bool:
    """Record where the document's indexing stands; False when not found.

    ``error`` is written as given (None clears it); counts left None keep their value.
    """
    doc_id = _as_uuid(document_id)
    if doc_id is None:
        return False
    cur = await conn.execute(
        "UPDATE knowledge_documents SET status = %s, error = %s, "
        "page_count = coalesce(%s, page_count), section_count = coalesce(%s, section_count), "
        "updated_at = now() WHERE id = %s AND tenant_id = %s",
        (status, error, page_count, section_count, doc_id, tenant_id),
    )
    return cur.rowcount > 0


async def replace_chunks(
    conn: Conn,
    tenant_id: str,
    document_id: str,
    *,
    texts: Sequence[str],
    headings: Sequence[str | None],
    vectors: NDArray[np.floating],
    model_id: str,
) -> int:
    """Replace the document's chunks with these, in one transaction, and mark it ready.

    The old chunks go whatever model embedded them, so a re-indexed document never mixes
    two models' vectors; searches see either all the old chunks or all the new ones. The
    document row is locked first, so two re-indexings of one document run one after the
    other.

    Args:
        conn: a connection (a savepoint when the caller already holds a transaction).
        tenant_id: the owning tenant.
        document_id: the document.
        texts: the chunks' texts, in document order (the index is the chunk's ordinal).
        headings: each chunk's heading path, or None.
        vectors: one unit-length vector per chunk, shape (len(texts), 384).
        model_id: the embedding model that made the vectors (queries must use the same).

    Returns:
        The number of chunks stored.

    Raises:
        DocumentNotFoundError: no such document for this tenant.
        ValueError: texts, headings and vectors disagree in number, or a vector is not
            384 finite numbers.
    """
    if len(headings) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(headings)} headings")
    _check_vectors(vectors, len(texts))
    doc_id = _as_uuid(document_id)
    if doc_id is None:
        raise DocumentNotFoundError(document_id)
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id FROM knowledge_documents WHERE id = %s AND tenant_id = %s FOR UPDATE",
            (doc_id, tenant_id),
        )
        if await cur.fetchone() is None:
            raise DocumentNotFoundError(document_id)
        await conn.execute(
            "DELETE FROM knowledge_chunks WHERE document_id = %s AND tenant_id = %s",
            (doc_id, tenant_id),
        )
        async with (
            conn.cursor() as copy_cur,
            copy_cur.copy(
                "COPY knowledge_chunks "
                "(tenant_id, document_id, ordinal, heading, text, embedding, embedding_model) "
                "FROM STDIN"
            ) as copy,
        ):
            for ordinal, (text, heading) in enumerate(zip(texts, headings, strict=True)):
                await copy.write_row(
                    (
                        tenant_id,
                        doc_id,
                        ordinal,
                        heading,
                        text,
                        _vector_text(vectors[ordinal]),
                        model_id,
                    )
                )
        await conn.execute(
            "UPDATE knowledge_documents SET status = 'ready', error = NULL, chunk_count = %s, "
            "embedding_model = %s, updated_at = now() WHERE id = %s",
            (len(texts), model_id, doc_id),
        )
    return len(texts)


async def search(
    pool: Pool,
    tenant_id: str,
    query_text: str,
    query_vector: NDArray[np.floating],
    *,
    model_id: str,
    k: int = 5,
    candidates: int = DEFAULT_CANDIDATES,
    ef_search: int = DEFAULT_EF_SEARCH,
    max_term_chunks: int = MAX_TERM_CHUNKS,
) -> list[KnowledgeHit]:
    """The tenant's chunks that best answer a question: vector and full text, fused.

    Args:
        pool: the database pool.
        tenant_id: whose knowledge base; no other tenant's chunk can come back.
        query_text: the question as heard; empty (or only stop words) searches by vector
            alone.
        query_vector: the question's vector (shape (384,)) from the same model as the chunks.
        model_id: the embedding model of ``query_vector``; chunks of other models are not
            searched.
        k: how many hits.
        candidates: how many chunks each side brings to the fusion.
        ef_search: the HNSW candidate list size (raised to ``candidates`` when lower).
        max_term_chunks: question words held by more of the tenant's chunks than this
            are not searched as text (the vector side still reads them).

    Returns:
        Up to ``k`` hits, best fused score first.
    """
    vector = np.asarray(query_vector)
    if vector.shape != (EMBEDDING_DIMENSIONS,) or not np.isfinite(vector).all():
        raise ValueError(f"expected a finite query vector of {EMBEDDING_DIMENSIONS} numbers")
    params = {
        "text": query_text,
        "vector": _vector_text(vector),
        "tenant": tenant_id,
        "model": model_id,
        "candidates": candidates,
        "rrf": RRF_K,
        "k": k,
        "max_term_chunks": max_term_chunks,
    }
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
            [str(max(ef_search, candidates))],
        )
        rows = await (await conn.execute(_SEARCH, params)).fetchall()
    return [
        KnowledgeHit(
            chunk_id=int(r["chunk_id"]),
            document_id=str(r["document_id"]),
            title=str(r["title"]),
            heading=r["heading"],
            text=str(r["text"]),
            ordinal=int(r["ordinal"]),
            score=float(r["score"]),
            vector_rank=None if r["vector_rank"] is None else int(r["vector_rank"]),
            text_rank=None if r["text_rank"] is None else int(r["text_rank"]),
            similarity=None if r["similarity"] is None else float(r["similarity"]),
        )
        for r in rows
    ]
