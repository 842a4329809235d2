"""A local OpenAI transcription server: the real wire protocol, real recognition, failures on cue.

`POST /v1/audio/transcriptions` takes the multipart form the `openai` client sends
(`file`, `model`, `language`, `prompt`, `response_format`, `timestamp_granularities[]`)
and answers as OpenAI does: ``{"text"}`` for ``json``, and for ``verbose_json`` the
``task``/``language`` (its English name)/``duration``/``text`` with ``words`` and
``segments`` when those granularities are asked. The text is real: the uploaded WAV is
transcribed by the embedded faster-whisper (`WhisperSTT`), so a test hears what was said.

Each request takes the next `Scripted` step: answer normally, fail with a status
(429 with `Retry-After: 0`, 500, 400, 401), stall past the client's deadline
(``slow``), or refuse ``verbose_json`` as the gpt-4o models do (``plain_only``).
Requests are kept (form fields, and the audio's length) for the test to check.
"""

from __future__ import annotations

import asyncio
import io
import math
import wave
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from fastapi import Request
from fastapi.responses import JSONResponse

from realtime.providers.whisper import WhisperSTT
from tests.support.fakes.loopback import LoopbackServer

Failure = Literal["429", "500", "400", "401", "slow", "plain_only"]
LANGUAGE_NAMES = {"es": "spanish", "en": "english"}


@dataclass
class Scripted:
    """One answer: normal (``fail`` None) or a failure; ``text`` replaces recognition."""

    fail: Failure | None = None
    text: str | None = None
    delay_s: float = 0.0


class FakeOpenAITranscription(LoopbackServer):
    """`async with FakeOpenAITranscription([...]) as fake:` then `fake.base_url`."""

    def __init__(self, script: list[Scripted] | None = None, *, slow_s: float = 30.0) -> None:
        self.script = list(script or [])
        self.slow_s = slow_s
        self.requests: list[dict[str, Any]] = []
        self.answered = 0
        self._stt = WhisperSTT(retries=0, timeout_s=120.0)
        super().__init__()
        self.app.post("/v1/audio/transcriptions")(self._transcriptions)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _transcriptions(self, request: Request) -> Any:
        form = await request.form()
        upload = form.get("file")
        audio = await upload.read() if upload is not None and not isinstance(upload, str) else b""
        fields: dict[str, Any] = {
            k: str(v) for k, v in form.multi_items() if k not in ("file",) and isinstance(v, str)
        }
        fields["timestamp_granularities"] = [
            str(v) for v in form.getlist("timestamp_granularities[]")
        ]
        fields["authorization"] = request.headers.get("authorization", "")
        samples, rate = _read_wav(audio)
        fields["audio_s"] = samples.size / rate if rate else 0.0
        fields["sample_rate"] = rate
        self.requests.append(fields)
        step = self.script.pop(0) if self.script else Scripted()
        if step.fail == "429":
            return _error(429, "Rate limit reached", "rate_limit_exceeded", {"retry-after": "0"})
        if step.fail == "500":
            return _error(500, "The server had an error", "server_error")
        if step.fail == "400":
            return _error(
                400, "Audio file might be corrupted or unsupported", "invalid_request_error"
            )
        if step.fail == "401":
            return _error(401, "Incorrect API key provided", "invalid_request_error")
        if step.fail == "slow":
            await asyncio.sleep(self.slow_s)
        await asyncio.sleep(step.delay_s)
        response_format = fields.get("response_format", "json")
        if step.fail == "plain_only" and response_format == "verbose_json":
            return _error(
                400,
                "response_format 'verbose_json' is not compatible with this model",
                "invalid_request_error",
            )
        language = fields.get("language") or "en"
        transcript = await self._stt.transcribe(
            samples, language=language, context=fields.get("prompt") or None
        )
        text = step.text if step.text is not None else transcript.text
        self.answered += 1
        if response_format != "verbose_json":
            return JSONResponse({"text": text})
        body: dict[str, Any] = {
            "task": "transcribe",
            "language": LANGUAGE_NAMES.get(language, language),
            "duration": round(fields["audio_s"], 2),
            "text": text,
        }
        if "word" in fields["timestamp_granularities"]:
            body["words"] = [
                {"word": w.text, "start": round(w.start, 2), "end": round(w.end, 2)}
                for w in transcript.words
            ]
        if "segment" in fields["timestamp_granularities"]:
            confidence = max(transcript.confidence, 1e-6)
            end = transcript.words[-1].end if transcript.words else fields["audio_s"]
            body["segments"] = [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": round(end, 2),
                    "text": " " + text,
                    "tokens": [50364],
                    "temperature": 0.0,
                    "avg_logprob": round(math.log(confidence), 4),
                    "compression_ratio": 1.0,
                    "no_speech_prob": 0.01,
                }
            ]
        return JSONResponse(body)


def _error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": code, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _read_wav(data: bytes) -> tuple[np.ndarray[Any, Any], int]:
    """The mono int16 samples and rate of an uploaded WAV (empty for anything else)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate = wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return np.zeros(0, dtype=np.int16), 0
    return np.frombuffer(frames, dtype=np.int16).copy(), rate
