"""The knowledge base: upload, list, read, delete and re-index documents; search them.

An upload is read here before anything is stored, so a type we do not read (415) or a
file with no text (422) is answered at once, with the reason; one over
`knowledge_max_document_bytes` is 413, and one over the tenant's
`knowledge_max_documents` is 413 too (as a campaign over its row limit: too much for
the tenant; it must delete first).
The same bytes again are the same document. The upload's bytes are stored with the
document, then its ingestion workflow starts (workflows/knowledge_ingestion.py): the
answer is 202 with the document and its progress (chunks embedded of chunks to embed),
which GET shows as the indexing goes on. Searching embeds the question with the model
the settings name (`knowledge_embedder`), so only documents indexed with it are found:
after a change of model, re-index.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile, status
from pydantic import BaseModel, Field
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.knowledge import IngestionInput
from api.auth import TenantId
from api.deps import Services
from api.limits import MULTIPART_ALLOWANCE_BYTES, PageLimit, PageOffset
from api.services import ApiServices, TemporalUnavailableError
from centralita.kernel.settings import Settings
from centralita.knowledge import ingestion_store, search_store, store
from centralita.knowledge.document_model import UnreadableDocument, UnsupportedDocument
from centralita.knowledge.documents import read_document
from centralita.knowledge.embeddings import Embedder, EmbeddingError, embedder_for
from centralita.knowledge.ingestion_store import DocumentLimitError, Progress
from centralita.knowledge.store import DocumentStatus, KnowledgeDocument
from workflows.knowledge_ingestion import KnowledgeIngestionWorkflow, ingestion_workflow_id

router = APIRouter(prefix="/knowledge", tags=["knowledge"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such document"}}
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Temporal is down: the document is stored, upload it again later"}
}


class IndexingProgress(BaseModel):
    """How far the indexing went: chunks embedded of chunks to embed (0 of 0: not read)."""

    chunks_embedded: int
    chunks_total: int


class DocumentOut(BaseModel):
    """A document and where its indexing stands."""

    id: str
    title: str
    filename: str | None
    media_type: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    error: str | None
    chunk_count: int
    embedding_model: str | None
    section_count: int | None
    progress: IndexingProgress
    created_at: datetime
    updated_at: datetime


class DocumentAccepted(DocumentOut):
    """An upload's answer: the document, and whether this upload created it."""

    created: bool


class DocumentPage(BaseModel):
    """One page of documents, newest first, and how many the tenant holds."""

    total: int
    items: list[DocumentOut]


class SearchRequest(BaseModel):
    """A question, as a caller would ask it."""

    question: str = Field(min_length=1, max_length=1000)
    k: int = Field(default=5, ge=1, le=50, description="How many hits")


class SearchHit(BaseModel):
    """A chunk that answers, with where it comes from and how it scored."""

    document_id: str
    title: str
    heading: str | None
    text: str
    score: float = Field(description="The fused (reciprocal rank) score")
    similarity: float | None = Field(description="Cosine similarity to the question")
    vector_rank: int | None
    text_rank: int | None


class SearchResult(BaseModel):
    """The hits, best first, and the model the question was embedded with."""

    model: str
    hits: list[SearchHit]


def body_limit(settings: Settings) -> int:
    """Bytes a request to this router may have: the largest document and its envelope
    (above it the app's own 413 answers before the route's clearer one can)."""
    return settings.knowledge_max_document_bytes + MULTIPART_ALLOWANCE_BYTES


@functools.cache
def _embedder(spec: str) -> Embedder:
    """The process's embedder for questions (one per setting)."""
    return embedder_for(spec)


