"""A document's way into the knowledge base: its stored upload, its staged chunks, progress.

The ingestion workflow (workflows/knowledge_ingestion.py) reads everything it needs from
here, so a worker restart loses nothing: the upload's bytes are stored with the document
row (in the transaction that creates it, before any workflow starts), the chunks of the
current run are staged one row each, and each chunk's vector is written as soon as its
batch is embedded. A retried embedding step asks only for the chunks still without a
vector of its model: it resumes where the dead worker stopped. The finished chunks move
to `knowledge_chunks` with `store.replace_chunks`, in the transaction that drops the
staging rows, so a retry of that step after a lost answer finds nothing left to move.

Every statement filters on the tenant, as in `store`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from centralita.kernel.db import Conn
from centralita.knowledge import store
from centralita.knowledge.chunking import Chunk
from centralita.knowledge.store import DocumentNotFoundError, KnowledgeDocument


class DocumentLimitError(Exception):
    """The tenant already holds as many documents as it may."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"the tenant holds {count} knowledge documents, the most it may hold "
            f"(knowledge_max_documents = {limit}); delete one to upload another"
        )
        self.count = count
        self.limit = limit


@dataclass(frozen=True)
class StoredUpload:
    """An upload's bytes and what was declared with them."""

    content: bytes
    filename: str | None
    media_type: str
    ingestion_run: str | None


@dataclass(frozen=True)
class Progress:
    """How far the current (or last) indexing went: chunks embedded of chunks to embed."""

    chunks_embedded: int
    chunks_total: int


@dataclass(frozen=True)
class PendingChunk:
    """A staged chunk still to be embedded."""

    ordinal: int
    embedding_text: str


def _uuid(document_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(document_id))
    except ValueError as exc:
        raise DocumentNotFoundError(document_id) from exc


async def count_documents(conn: Conn, tenant_id: str) -> int:
    """How many knowledge documents the tenant holds."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM knowledge_documents WHERE tenant_id = %s", (tenant_id,)
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def accept_upload(
    conn: Conn,
    tenant_id: str,
    *,
    content: bytes,
    sha256: str,
    title: str,
    media_type: str,
    filename: str | None,
    section_count: int | None,
    max_documents: int,
) -> tuple[KnowledgeDocument, bool]:
    """The tenant's document for these bytes, created with its stored upload if new.

    The same bytes again are the same document (whatever the count limit). The tenant's
    uploads take turns (a transaction-scoped advisory lock), so two at once cannot both
    take the last free place.

    Args:
        conn: a connection outside a transaction (this opens one).
        tenant_id: the owning tenant.
        content: the uploaded bytes, kept for indexing and re-indexing.
        sha256: their hex digest.
        title: what the document is called.
        media_type: the declared (or sniffed) media type.
        filename: the uploaded file's name.
        section_count: sections found when the upload was read.
        max_documents: the most documents the tenant may hold.

    Returns:
        The document, and True when this call created it.

    Raises:
        DocumentLimitError: a new document would be one over `max_documents`.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('knowledge_documents:' || %s, 0))",
            (tenant_id,),
        )
        document, created = await store.create_document(
            conn,
            tenant_id,
            title=title,
            media_type=media_type,
            size_bytes=len(content),
            sha256=sha256,
            filename=filename,
            section_count=section_count,
        )
        if created:
            count = await count_documents(conn, tenant_id)
            if count > max_documents:
                raise DocumentLimitError(count - 1, max_documents)  # rolls the insert back
        # Also for an existing document stored without its bytes (written by other code).
        await conn.execute(
            "INSERT INTO knowledge_uploads (document_id, tenant_id, content) "
            "VALUES (%s, %s, %s) ON CONFLICT (document_id) DO NOTHING",
            (_uuid(document.id), tenant_id, content),
        )
    return document, created


