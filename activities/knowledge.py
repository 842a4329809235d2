"""The knowledge ingestion's steps: read and chunk, embed in batches, publish, or fail.

Each step reads what it needs from Postgres (`centralita.knowledge.ingestion_store`) and
writes what it did there before it returns, so a step retried on another worker picks up
the work where it stopped: the chunks of a run are staged once, the embedding step asks
only for the chunks still without a vector, and publishing is one transaction that a
retry finds already done. Reading a large PDF and embedding a batch are CPU-bound: they
run in a thread while the activity heartbeats, so a dead worker is noticed within the
heartbeat timeout, and a live one is not mistaken for dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from centralita.kernel.db import Pool
from centralita.knowledge import ingestion_store, store
from centralita.knowledge.chunking import chunk_document
from centralita.knowledge.document_model import DocumentError
from centralita.knowledge.documents import read_document
from centralita.knowledge.embeddings import Embedder, EmbeddingError, embedder_for
from centralita.knowledge.store import DocumentNotFoundError

# ApplicationError types the workflow tells apart (and does not retry).
DOCUMENT_GONE = "DocumentGone"  # deleted while it was being indexed: nothing to do
UNREADABLE_DOCUMENT = "UnreadableDocument"
EMBEDDING_REFUSED = "EmbeddingRefused"  # a 4xx of the hosted model, a bad setting
NON_RETRYABLE = [DOCUMENT_GONE, UNREADABLE_DOCUMENT, EMBEDDING_REFUSED]

# A heartbeat this often while a thread reads or embeds (well inside any timeout).
HEARTBEAT_EVERY_S = 1.0


class IngestionInput(BaseModel):
    """One document to index, with the embedder it is indexed with."""

    tenant_id: str
    document_id: str
    embedder: str = Field(description="'local' or 'openai:<model>' (embedder_for)")
    batch_size: int = Field(default=32, ge=1, le=2048)
    # How soon a silent worker counts as dead (its step is retried elsewhere).
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)


IngestionStatus = Literal["ready", "failed", "deleted"]


class IngestionResult(BaseModel):
    """How the indexing ended."""

    status: IngestionStatus
    chunk_count: int = 0
    model_id: str | None = None
    error: str | None = None
    # chunks that already had their vector when the last embedding try began (more than
    # 0 only when a try was lost midway: the retry resumed instead of starting over)
    resumed_from: int = 0


class IngestionProgress(BaseModel):
    """The workflow's step (its query); the chunk counts are on the document."""

    stage: Literal["reading", "embedding", "publishing", "done"]


class PrepareInput(BaseModel):
    """Stage the document's chunks for this run."""

    tenant_id: str
    document_id: str
    run: str


class Prepared(BaseModel):
    """The staged chunks."""

    chunks_total: int


class EmbedInput(BaseModel):
    """Embed the staged chunks still without a vector."""

    tenant_id: str
    document_id: str
    embedder: str
    batch_size: int


class Embedded(BaseModel):
    """Every staged chunk has its vector."""

    model_id: str
    chunks_total: int
    resumed_from: int


class PublishInput(BaseModel):
    """Move the embedded chunks into the searched ones."""

    tenant_id: str
    document_id: str
    model_id: str


class Published(BaseModel):
    """The document's searched chunks."""

    chunk_count: int


class FailInput(BaseModel):
    """Record why indexing failed."""

    tenant_id: str
    document_id: str
    error: str


class FailRecorded(BaseModel):
    """Whether the document was there to mark."""

    marked: bool


def _gone(document_id: str) -> ApplicationError:
    return ApplicationError(
        f"knowledge document {document_id} is gone", type=DOCUMENT_GONE, non_retryable=True
    )