def _out(document: KnowledgeDocument, progress: Progress | None) -> DocumentOut:
    if document.status == "ready":  # published: whatever the staging said, all are in
        progress = Progress(document.chunk_count, document.chunk_count)
    return DocumentOut(
        id=document.id,
        title=document.title,
        filename=document.filename,
        media_type=document.media_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        status=document.status,
        error=document.error,
        chunk_count=document.chunk_count,
        embedding_model=document.embedding_model,
        section_count=document.section_count,
        progress=IndexingProgress(
            chunks_embedded=progress.chunks_embedded if progress else 0,
            chunks_total=progress.chunks_total if progress else 0,
        ),
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


async def _read_out(services: Services, tenant: str, document_id: str) -> DocumentOut:
    async with services.pool.connection() as conn:
        document = await store.get_document(conn, tenant, document_id)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no document {document_id}")
        progress = await ingestion_store.progress_of(conn, tenant, [document.id])
    return _out(document, progress.get(document.id))


async def _start_ingestion(services: Services, tenant: str, document_id: str) -> None:
    """Start the document's ingestion workflow.

    Raises:
        WorkflowAlreadyStartedError: it is running.
        HTTPException: 503 when Temporal is unreachable.
    """
    settings = services.settings
    try:
        client = await services.temporal.get()
        await client.start_workflow(
            KnowledgeIngestionWorkflow.run,
            IngestionInput(
                tenant_id=tenant, document_id=document_id, embedder=settings.knowledge_embedder
            ),
            id=ingestion_workflow_id(tenant, document_id),
            task_queue=settings.task_queue,
        )
    except (TemporalUnavailableError, RPCError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


@router.post(
    "/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentAccepted,
    responses={
        413: {
            "description": "the file is over knowledge_max_document_bytes, or the tenant "
            "holds knowledge_max_documents already"
        },
        415: {"description": "a type we do not read"},
        422: {"description": "an empty, corrupt or text-less file"},
        **_UNAVAILABLE,
    },
)
async def upload_document(
    services: Services,
    tenant: TenantId,
    file: Annotated[UploadFile, File(description="Plain text, Markdown, HTML, PDF or DOCX")],
    title: Annotated[str | None, Form(max_length=300)] = None,
) -> DocumentAccepted:
    """Upload a document into the knowledge base; it is indexed in the background
    (status `pending`, then `indexing`, `ready` or `failed`; `progress` counts chunks).
    The same file again answers the document it already is (`created` false)."""
    settings = services.settings
    limit = settings.knowledge_max_document_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"{file.filename or 'the file'} is over the limit of {limit} bytes "
            "(knowledge_max_document_bytes)",
        )
    filename = file.filename or "document"
    try:
        # A long PDF takes seconds to read: off the event loop.
        document = await asyncio.to_thread(
            read_document, content, filename=filename, media_type=file.content_type
        )
    except UnsupportedDocument as exc:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"{exc}; upload plain text, Markdown, HTML, PDF or DOCX",
        ) from exc
    except UnreadableDocument as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    async with services.pool.connection() as conn:
        try:
            stored, created = await ingestion_store.accept_upload(
                conn,
                tenant,
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
                title=(title or "").strip() or document.title,
                media_type=(file.content_type or "application/octet-stream").split(";")[0],
                filename=file.filename,
                section_count=len(document.sections),
                max_documents=settings.knowledge_max_documents,
            )
        except DocumentLimitError as exc:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=str(exc)) from exc
    # Pending: new, or an earlier upload whose start did not reach Temporal.
    if stored.status == "pending":
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await _start_ingestion(services, tenant, stored.id)
    out = await _read_out(services, tenant, stored.id)
    return DocumentAccepted(**out.model_dump(), created=created)


@router.get("/documents", response_model=DocumentPage)
async def list_documents(
    services: Services, tenant: TenantId, limit: PageLimit = 100, offset: PageOffset = 0
) -> DocumentPage:
    """The tenant's documents, newest first, each with its indexing status."""
    async with services.pool.connection() as conn:
        documents = await store.list_documents(conn, tenant, limit=limit, offset=offset)
        progress = await ingestion_store.progress_of(conn, tenant, [d.id for d in documents])
        total = await ingestion_store.count_documents(conn, tenant)
    return DocumentPage(total=total, items=[_out(d, progress.get(d.id)) for d in documents])


