"""What the caller said in one turn: transcribed, corrected, understood.

`CallSession` hands each finished utterance here: the early transcript when the pause
turned out to be the end (else a fresh one), the online dictionary correction, the
transcript line and events; then understanding, sentiment and context advice for the
brain.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from centralita.correction.online import OnlineCorrector
from centralita.kernel.call_events import CallEventType
from centralita.kernel.tasks import cancelling_me
from centralita.understanding.context import ConversationContext
from centralita.understanding.model import Intent, Understanding
from centralita.understanding.nlu import understand
from centralita.understanding.sentiment import score_sentiment
from realtime.audio.vad import UtteranceEnded
from realtime.providers.base import BrainTurn, ProviderError, SpeechToText, Transcript
from realtime.session.record import CallRecord, TurnMetrics

# How a keypad entry reads in the transcript and to an LLM agent.
KEYPAD_LABEL = {"es": "[teclado: {keys}]", "en": "[keypad: {keys}]"}
# How a voicemail's recording reads in the transcript and to an LLM agent (who must
# leave a short message that says nothing of the debt).
MACHINE_LABEL = {
    "es": "[buzón de voz: deje un mensaje breve, sin datos de la deuda]",
    "en": "[voicemail: leave a short message, nothing about the debt]",
}


@dataclass
class Heard:
    """A finished utterance, the monotonic time its speech ended, its early transcript."""

    event: UtteranceEnded
    speech_ended: float
    # Transcription started at the pause that turned out to be the end.
    early: asyncio.Task[Transcript] | None = None


@dataclass(frozen=True)
class Listening:
    """How the caller is heard: their language, zone and currency, the words to expect."""

    language: str
    timezone: str
    default_currency: str | None
    hints: list[str]


class TurnHearing:
    """One call's ears: every user turn goes through `transcribe`, then `understand`."""

    def __init__(
        self,
        *,
        record: CallRecord,
        stt: SpeechToText,
        listening: Listening,
        corrector: OnlineCorrector | None = None,
    ) -> None:
        self._record = record
        self._stt = stt
        self._listening = listening
        self._corrector = corrector
        self._context = ConversationContext()

    async def transcribe(self, heard: Heard, metrics: TurnMetrics) -> str:
        """The utterance's corrected text ('' when nothing was said), logged as heard."""
        started = time.perf_counter()
        transcript = await self._early_transcript(heard) or await self._stt.transcribe(
            heard.event.audio, language=self._listening.language, hints=self._listening.hints
        )
        metrics.stt_ms = (time.perf_counter() - started) * 1000
        metrics.stt_confidence = transcript.confidence if transcript.words else None
        self._record.usage.stt_audio_s += transcript.audio_s
        text = transcript.text.strip()
        if self._corrector is not None and text:
            corrected = self._corrector.correct(text)
            if corrected.corrections:
                self._record.event(
                    CallEventType.CORRECTION,
                    before=text,
                    after=corrected.text,
                    pairs=[(c.before, c.after) for c in corrected.corrections],
                )
            text = corrected.text
        metrics.user_text = text
        if text:
            self._record.said("user", text)
            self._record.event(CallEventType.TRANSCRIPT, speaker="user", text=text, final=True)
        return text

    def understand(self, text: str, metrics: TurnMetrics, *, silence: bool) -> BrainTurn:
        """The turn as the brain takes it: intent and slots, sentiment, context advice."""
        now = datetime.now(ZoneInfo(self._listening.timezone))
        understanding = understand(
            text,
            language=self._listening.language,
            now=now,
            default_currency=self._listening.default_currency,
        )
        sentiment = score_sentiment(text, self._listening.language)
        advice = self._context.add_user_turn(text, understanding, sentiment)
        metrics.sentiment = sentiment.score
        if not silence:
            self._record.event(
                CallEventType.SENTIMENT, score=sentiment.score, label=sentiment.label.value
            )
            if sentiment.alert:
                self._record.event(CallEventType.SENTIMENT_ALERT, score=sentiment.score)
        return BrainTurn(
            understanding=understanding, sentiment=sentiment, advice=advice, silence=silence
        )

    def keyed(self, keys: str, metrics: TurnMetrics) -> BrainTurn:
        """A keypad entry as the brain takes it: the keys, logged as the caller's line."""
        label = KEYPAD_LABEL.get(self._listening.language, KEYPAD_LABEL["en"]).format(keys=keys)
        metrics.user_text = label
        self._record.said("user", label)
        self._record.event(CallEventType.TRANSCRIPT, speaker="user", text=label, final=True)
        understanding = Understanding(
            text=label, language=self._listening.language, intent=Intent.UNKNOWN, confidence=1.0
        )
        sentiment = score_sentiment("", self._listening.language)
        advice = self._context.add_user_turn(label, understanding, sentiment)
        return BrainTurn(understanding=understanding, sentiment=sentiment, advice=advice, keys=keys)

    def machine(self, metrics: TurnMetrics) -> BrainTurn:
        """A voicemail took the call and records now: the brain's turn to leave its
        message (a flow goes to its `voicemail` node)."""
        label = MACHINE_LABEL.get(self._listening.language, MACHINE_LABEL["en"])
        metrics.user_text = label
        self._record.said("user", label)
        understanding = Understanding(
            text=label, language=self._listening.language, intent=Intent.VOICEMAIL, confidence=1.0
        )
        sentiment = score_sentiment("", self._listening.language)
        advice = self._context.add_user_turn(label, understanding, sentiment)
        return BrainTurn(understanding=understanding, sentiment=sentiment, advice=advice)

    @staticmethod
    async def _early_transcript(heard: Heard) -> Transcript | None:
        if heard.early is None:
            return None
        try:
            return await heard.early
        except (ProviderError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and cancelling_me():
                raise  # the turn itself is being stopped, not just the early transcript
            return None  # transcribe again, from the final audio
