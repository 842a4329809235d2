"""Index a document at once, in this process: read, chunk, embed and store it.

For small documents known in advance: the shipped examples (the demo, the evaluation,
the tests). Uploads go through the ingestion workflow (`workflows/knowledge_ingestion`),
which stores the bytes first and survives a worker restart; this does the same steps
in one go.
"""

from __future__ import annotations

import asyncio
import hashlib
from importlib.resources import files
from typing import Final

from centralita.kernel.db import Conn
from centralita.knowledge.chunking import chunk_document
from centralita.knowledge.documents import read_document
from centralita.knowledge.embeddings import Embedder
from centralita.knowledge.store import KnowledgeDocument, create_document, replace_chunks

EXAMPLES: Final = files("centralita.knowledge.examples")
EXAMPLE_COMPANIES: Final[dict[str, tuple[str, ...]]] = {
    # Chile: a Spanish FAQ and the payment conditions in HTML.
    "Cobranzas Andes SpA": ("preguntas_frecuentes_cl.md", "condiciones_de_pago_cl.html"),
    # Spain: a Spanish FAQ and its English one for foreign residents.
    "Recobros Ibérica S.L.": ("preguntas_frecuentes_es.md", "faq_en.md"),
}
"""The example companies and their documents (`centralita/knowledge/examples`)."""

_MEDIA_TYPES: Final = {".md": "text/markdown", ".html": "text/html", ".txt": "text/plain"}


async def index_now(
    conn: Conn, tenant_id: str, body: bytes, *, filename: str, embedder: Embedder
) -> KnowledgeDocument:
    """The tenant's document for `body`, read, chunked, embedded and stored, ready.

    The same bytes again are the same document, re-indexed with `embedder`.

    Raises:
        centralita.knowledge.document_model.UnsupportedDocument: not a kind we read.
        centralita.knowledge.document_model.UnreadableDocument: no text in it.
        centralita.knowledge.embeddings.EmbeddingError: the embedder failed.
    """
    doc = read_document(body, filename=filename, media_type=None)
    chunks = chunk_document(doc)
    vectors = await asyncio.to_thread(embedder.embed_passages, [c.embedding_text for c in chunks])
    suffix = filename[filename.rfind(".") :].lower() if "." in filename else ""
    stored, _ = await create_document(
        conn,
        tenant_id,
        title=doc.title or filename,
        filename=filename,
        media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"),
        size_bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        section_count=len(doc.sections),
    )
    await replace_chunks(
        conn,
        tenant_id,
        stored.id,
        texts=[c.text for c in chunks],
        headings=[c.heading for c in chunks],
        vectors=vectors,
        model_id=embedder.model_id,
    )
    return stored


async def index_examples(
    conn: Conn, tenant_id: str, company: str, embedder: Embedder
) -> dict[str, str]:
    """The example company's documents indexed for the tenant: document id -> file name.

    Raises:
        KeyError: no example company of that name.
    """
    indexed: dict[str, str] = {}
    for filename in EXAMPLE_COMPANIES[company]:
        body = EXAMPLES.joinpath(filename).read_bytes()
        stored = await index_now(conn, tenant_id, body, filename=filename, embedder=embedder)
        indexed[stored.id] = filename
    return indexed
