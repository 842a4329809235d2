"""The knowledge ingestion workflow on the real Temporal dev server and Postgres, with the
real e5 model: an example FAQ becomes searchable chunks, a double start is one run, an
unreadable file ends failed with its reason, and a worker SIGKILLed mid-embedding is
replaced by one that resumes from the chunks already embedded instead of starting over.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import uuid
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment

from activities.knowledge import IngestionInput, IngestionProgress, IngestionResult
from centralita.kernel.db import Pool
from centralita.knowledge import ingestion_store, search_store, store
from centralita.knowledge.chunking import chunk_document
from centralita.knowledge.documents import read_document
from centralita.knowledge.embeddings import embedder_for
from tests.support.servers import instant_carrier, orchestrator_worker, task_queue
from workflows.knowledge_ingestion import KnowledgeIngestionWorkflow, ingestion_workflow_id

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = files("centralita.knowledge.examples")
E5 = embedder_for("local")


async def _tenant(pool: Pool) -> str:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id",
            (f"knowledge-{uuid.uuid4().hex[:8]}",),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


async def _upload(pool: Pool, tenant: str, content: bytes, filename: str, media_type: str) -> str:
    """The document as the API stores it: its row and its bytes, no workflow yet."""
    async with pool.connection() as conn:
        document, created = await ingestion_store.accept_upload(
            conn,
            tenant,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            title=filename,
            media_type=media_type,
            filename=filename,
            section_count=None,
            max_documents=100,
        )
    assert created
    return document.id


async def _start(
    client: Client, queue: str, tenant: str, document_id: str, **options: object
) -> WorkflowHandle[KnowledgeIngestionWorkflow, IngestionResult]:
    job = IngestionInput(tenant_id=tenant, document_id=document_id, embedder="local")
    return await client.start_workflow(
        KnowledgeIngestionWorkflow.run,
        job.model_copy(update=options),
        id=ingestion_workflow_id(tenant, document_id),
        task_queue=queue,
    )


async def test_an_example_faq_becomes_searchable_and_a_double_start_is_one_run(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    tenant = await _tenant(pool)
    content = EXAMPLES.joinpath("preguntas_frecuentes_cl.md").read_bytes()
    document_id = await _upload(
        pool, tenant, content, "preguntas_frecuentes_cl.md", "text/markdown"
    )
    queue = task_queue()
    handle = await _start(dev_env.client, queue, tenant, document_id)
    with pytest.raises(WorkflowAlreadyStartedError):
        await _start(dev_env.client, queue, tenant, document_id)

    async with orchestrator_worker(dev_env.client, queue, pool, instant_carrier([])):
        result = await asyncio.wait_for(handle.result(), 180)
        assert await handle.query(KnowledgeIngestionWorkflow.progress) == IngestionProgress(
            stage="done"
        )

    expected = chunk_document(
        read_document(content, filename="preguntas_frecuentes_cl.md", media_type="text/markdown")
    )
    assert result.status == "ready"
    assert result.chunk_count == len(expected) > 10
    assert result.model_id == E5.model_id
    assert result.resumed_from == 0
    async with pool.connection() as conn:
        document = await store.get_document(conn, tenant, document_id)
        progress = await ingestion_store.progress_of(conn, tenant, [document_id])
        cur = await conn.execute(
            "SELECT count(*) AS n FROM knowledge_staged_chunks WHERE document_id = %s",
            (document_id,),
        )
        staged = await cur.fetchone()
    assert document is not None
    assert (document.status, document.chunk_count, document.embedding_model) == (
        "ready",
        len(expected),
        E5.model_id,
    )
    assert progress[document_id] == ingestion_store.Progress(len(expected), len(expected))
    assert staged is not None
    assert staged["n"] == 0

    question = "¿dónde puedo pagar?"
    hits = await search_store.search(
        pool, tenant, question, E5.embed_query(question), model_id=E5.model_id, k=3
    )
    assert hits[0].heading is not None
    assert hits[0].heading.endswith("¿Dónde puedo pagar?")
    assert "Servipag" in hits[0].text


async def test_an_unreadable_file_ends_failed_with_its_reason(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    tenant = await _tenant(pool)
    broken = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% the rest was lost in transit\n"
    document_id = await _upload(pool, tenant, broken, "cartola_marzo.pdf", "application/pdf")
    queue = task_queue()
    handle = await _start(dev_env.client, queue, tenant, document_id)
    async with orchestrator_worker(dev_env.client, queue, pool, instant_carrier([])):
        result = await asyncio.wait_for(handle.result(), 60)
    assert result.status == "failed"
    assert result.error is not None
    assert "cartola_marzo.pdf" in result.error
    async with pool.connection() as conn:
        document = await store.get_document(conn, tenant, document_id)
    assert document is not None
    assert (document.status, document.error, document.chunk_count) == ("failed", result.error, 0)


async def test_a_document_deleted_before_indexing_ends_the_run_quietly(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    tenant = await _tenant(pool)
    content = EXAMPLES.joinpath("faq_en.md").read_bytes()
    document_id = await _upload(pool, tenant, content, "faq_en.md", "text/markdown")
    async with pool.connection() as conn:
        assert await store.delete_document(conn, tenant, document_id)
    queue = task_queue()
    handle = await _start(dev_env.client, queue, tenant, document_id)
    async with orchestrator_worker(dev_env.client, queue, pool, instant_carrier([])):
        result = await asyncio.wait_for(handle.result(), 60)
    assert result == IngestionResult(status="deleted")


def _long_markdown(sections: int) -> bytes:
    """A payment plan's terms, one section per instalment (one chunk each)."""
    parts = ["# Convenio de pago 2024-0117\n"]
    for n in range(1, sections + 1):
        parts.append(
            f"## Cuota {n}\n\nLa cuota número {n} del convenio vence el día {n % 28 + 1} del "
            f"mes {n // 12 + 1} y se paga en Servipag, en Caja Vecina con el código "
            f"{4400 + n} o por transferencia a la cuenta corriente de Banco Ejemplo, "
            f"indicando el RUT del titular en la glosa. Si la cuota {n} se atrasa más de "
            "diez días se cobra el interés moratorio y los gastos de cobranza que la ley "
            "permite, y el convenio puede quedar sin efecto tras la tercera cuota impaga.\n"
        )
    return "\n".join(parts).encode()


