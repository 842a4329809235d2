"""A real call whose live recogniser is the hosted one the settings choose, then its
re-transcription through the same API.

The media worker's own builder (`workers.media.conversation_line`) makes the line from
settings that send Spanish to ``openai:whisper-1`` at a local fake of OpenAI's
transcription API (which recognises with the embedded faster-whisper, so the words are
real). A bot softphone talks to the agent over loopback WebRTC; the call is recorded,
and the post-call recogniser built from the same settings re-reads the caller's side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.settings import Settings
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.offline.retranscription import call_context, offline_stt, retranscribe
from realtime.providers.stt_choice import PerLanguageSTT
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.openai_stt_server import FakeOpenAITranscription
from workers.media import conversation_line, live_stt

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeOpenAITranscription]:
    async with FakeOpenAITranscription() as server:
        yield server


@pytest.fixture(scope="module")
def settings(fake: FakeOpenAITranscription, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,
        stt_live={"es": "openai:whisper-1", "en": "tiny.en"},
        stt_openai_base_url=fake.base_url,
        stt_openai_api_key_env="CENTRALITA_TEST_UNSET_STT_KEY",
        stt_openai_timeout_s=30.0,  # the fake runs Whisper on a shared CPU
        recordings_dir=tmp_path_factory.mktemp("recordings"),
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_a_call_heard_by_the_hosted_recogniser_and_re_read_after(
    fake: FakeOpenAITranscription, settings: Settings
) -> None:
    stt = live_stt(settings)  # what the media worker builds from these settings
    assert isinstance(stt, PerLanguageSTT)
    line = conversation_line(settings, stt=stt, keep_finished=1)
    request = DialRequest(
        idempotency_key="hosted-wrong",
        to_number="+56961234567",
        campaign_id="e2e",
        contact_id="hosted-wrong",
        attempt_number=1,
        agent="cobranza-temprana",
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )
    script = BotScript(lines=[BotLine(say="No, no soy esa persona.")])
    try:
        result = await line.converse(request, script, datetime.now(UTC))
    finally:
        restrict_ice_to_loopback(False)

    record = line.records["hosted-wrong"]
    assert result.outcome is CallOutcome.WRONG_PERSON, record.transcript_text()
    live_requests = list(fake.requests)
    assert live_requests, "the hosted recogniser was never asked"
    assert {r["language"] for r in live_requests} == {"es"}
    assert {r["model"] for r in live_requests} == {"whisper-1"}
    assert "persona" in record.transcript_text().lower()

    # After the call: the same settings' post-call recogniser, over the recording.
    assert record.recording_path is not None
    recording = Path(record.recording_path)
    context = call_context("es", ["repactación"], collection=True)
    segments = await retranscribe(recording, "es", offline_stt(settings=settings), context=context)
    assert segments, "nothing re-transcribed"
    assert any("persona" in s.text.lower() for s in segments), segments
    offline_requests = fake.requests[len(live_requests) :]
    assert offline_requests
    assert {r["prompt"] for r in offline_requests} == {context}
    call_s = max(s.end for s in segments)
    for segment in segments:
        assert 0.0 <= segment.start < segment.end <= call_s
        # Word times are on the call's clock, inside (or at the edge of) their utterance.
        for word in segment.words:
            assert segment.start - 0.5 <= word.start <= word.end <= segment.end + 0.5
    spoken = next(s for s in segments if "persona" in s.text.lower())
    assert spoken.start > 0.5, "the caller speaks after the agent's greeting, not at 0"