@router.get("/documents/{document_id}", response_model=DocumentOut, responses=_NOT_FOUND)
async def get_document(document_id: str, services: Services, tenant: TenantId) -> DocumentOut:
    """One document and where its indexing stands."""
    return await _read_out(services, tenant, document_id)


@router.delete(
    "/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND
)
async def delete_document(document_id: str, services: Services, tenant: TenantId) -> Response:
    """Delete a document with its chunks; an indexing in progress stops at its next step."""
    async with services.pool.connection() as conn:
        if not await store.delete_document(conn, tenant, document_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no document {document_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/documents/{document_id}/reindex",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentOut,
    responses={
        **_NOT_FOUND,
        409: {"description": "the document is being indexed now, or its file is not stored"},
        **_UNAVAILABLE,
    },
)
async def reindex_document(document_id: str, services: Services, tenant: TenantId) -> DocumentOut:
    """Index the document again from its stored file, with the embedding model the
    settings name now (after a change of model, or a failure). Its current chunks stay
    searchable until the new ones replace them."""
    out = await _read_out(services, tenant, document_id)
    async with services.pool.connection() as conn:
        upload = await ingestion_store.get_upload(conn, tenant, document_id)
    if upload is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"document {document_id} has no stored file to index again; upload it",
        )
    try:
        await _start_ingestion(services, tenant, document_id)
    except WorkflowAlreadyStartedError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"document {document_id} is being indexed now; re-index it when it is done",
        ) from exc
    return out


class ReindexStarted(BaseModel):
    """What a tenant-wide re-index started."""

    model: str = Field(description="The embedding model the settings name now")
    started: list[str] = Field(description="Documents whose indexing started")
    running: list[str] = Field(description="Documents already being indexed (left to finish)")


@router.post(
    "/reindex",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReindexStarted,
    responses={**_UNAVAILABLE},
)
async def reindex_stale_documents(services: Services, tenant: TenantId) -> ReindexStarted:
    """Index again every document of the tenant that the embedding model the settings
    name now did not index: after a change of `knowledge_embedder` (searches only read
    chunks of the current model, so spaces never mix), and documents whose indexing
    failed or never started. Each keeps its old chunks until its new ones replace them."""
    model = _embedder(services.settings.knowledge_embedder).model_id
    async with services.pool.connection() as conn:
        stale = await ingestion_store.not_indexed_with(conn, tenant, model)
    started: list[str] = []
    running: list[str] = []
    for document_id in stale:
        try:
            await _start_ingestion(services, tenant, document_id)
            started.append(document_id)
        except WorkflowAlreadyStartedError:
            running.append(document_id)
    return ReindexStarted(model=model, started=started, running=running)


@router.post("/search", response_model=SearchResult, responses={503: {"description": "embedder"}})
async def search_knowledge(
    request: SearchRequest, services: Services, tenant: TenantId
) -> SearchResult:
    """Search the tenant's documents as an agent would (vector and full text, fused):
    the chunks that best answer the question, with their document and heading."""
    return await search_documents(services, tenant, request)


async def search_documents(
    services: ApiServices, tenant: str, request: SearchRequest
) -> SearchResult:
    """The tenant's chunks that best answer the question (the route and the MCP tool).

    Raises:
        HTTPException: 503 when the embedder fails.
    """
    try:
        embedder = _embedder(services.settings.knowledge_embedder)
        vector = await asyncio.to_thread(embedder.embed_query, request.question)
    except EmbeddingError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    hits = await search_store.search(
        services.pool, tenant, request.question, vector, model_id=embedder.model_id, k=request.k
    )
    return SearchResult(
        model=embedder.model_id,
        hits=[
            SearchHit(
                document_id=h.document_id,
                title=h.title,
                heading=h.heading,
                text=h.text,
                score=h.score,
                similarity=h.similarity,
                vector_rank=h.vector_rank,
                text_rank=h.text_rank,
            )
            for h in hits
        ],
    )
