"""Answering callers from the example knowledge base, in a real Postgres with the real e5.

The two fictional companies of `centralita/knowledge/examples/` are loaded as two
tenants, their documents read, chunked and embedded as an upload is; the questions are
the example set's.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import yaml

from centralita.kernel.db import Pool
from centralita.knowledge.embeddings import Embedder, EmbeddingError, Vectors, embedder_for
from centralita.knowledge.indexing import EXAMPLE_COMPANIES, EXAMPLES, index_examples
from centralita.knowledge.retrieval import KnowledgeBase, KnowledgeUnavailable
from centralita.tenants.store.keys import create_tenant

pytestmark = pytest.mark.integration

ANDES = EXAMPLE_COMPANIES["Cobranzas Andes SpA"]
IBERICA = EXAMPLE_COMPANIES["Recobros Ibérica S.L."]


# Each indexed document's file name, by document id (hits name their document by id).
FILE_OF: dict[str, str] = {}


async def _tenant_with(pool: Pool, embedder: Embedder, company: str) -> str:
    async with pool.connection() as conn:
        tenant = (await create_tenant(conn, f"knowledge-{uuid.uuid4().hex[:8]}")).id
        FILE_OF.update(await index_examples(conn, tenant, company, embedder))
    return tenant


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return embedder_for("local")


@pytest.fixture(scope="module")
async def tenants(pool: Pool, embedder: Embedder) -> dict[str, str]:
    return {
        "andes": await _tenant_with(pool, embedder, "Cobranzas Andes SpA"),
        "iberica": await _tenant_with(pool, embedder, "Recobros Ibérica S.L."),
    }


def _questions() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(EXAMPLES.joinpath("questions.yaml").read_text(encoding="utf-8"))
    return list(loaded["questions"])


async def test_where_can_i_pay_is_answered_with_the_payment_places(
    pool: Pool, embedder: Embedder, tenants: dict[str, str]
) -> None:
    kb = KnowledgeBase(pool, embedder)
    timed = await kb.answer_timed(tenants["andes"], "¿dónde puedo pagar?", "es-CL")
    answer = timed.answer
    assert answer.found
    for place in ("Servipag", "Caja Vecina", "Portal web"):
        assert place in answer.text
    assert len(answer.text) <= 301
    assert FILE_OF[answer.sources[0].document_id] == "preguntas_frecuentes_cl.md"
    assert answer.sources[0].heading is not None
    assert answer.sources[0].heading.endswith("¿Dónde puedo pagar?")
    assert timed.embed_ms > 0
    assert timed.search_ms > 0


async def test_an_unanswerable_question_is_not_answered(
    pool: Pool, embedder: Embedder, tenants: dict[str, str]
) -> None:
    kb = KnowledgeBase(pool, embedder)
    bitcoin = next(q for q in _questions() if q["id"] == "nf-bitcoin")
    assert bitcoin["document"] is None
    answer = await kb.answer(tenants["andes"], bitcoin["question"], bitcoin["language"])
    assert (answer.found, answer.text, answer.sources) == (False, "", ())


async def test_a_tenants_question_never_returns_another_tenants_document(
    pool: Pool, embedder: Embedder, tenants: dict[str, str]
) -> None:
    kb = KnowledgeBase(pool, embedder)
    # Spanish questions of Spain's company, asked of Chile's, and the reverse: the other
    # tenant's documents would answer them best, and must never come back.
    for question, asked, theirs in (
        ("¿Puedo pagar por Bizum?", "andes", IBERICA),
        ("¿Me vais a meter en el ASNEF?", "andes", IBERICA),
        ("puedo pagar en la caja vecina del almacen?", "iberica", ANDES),
        ("¿Me van a meter a Dicom si no pago?", "iberica", ANDES),
    ):
        hits = await kb.search(tenants[asked], question, k=10)
        assert hits, question
        assert not {FILE_OF[h.document_id] for h in hits} & set(theirs), question
    own = await kb.search(tenants["iberica"], "¿Puedo pagar por Bizum?", k=3)
    assert FILE_OF[own[0].document_id] == "preguntas_frecuentes_es.md"


class _BrokenEmbedder(Embedder):
    model_id = "broken"
    dim = 384

    def embed_passages(self, texts: Any) -> Vectors:
        raise EmbeddingError("the model is down", status=503, retryable=True)

    def embed_query(self, text: str) -> Vectors:
        raise EmbeddingError("the model is down", status=503, retryable=True)


async def test_a_failing_embedder_or_database_is_one_clear_error(
    pool: Pool, embedder: Embedder, tenants: dict[str, str]
) -> None:
    with pytest.raises(KnowledgeUnavailable) as broken:
        await KnowledgeBase(pool, _BrokenEmbedder()).answer(tenants["andes"], "¿hola?", "es")
    assert broken.value.stage == "embedding"
    assert isinstance(broken.value.__cause__, EmbeddingError)
    # A tenant id that is no uuid: Postgres refuses the statement.
    with pytest.raises(KnowledgeUnavailable) as refused:
        await KnowledgeBase(pool, embedder).search("not-a-tenant", "¿dónde puedo pagar?")
    assert refused.value.stage == "search"