async def get_upload(conn: Conn, tenant_id: str, document_id: str) -> StoredUpload | None:
    """The document's stored upload, or None (no document, or no bytes stored)."""
    cur = await conn.execute(
        "SELECT u.content, d.filename, d.media_type, u.ingestion_run "
        "FROM knowledge_uploads u JOIN knowledge_documents d ON d.id = u.document_id "
        "WHERE u.document_id = %s AND u.tenant_id = %s AND d.tenant_id = %s",
        (_uuid(document_id), tenant_id, tenant_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return StoredUpload(
        content=bytes(row["content"]),
        filename=row["filename"],
        media_type=str(row["media_type"]),
        ingestion_run=row["ingestion_run"],
    )


async def not_indexed_with(conn: Conn, tenant_id: str, model_id: str) -> list[str]:
    """The tenant's documents with a stored file that `model_id` did not index (another
    model did, or none yet: pending or failed), oldest first."""
    cur = await conn.execute(
        "SELECT d.id::text AS id FROM knowledge_documents d "
        "JOIN knowledge_uploads u ON u.document_id = d.id AND u.tenant_id = d.tenant_id "
        "WHERE d.tenant_id = %s "
        "AND (d.status <> 'ready' OR d.embedding_model IS DISTINCT FROM %s) "
        "ORDER BY d.created_at, d.id",
        (tenant_id, model_id),
    )
    return [str(r["id"]) for r in await cur.fetchall()]


async def staged_total(conn: Conn, tenant_id: str, document_id: str, run: str) -> int | None:
    """How many chunks `run` staged, or None when the staged chunks are not that run's."""
    cur = await conn.execute(
        "SELECT u.chunks_total FROM knowledge_uploads u WHERE u.document_id = %s "
        "AND u.tenant_id = %s AND u.ingestion_run = %s",
        (_uuid(document_id), tenant_id, run),
    )
    row = await cur.fetchone()
    return None if row is None else int(row["chunks_total"])


async def stage_chunks(
    conn: Conn,
    tenant_id: str,
    document_id: str,
    run: str,
    chunks: Sequence[Chunk],
    *,
    section_count: int | None = None,
) -> int:
    """Stage `run`'s chunks (dropping any other run's) and mark the document indexing.

    Args:
        conn: a connection outside a transaction (this opens one).
        tenant_id: the owning tenant.
        document_id: the document.
        run: the ingestion run (its workflow run id) the chunks are for.
        chunks: the document's chunks, in order.
        section_count: sections the document has, recorded on it.

    Returns:
        How many chunks are staged for `run` (an earlier try's, when it got this far).

    Raises:
        DocumentNotFoundError: the document (or its stored upload) is gone.
    """
    doc_id = _uuid(document_id)
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT ingestion_run, chunks_total FROM knowledge_uploads "
            "WHERE document_id = %s AND tenant_id = %s FOR UPDATE",
            (doc_id, tenant_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise DocumentNotFoundError(document_id)
        if row["ingestion_run"] == run:  # an earlier try of this run staged them
            return int(row["chunks_total"])
        await conn.execute(
            "DELETE FROM knowledge_staged_chunks WHERE document_id = %s AND tenant_id = %s",
            (doc_id, tenant_id),
        )
        async with (
            conn.cursor() as copy_cur,
            copy_cur.copy(
                "COPY knowledge_staged_chunks "
                "(document_id, tenant_id, ordinal, heading, text, embedding_text) FROM STDIN"
            ) as copy,
        ):
            for chunk in chunks:
                await copy.write_row(
                    (doc_id, tenant_id, chunk.ordinal, chunk.heading or None, chunk.text,
                     chunk.embedding_text)
                )  # fmt: skip
        await conn.execute(
            "UPDATE knowledge_uploads SET ingestion_run = %s, chunks_total = %s, "
            "chunks_embedded = 0, updated_at = now() WHERE document_id = %s",
            (run, len(chunks), doc_id),
        )
        if not await store.set_status(
            conn, tenant_id, document_id, "indexing", section_count=section_count
        ):
            raise DocumentNotFoundError(document_id)
    return len(chunks)


async def pending_chunks(
    conn: Conn, tenant_id: str, document_id: str, model_id: str, *, limit: int
) -> list[PendingChunk]:
    """The next staged chunks without a vector of `model_id`, in document order."""
    cur = await conn.execute(
        "SELECT ordinal, embedding_text FROM knowledge_staged_chunks "
        "WHERE document_id = %s AND tenant_id = %s "
        "AND (embedding IS NULL OR embedding_model IS DISTINCT FROM %s) "
        "ORDER BY ordinal LIMIT %s",
        (_uuid(document_id), tenant_id, model_id, limit),
    )
    return [PendingChunk(int(r["ordinal"]), str(r["embedding_text"])) for r in await cur.fetchall()]


async def save_vectors(
    conn: Conn,
    tenant_id: str,
    document_id: str,
    model_id: str,
    ordinals: Sequence[int],
    vectors: NDArray[np.floating],
) -> Progress:
    """Store a batch's vectors on their staged chunks and count the progress.

    Returns:
        Chunks with a vector of `model_id`, of chunks staged.

    Raises:
        DocumentNotFoundError: the document was deleted meanwhile.
    """
    doc_id = _uuid(document_id)
    async with conn.transaction():
        async with conn.cursor() as cur:
            await cur.executemany(
                "UPDATE knowledge_staged_chunks SET embedding = %s, embedding_model = %s "
                "WHERE document_id = %s AND tenant_id = %s AND ordinal = %s",
                [
                    (vector.tolist(), model_id, doc_id, tenant_id, ordinal)
                    for ordinal, vector in zip(ordinals, vectors, strict=True)
                ],
            )
        cur = await conn.execute(
            "UPDATE knowledge_uploads u SET chunks_embedded = ("
            "  SELECT count(*) FROM knowledge_staged_chunks s WHERE s.document_id = u.document_id"
            "  AND s.embedding IS NOT NULL AND s.embedding_model = %s"
            "), updated_at = now() WHERE u.document_id = %s AND u.tenant_id = %s "
            "RETURNING chunks_embedded, chunks_total",
            (model_id, doc_id, tenant_id),
        )
        row = await cur.fetchone()
    if row is None:
        raise DocumentNotFoundError(document_id)
    return Progress(int(row["chunks_embedded"]), int(row["chunks_total"]))


async def embedded_count(conn: Conn, tenant_id: str, document_id: str, model_id: str) -> int:
    """Staged chunks that already have a vector of `model_id`."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM knowledge_staged_chunks WHERE document_id = %s "
        "AND tenant_id = %s AND embedding IS NOT NULL AND embedding_model = %s",
        (_uuid(document_id), tenant_id, model_id),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def publish_staged(conn: Conn, tenant_id: str, document_id: str, model_id: str) -> int | None:
    """Move the staged chunks, all embedded by `model_id`, into the searched chunks.

    One transaction replaces the document's chunks (marking it ready) and drops the
    staging rows.

    Returns:
        The chunks published, or None when nothing was staged (an earlier try did it).

    Raises:
        DocumentNotFoundError: the document is gone.
        ValueError: a staged chunk has no vector of `model_id`.
    """
    doc_id = _uuid(document_id)
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT ordinal, heading, text, embedding, embedding_model "
            "FROM knowledge_staged_chunks WHERE document_id = %s AND tenant_id = %s "
            "ORDER BY ordinal FOR UPDATE",
            (doc_id, tenant_id),
        )
        rows = await cur.fetchall()
        if not rows:
            return None
        missing = [r["ordinal"] for r in rows if r["embedding_model"] != model_id]
        if missing:
            raise ValueError(f"{len(missing)} staged chunks have no vector of {model_id}")
        vectors = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        count = await store.replace_chunks(
            conn,
            tenant_id,
            document_id,
            texts=[str(r["text"]) for r in rows],
            headings=[r["heading"] for r in rows],
            vectors=vectors,
            model_id=model_id,
        )
        await conn.execute(
            "DELETE FROM knowledge_staged_chunks WHERE document_id = %s AND tenant_id = %s",
            (doc_id, tenant_id),
        )
        await conn.execute(
            "UPDATE knowledge_uploads SET chunks_embedded = chunks_total, updated_at = now() "
            "WHERE document_id = %s AND tenant_id = %s",
            (doc_id, tenant_id),
        )
    return count


async def progress_of(
    conn: Conn, tenant_id: str, document_ids: Sequence[str]
) -> dict[str, Progress]:
    """The indexing progress of each of these documents that has a stored upload."""
    ids = [uuid.UUID(d) for d in document_ids]
    cur = await conn.execute(
        "SELECT document_id::text AS id, chunks_embedded, chunks_total FROM knowledge_uploads "
        "WHERE tenant_id = %s AND document_id = ANY(%s)",
        (tenant_id, ids),
    )
    return {
        str(r["id"]): Progress(int(r["chunks_embedded"]), int(r["chunks_total"]))
        for r in await cur.fetchall()
    }
