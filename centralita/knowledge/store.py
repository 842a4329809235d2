"""A tenant's knowledge base in Postgres: documents and their chunks (`search_store`
searches them).

Every statement filters on the tenant inside the SQL (never on rows after they are read),
so no query can touch another tenant's document or chunk.
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

from centralita.kernel.db import Conn

DocumentStatus = Literal["pending", "indexing", "ready", "failed"]

# knowledge_chunks.embedding is vector(384): multilingual-e5-small's width.
EMBEDDING_DIMENSIONS: Final = 384


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


def _as_uuid(value: str) -> uuid.UUID | None:
    """The id as a UUID, or None for text that is no id (so it is simply not found)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _document(row: DictRow) -> KnowledgeDocument:
    return KnowledgeDocument(**row)


def vector_text(vector: NDArray[np.floating]) -> str:
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
                        vector_text(vectors[ordinal]),
                        model_id,
                    )
                )
        await conn.execute(
            "UPDATE knowledge_documents SET status = 'ready', error = NULL, chunk_count = %s, "
            "embedding_model = %s, updated_at = now() WHERE id = %s",
            (len(texts), model_id, doc_id),
        )
    return len(texts)
