"""A tenant's knowledge base as a call uses it: search a question, answer it, timed.

`KnowledgeBase` holds the database pool and the embedder. A question is embedded in a
worker thread (the e5 model is CPU-bound, ~15 ms; a hosted model is a blocking HTTP call:
either would stall every other call on the event loop), then searched by
`centralita.knowledge.search_store.search`, then answered by
`centralita.knowledge.answers.answer_from_hits`. Each step's time comes back with the
result (`Retrieval`, `TimedAnswer`) so the latency bench and the call's turn metrics can
report it.

Whatever goes wrong underneath (the embedder's error, a lost or exhausted database, a
step past its deadline) surfaces as one `KnowledgeUnavailable`: a call catches that one
error and says it cannot look it up now, offering a callback, instead of failing the turn.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
import psycopg

from centralita.kernel.db import Pool
from centralita.knowledge.answers import KnowledgeAnswer, answer_from_hits
from centralita.knowledge.embeddings import Embedder, Vectors
from centralita.knowledge.search_store import KnowledgeHit, search


class KnowledgeUnavailable(RuntimeError):  # noqa: N818 - what a call says: "not available now"
    """The knowledge base cannot answer now (embedding failed, database down, too slow).

    The original error is the ``__cause__``; ``stage`` says which step failed
    ("embedding" or "search").
    """

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"knowledge {stage} failed: {reason}")
        self.stage = stage


@dataclass(frozen=True)
class Retrieval:
    """A search's hits and what each step took, in milliseconds."""

    hits: list[KnowledgeHit]
    embed_ms: float
    search_ms: float


@dataclass(frozen=True)
class TimedAnswer:
    """An answer and what each step took, in milliseconds."""

    answer: KnowledgeAnswer
    embed_ms: float
    search_ms: float
    answer_ms: float

    @property
    def total_ms(self) -> float:
        """The whole lookup, question to answer text."""
        return self.embed_ms + self.search_ms + self.answer_ms


class KnowledgeBase:
    """Search and answer questions over tenants' documents.

    Args:
        pool: the database pool.
        embedder: the model the tenant's chunks were embedded with (its ``model_id``
            selects which chunks are searched).
        timeout_s: deadline for each step (embedding, search); a call cannot wait longer
            for an answer than a caller waits on the line.
        k: hits fetched for an answer.
    """

    def __init__(
        self, pool: Pool, embedder: Embedder, *, timeout_s: float = 3.0, k: int = 5
    ) -> None:
        self.pool = pool
        self.embedder = embedder
        self.timeout_s = timeout_s
        self.k = k

    async def search(self, tenant_id: str, question: str, k: int = 5) -> list[KnowledgeHit]:
        """The tenant's chunks that best answer the question, best first.

        Raises:
            KnowledgeUnavailable: embedding or search failed.
        """
        return (await self.retrieve(tenant_id, question, k=k)).hits

    async def retrieve(self, tenant_id: str, question: str, *, k: int = 5) -> Retrieval:
        """`search`, with the time the embedding and the search took.

        Raises:
            KnowledgeUnavailable: embedding or search failed.
        """
        started = time.perf_counter()
        vector = await self._embed(question)
        embedded = time.perf_counter()
        try:
            hits = await asyncio.wait_for(
                search(
                    self.pool, tenant_id, question, vector, model_id=self.embedder.model_id, k=k
                ),
                self.timeout_s,
            )
        except TimeoutError as exc:
            raise KnowledgeUnavailable("search", f"no answer within {self.timeout_s} s") from exc
        # The pool's timeout is a psycopg.Error too (psycopg_pool.PoolTimeout); a ValueError
        # is a vector the store cannot take (a model of another width than the chunks').
        except (psycopg.Error, ValueError) as exc:
            raise KnowledgeUnavailable("search", f"{type(exc).__name__}: {exc}") from exc
        done = time.perf_counter()
        return Retrieval(
            hits=hits,
            embed_ms=(embedded - started) * 1000,
            search_ms=(done - embedded) * 1000,
        )

    async def answer(self, tenant_id: str, question: str, language: str) -> KnowledgeAnswer:
        """One or two sentences from the tenant's documents, or ``found=False``.

        Args:
            tenant_id: whose documents.
            question: the caller's question as transcribed.
            language: the call's language ("es", "es-CL", "en", ...).

        Raises:
            KnowledgeUnavailable: embedding or search failed.
        """
        return (await self.answer_timed(tenant_id, question, language)).answer

    async def answer_timed(self, tenant_id: str, question: str, language: str) -> TimedAnswer:
        """`answer`, with the time each step took.

        Raises:
            KnowledgeUnavailable: embedding or search failed.
        """
        found = await self.retrieve(tenant_id, question, k=self.k)
        started = time.perf_counter()
        answer = answer_from_hits(question, found.hits, language=language)
        return TimedAnswer(
            answer=answer,
            embed_ms=found.embed_ms,
            search_ms=found.search_ms,
            answer_ms=(time.perf_counter() - started) * 1000,
        )

    async def _embed(self, question: str) -> Vectors:
        try:
            vector = await asyncio.wait_for(
                asyncio.to_thread(self.embedder.embed_query, question), self.timeout_s
            )
        except TimeoutError as exc:
            raise KnowledgeUnavailable("embedding", f"no vector within {self.timeout_s} s") from exc
        # Any failure of the model (its own EmbeddingError, a broken engine, a hosted
        # API's surprise) is the same thing to a call: no lookup now.
        except Exception as exc:
            raise KnowledgeUnavailable("embedding", f"{type(exc).__name__}: {exc}") from exc
        if np.asarray(vector).shape != (self.embedder.dim,):
            raise KnowledgeUnavailable("embedding", f"a vector of shape {np.shape(vector)}")
        return vector