async def _embedded(pool: Pool, tenant: str, document_id: str) -> int:
    async with pool.connection() as conn:
        progress = await ingestion_store.progress_of(conn, tenant, [document_id])
    found = progress.get(document_id)
    return found.chunks_embedded if found else 0


async def test_a_worker_killed_mid_embedding_is_resumed_not_restarted(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await _tenant(pool)
    total = 120
    content = _long_markdown(total)
    document_id = await _upload(pool, tenant, content, "convenio.md", "text/markdown")
    queue = task_queue()
    handle = await _start(
        dev_env.client, queue, tenant, document_id, batch_size=6, heartbeat_timeout_s=3.0
    )
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.knowledge_worker_proc",
        dev_env.client.service_client.config.target_host,
        database_url,
        queue,
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(120):
            while (seen := await _embedded(pool, tenant, document_id)) < 12:
                assert doomed.returncode is None, "the worker process died on its own"
                await asyncio.sleep(0.05)
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)
        await doomed.wait()
    assert seen < total, "the kill came too late to interrupt the embedding"
    async with pool.connection() as conn:
        document = await store.get_document(conn, tenant, document_id)
    assert document is not None
    assert document.status == "indexing"

    async with orchestrator_worker(dev_env.client, queue, pool, instant_carrier([])):
        result = await asyncio.wait_for(handle.result(), 240)

    assert result.status == "ready"
    assert result.chunk_count == total
    # The new worker's try began from what the dead one had stored, not from zero.
    assert seen <= result.resumed_from < total
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT ordinal, heading, embedding::text AS embedding FROM knowledge_chunks "
            "WHERE document_id = %s AND tenant_id = %s ORDER BY ordinal",
            (document_id, tenant),
        )
        rows = await cur.fetchall()
    assert [r["ordinal"] for r in rows] == list(range(total))
    first = rows[0]  # embedded by the worker that was killed
    assert first["heading"] == "Convenio de pago 2024-0117 > Cuota 1"
    # A chunk embedded before the kill holds the same vector a fresh embedding gives.
    stored = np.asarray([float(x) for x in first["embedding"].strip("[]").split(",")])
    fresh = E5.embed_passages([f"{first['heading']}\n{_chunk_text(content, 0)}"])[0]
    assert float(stored @ fresh) > 0.999


def _chunk_text(content: bytes, ordinal: int) -> str:
    chunks = chunk_document(read_document(content, filename="c.md", media_type="text/markdown"))
    return chunks[ordinal].text