@contextlib.asynccontextmanager
async def _heartbeating(details: Any) -> AsyncIterator[None]:
    """Heartbeat `details` every `HEARTBEAT_EVERY_S` while the block awaits a thread."""

    async def beat() -> None:
        while True:
            activity.heartbeat(details)
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class KnowledgeActivities:
    """The ingestion's steps, bound to the database.

    Args:
        pool: the database.
    """

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def _embedder(self, spec: str) -> Embedder:
        """One embedder per spec for the worker's life (a hosted one holds a client)."""
        with self._lock:
            if spec not in self._embedders:
                try:
                    self._embedders[spec] = embedder_for(spec)
                except (ValueError, EmbeddingError) as exc:
                    raise ApplicationError(
                        f"embedder {spec!r}: {exc}", type=EMBEDDING_REFUSED, non_retryable=True
                    ) from exc
            return self._embedders[spec]

    @activity.defn
    async def prepare_document(self, job: PrepareInput) -> Prepared:
        """Read the stored upload, cut it into chunks and stage them for `job.run`.

        A retry of the same run finds its chunks staged and reads nothing again.
        """
        try:
            async with self._pool.connection() as conn:
                staged = await ingestion_store.staged_total(
                    conn, job.tenant_id, job.document_id, job.run
                )
                if staged is not None:
                    return Prepared(chunks_total=staged)
                upload = await ingestion_store.get_upload(conn, job.tenant_id, job.document_id)
            if upload is None:
                raise _gone(job.document_id)
            filename = upload.filename or "document"
            async with _heartbeating("reading"):
                try:
                    document = await asyncio.to_thread(
                        read_document,
                        upload.content,
                        filename=filename,
                        media_type=upload.media_type,
                    )
                except DocumentError as exc:
                    raise ApplicationError(
                        str(exc), type=UNREADABLE_DOCUMENT, non_retryable=True
                    ) from exc
                chunks = await asyncio.to_thread(chunk_document, document)
            async with self._pool.connection() as conn:
                total = await ingestion_store.stage_chunks(
                    conn,
                    job.tenant_id,
                    job.document_id,
                    job.run,
                    chunks,
                    section_count=len(document.sections),
                )
        except DocumentNotFoundError as exc:
            raise _gone(job.document_id) from exc
        activity.logger.info("knowledge document %s: %d chunks staged", job.document_id, total)
        return Prepared(chunks_total=total)

    @activity.defn
    async def embed_chunks(self, job: EmbedInput) -> Embedded:
        """Embed the staged chunks still without a vector, a batch at a time.

        Each batch's vectors are stored before the next is embedded, and the heartbeat
        carries the count, so a retry (after a lost worker) embeds only the rest.
        """
        embedder = self._embedder(job.embedder)
        model_id = embedder.model_id
        try:
            async with self._pool.connection() as conn:
                done = await ingestion_store.embedded_count(
                    conn, job.tenant_id, job.document_id, model_id
                )
            resumed_from = done
            total = 0
            while True:
                async with self._pool.connection() as conn:
                    batch = await ingestion_store.pending_chunks(
                        conn, job.tenant_id, job.document_id, model_id, limit=job.batch_size
                    )
                if not batch:
                    break
                texts = [chunk.embedding_text for chunk in batch]
                async with _heartbeating(done):
                    try:
                        vectors = await asyncio.to_thread(embedder.embed_passages, texts)
                    except EmbeddingError as exc:
                        raise ApplicationError(
                            str(exc),
                            type=None if exc.retryable else EMBEDDING_REFUSED,
                            non_retryable=not exc.retryable,
                        ) from exc
                async with self._pool.connection() as conn:
                    progress = await ingestion_store.save_vectors(
                        conn,
                        job.tenant_id,
                        job.document_id,
                        model_id,
                        [chunk.ordinal for chunk in batch],
                        vectors,
                    )
                done, total = progress.chunks_embedded, progress.chunks_total
                activity.heartbeat(done)
        except DocumentNotFoundError as exc:
            raise _gone(job.document_id) from exc
        return Embedded(model_id=model_id, chunks_total=max(total, done), resumed_from=resumed_from)

    @activity.defn
    async def publish_chunks(self, job: PublishInput) -> Published:
        """Replace the document's searched chunks with the staged ones (it is then ready)."""
        try:
            async with self._pool.connection() as conn:
                count = await ingestion_store.publish_staged(
                    conn, job.tenant_id, job.document_id, job.model_id
                )
                if count is None:  # an earlier try published them; its answer was lost
                    document = await store.get_document(conn, job.tenant_id, job.document_id)
                    if document is None:
                        raise _gone(job.document_id)
                    count = document.chunk_count
        except DocumentNotFoundError as exc:
            raise _gone(job.document_id) from exc
        return Published(chunk_count=count)

    @activity.defn
    async def mark_failed(self, job: FailInput) -> FailRecorded:
        """Mark the document failed with the reason (kept short: it is shown to operators)."""
        async with self._pool.connection() as conn:
            marked = await store.set_status(
                conn, job.tenant_id, job.document_id, "failed", error=job.error[:2000]
            )
        return FailRecorded(marked=marked)


def knowledge_activity_methods(activities: KnowledgeActivities) -> list[Callable[..., Any]]:
    """Everything a worker registers for the ingestion workflow."""
    return [
        activities.prepare_document,
        activities.embed_chunks,
        activities.publish_chunks,
        activities.mark_failed,
    ]


__all__ = [
    "IngestionInput",
    "IngestionProgress",
    "IngestionResult",
    "KnowledgeActivities",
    "knowledge_activity_methods",
]
