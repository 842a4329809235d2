"""The hosted embedder over the wire, against a loopback fake of the embeddings API.

It talks through the real `openai` client to the fake, whose vectors are real e5 vectors
(so they can be checked against the local engine), and which fails on cue so retries and
errors are exercised. The embedders are synchronous, so they run in a thread while the
fake serves on the loop. A server makes these integration tests, not unit tests.
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import numpy as np
import pytest

from centralita.knowledge.embeddings import EmbeddingError, LocalE5Embedder, OpenAIEmbedder
from tests.support.fakes.openai_embeddings_server import FakeOpenAIEmbeddings, Scripted
from tests.support.faq_passages import PASSAGES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local() -> LocalE5Embedder:
    return LocalE5Embedder(batch_size=4)


def hosted(fake: FakeOpenAIEmbeddings, **options: object) -> OpenAIEmbedder:
    settings: dict[str, object] = {"timeout_s": 10.0, "retries": 2, "backoff_s": 0.01}
    settings.update(options)
    return OpenAIEmbedder(
        model=str(settings.pop("model", "multilingual-e5-small")),
        api_key="sk-test",
        base_url=fake.base_url,
        dim=int(settings.pop("dim", 384)),  # type: ignore[call-overload]
        **settings,  # type: ignore[arg-type]
    )


async def test_hosted_vectors_come_over_the_wire_unprefixed(local: LocalE5Embedder) -> None:
    async with FakeOpenAIEmbeddings() as fake:
        embedder = hosted(fake, batch_size=4)
        vectors = await asyncio.to_thread(embedder.embed_passages, PASSAGES)
        query = await asyncio.to_thread(embedder.embed_query, "¿Dónde puedo pagar?")
    assert vectors.shape == (6, 384)
    assert query.shape == (384,)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The same e5 vectors the engine gives here: nothing lost in base64 and back.
    assert np.allclose(vectors, local.embed_passages(PASSAGES), atol=1e-4)
    assert [r["input"] for r in fake.requests] == [
        PASSAGES[:4],
        PASSAGES[4:],
        ["¿Dónde puedo pagar?"],
    ]  # batches of 4, and no "query: " or "passage: " prefix added
    first = fake.requests[0]
    assert first["model"] == "multilingual-e5-small"
    assert first["encoding_format"] == "base64"  # what the client asks for by default
    assert first["authorization"] == "Bearer sk-test"
    assert int(np.argmax(vectors @ query)) == 0


async def test_a_429_and_a_500_are_retried() -> None:
    async with FakeOpenAIEmbeddings([Scripted(fail="429"), Scripted(fail="500")]) as fake:
        embedder = hosted(fake)
        vector = await asyncio.to_thread(embedder.embed_query, "¿Cuánto debo?")
    assert vector.shape == (384,)
    assert len(fake.requests) == 3


async def test_server_errors_past_the_retries_raise_with_their_status() -> None:
    async with FakeOpenAIEmbeddings([Scripted(fail="500")] * 3) as fake:
        embedder = hosted(fake, retries=1)
        with pytest.raises(EmbeddingError, match="answered 500") as raised:
            await asyncio.to_thread(embedder.embed_query, "¿Cuánto debo?")
    assert raised.value.status == 500
    assert raised.value.retryable
    assert len(fake.requests) == 2


@pytest.mark.parametrize(("fail", "status"), [("400", 400), ("401", 401)])
async def test_other_client_errors_are_not_retried(fail: str, status: int) -> None:
    async with FakeOpenAIEmbeddings([Scripted(fail=fail)]) as fake:  # type: ignore[arg-type]
        embedder = hosted(fake)
        with pytest.raises(EmbeddingError, match=f"answered {status}") as raised:
            await asyncio.to_thread(embedder.embed_passages, ["Pague en Servipag."])
    assert raised.value.status == status
    assert not raised.value.retryable
    assert len(fake.requests) == 1


async def test_a_timeout_is_retried() -> None:
    async with FakeOpenAIEmbeddings([Scripted(fail="slow")], slow_s=1.5) as fake:
        embedder = hosted(fake, timeout_s=0.5)
        vectors = await asyncio.to_thread(embedder.embed_passages, ["Pague en Servipag."])
    assert vectors.shape == (1, 384)
    assert len(fake.requests) == 2


async def test_a_model_of_another_length_is_a_clear_error() -> None:
    async with FakeOpenAIEmbeddings() as fake:
        embedder = hosted(fake, model="text-embedding-3-small", dim=1536)
        with pytest.raises(EmbeddingError, match="384 dimensions, expected 1536"):
            await asyncio.to_thread(embedder.embed_query, "¿Dónde puedo pagar?")


async def test_the_fake_answers_float_and_base64_alike() -> None:
    async with FakeOpenAIEmbeddings() as fake, httpx.AsyncClient() as client:
        answers = [
            (
                await client.post(
                    f"{fake.base_url}/embeddings",
                    json={"model": "m", "input": "Hola", "encoding_format": encoding},
                )
            ).json()
            for encoding in ("float", "base64")
        ]
        empty = await client.post(f"{fake.base_url}/embeddings", json={"model": "m", "input": ""})
    as_floats = np.asarray(answers[0]["data"][0]["embedding"], dtype=np.float32)
    raw = answers[1]["data"][0]["embedding"]
    as_base64 = np.frombuffer(base64.b64decode(raw), dtype="<f4")
    assert np.allclose(as_floats, as_base64)
    assert answers[0]["usage"]["prompt_tokens"] > 0
    assert empty.status_code == 400
