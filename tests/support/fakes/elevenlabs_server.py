"""A local ElevenLabs streaming endpoint: real speech (espeak-ng) as raw PCM chunks.

`POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>` answers a
chunked body of 16-bit little-endian PCM at that rate, as ElevenLabs does, after
checking the `xi-api-key` header. `chunk_delay_s` paces the chunks like a voice that
synthesises as it streams. `fail` makes every request answer 500 or 401, stall, or
drop the connection after a few chunks; requests are kept for assertions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

import numpy as np
from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from realtime.providers.espeak import EspeakTTS
from tests.support.fakes.loopback import LoopbackServer

API_KEY = "xi-test-key"
CHUNK_BYTES = 4095  # odd: a sample's two bytes arrive in different chunks, as they may
DROP_AFTER_CHUNKS = 3


class FakeElevenLabs(LoopbackServer):
    """`async with FakeElevenLabs() as fake:` then `fake.base_url`."""

    def __init__(
        self,
        fail: Literal["500", "401", "slow", "drop"] | None = None,
        chunk_delay_s: float = 0.002,
    ) -> None:
        self.fail = fail
        self.chunk_delay_s = chunk_delay_s
        self.requests: list[dict[str, Any]] = []
        super().__init__()
        self.app.post("/v1/text-to-speech/{voice_id}/stream")(self._stream)
        self._voice = EspeakTTS()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _stream(self, voice_id: str, request: Request) -> Any:
        body = await request.json()
        self.requests.append(
            {
                "voice_id": voice_id,
                "key": request.headers.get("xi-api-key"),
                "output_format": request.query_params.get("output_format"),
                **body,
            }
        )
        if request.headers.get("xi-api-key") != API_KEY or self.fail == "401":
            return JSONResponse({"detail": {"status": "invalid_api_key"}}, 401)
        if self.fail == "500":
            return JSONResponse({"detail": {"status": "internal"}}, 500)
        rate = int(str(request.query_params.get("output_format", "pcm_16000")).split("_")[1])
        return StreamingResponse(self._pcm(str(body["text"]), rate), media_type="audio/pcm")

    async def _pcm(self, text: str, rate: int) -> AsyncIterator[bytes]:
        if self.fail == "slow":
            await asyncio.sleep(30)
        audio = await self._voice.synthesize(text, language="es")
        from realtime.audio.frames import resample_pcm16

        pcm = np.asarray(resample_pcm16(audio.samples, audio.sample_rate, rate), dtype="<i2")
        data = pcm.tobytes()
        for n, i in enumerate(range(0, len(data), CHUNK_BYTES)):
            if self.fail == "drop" and n == DROP_AFTER_CHUNKS:
                raise ConnectionResetError("the fake drops the stream")
            yield data[i : i + CHUNK_BYTES]
            await asyncio.sleep(self.chunk_delay_s)
