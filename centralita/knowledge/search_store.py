"""The hybrid search over a tenant's knowledge chunks.

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

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from centralita.kernel.db import Pool
from centralita.knowledge.store import EMBEDDING_DIMENSIONS, vector_text

# Candidates each side brings to the fusion; the HNSW walk keeps at least as many.
DEFAULT_CANDIDATES: Final = 40
DEFAULT_EF_SEARCH: Final = 40
# The full-text side leaves out words more of the tenant's chunks hold than this: they
# tell chunks apart least, and ranking all their chunks is what made a 100k-chunk
# tenant's search slow. A small tenant keeps every word.
MAX_TERM_CHUNKS: Final = 2000
# RRF's constant (Cormack et al. 2009): rank r scores 1 / (60 + r) on each side.
RRF_K: Final = 60


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
        "vector": vector_text(vector),
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
