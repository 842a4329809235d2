"""The post-call activities: find, re-transcribe, correct, analyse, document, announce.

Each step reads what it needs from Postgres and writes its result there, keyed by the
call (see `centralita/postcall/store.py`), so a step retried after a crash redoes its
work and stores it once. The workflow (`workflows/post_call.py`) only passes ids.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio import activity
from temporalio.exceptions import ApplicationError

from centralita.analysis import (
    CallAnalysisInput,
    ExtractedVariables,
    Summarizer,
    Turn,
    analyse_call,
)
from centralita.campaigns.store import call_events as call_webhooks
from centralita.correction.store import domain_terms
from centralita.kernel.db import Conn, Pool
from centralita.kernel.events import call_subject, emit
from centralita.learning.sources import scan_low_confidence, scan_tool_misses
from centralita.postcall import store
from centralita.postcall.correction_step import CorrectorFactory, correct_segments
from centralita.postcall.document import call_document
from centralita.postcall.messages import (
    Analysed,
    CallRef,
    Corrected,
    PostCallInput,
    Retranscribed,
    RetranscribePolicy,
    StepInput,
)
from centralita.postcall.recording import RecordingError
from centralita.postcall.transcripts import OfflineSegment
from realtime.offline.retranscription import MAX_CONTEXT_TERMS, call_context, retranscribe
from realtime.providers.base import ProviderError, SpeechToText

CALL_NOT_FOUND = "CallNotFound"
ZONE_BY_LANGUAGE = {"es": "America/Santiago", "en": "America/New_York"}
CURRENCY_BY_LANGUAGE = {"es": "CLP", "en": "USD"}
# Agents whose calls aim at a promise to pay (the analysis judges success against it).
COLLECTION_PREFIXES = ("cobranza", "collections")


class PostCallActivities:
    """The post-call steps, bound to the database and the recogniser.

    Args:
        pool: the database.
        stt: the offline recogniser (`realtime.offline.retranscription.offline_stt`).
        corrector_for: builds the hybrid corrector for a tenant and language.
        retranscribe: the policy for calls whose workflow input does not name one.
        summarizer: writes the summary (an LLM); None: the extractive summary.
        analysis_version: the version calls get when their workflow names none (the
            extraction's current version; a re-analysis names its own).
    """

    def __init__(
        self,
        pool: Pool,
        stt: SpeechToText,
        corrector_for: CorrectorFactory,
        *,
        retranscribe: RetranscribePolicy = "always",
        summarizer: Summarizer | None = None,
        analysis_version: int = 1,
    ) -> None:
        self._pool = pool
        self._analysis_version = analysis_version
        self._summarizer = summarizer
        self._stt = stt
        self._corrector_for = corrector_for
        self._policy: RetranscribePolicy = retranscribe

    @activity.defn
    async def find_call(self, options: PostCallInput) -> CallRef:
        """The stored call of `options.call_key`.

        Raises:
            ApplicationError: CallNotFound (not retried: the call was never stored).
        """
        async with self._pool.connection() as conn:
            call = await store.find_call(conn, options.call_key)
        if call is None:
            raise ApplicationError(
                f"no stored call {options.call_key!r}", type=CALL_NOT_FOUND, non_retryable=True
            )
        return CallRef(
            call_id=call.call_id,
            tenant_id=call.tenant_id,
            call_key=call.call_key,
            language=call.language,
            has_recording=await _exists(call.recording_path),
            # Decided once here, so every later step (and its retries) stores the same.
            analysis_version=options.analysis_version or self._analysis_version,
        )

    @activity.defn
    async def retranscribe(self, step: StepInput) -> Retranscribed:
        """Re-transcribe the caller's channel when the policy says so; store it as 'offline'.

        Calls with no recording (or not re-transcribed by policy) keep their online text.
        """
        async with self._pool.connection() as conn:
            call = await store.find_call(conn, step.call.call_key)
            turns = await store.online_turns(conn, step.call.call_id)
        recording = call.recording_path if call is not None else None
        if (
            call is None
            or recording is None
            or not await _exists(recording)
            or not self._should_retranscribe(
                step.options.retranscribe or self._policy, turns, step.options.low_confidence_below
            )
        ):
            return Retranscribed(source="online", segments=len(turns), words=0)
        terms = await domain_terms(self._pool, call.tenant_id, call.language, MAX_CONTEXT_TERMS)
        context = call_context(call.language, terms, collection=_is_collection(call.agent))
        try:
            segments = await retranscribe(
                Path(recording),
                call.language,
                self._stt,
                context=context,
                progress=lambda done, total: activity.heartbeat(f"{done}/{total}"),
            )
        except RecordingError as exc:
            raise ApplicationError(
                str(exc), type="RecordingUnreadable", non_retryable=True
            ) from exc
        except ProviderError as exc:
            raise ApplicationError(str(exc), type="RecogniserFailed") from exc
        text = " ".join(s.text for s in segments)
        async with self._pool.connection() as conn:
            await store.save_transcript(
                conn,
                call.call_id,
                "offline",
                call.language,
                text,
                [s.model_dump() for s in segments],
            )
        words = [w for s in segments for w in s.words]
        mean = sum(w.probability for w in words) / len(words) if words else None
        return Retranscribed(
            source="offline", segments=len(segments), words=len(words), mean_probability=mean
        )

    @staticmethod
    def _should_retranscribe(
        policy: RetranscribePolicy, turns: list[store.StoredTurn], below: float
    ) -> bool:
        if policy == "never":
            return False
        if policy == "always":
            return True
        known = [t.stt_confidence for t in turns if t.stt_confidence is not None]
        return not known or min(known) < below

    @activity.defn
    async def correct(self, step: StepInput) -> Corrected:
        """Correct the best transcript against the tenant's lexicon; store every change."""
        async with self._pool.connection() as conn:
            offline = await store.load_transcript(conn, step.call.call_id, "offline")
            turns = await store.online_turns(conn, step.call.call_id)
        segments = (
            [OfflineSegment.model_validate(s) for s in offline]
            if offline is not None
            else [
                OfflineSegment(start=0.0, end=0.0, text=t.user_text) for t in turns if t.user_text
            ]
        )
        pass_ = "offline" if offline is not None else "online"
        async with self._pool.connection() as conn:
            reverted = await store.reverted_spans(conn, step.call.call_id, pass_)
        corrector = await self._corrector_for(self._pool, step.call.tenant_id, step.call.language)
        result = await correct_segments(corrector, segments, step.call.language, reverted)
        async with self._pool.connection() as conn, conn.transaction():
            await store.replace_corrections(conn, step.call.call_id, pass_, result.rows)
            await store.save_transcript(
                conn,
                step.call.call_id,
                "corrected",
                step.call.language,
                " ".join(result.texts),
                [{"source": pass_, "text": text} for text in result.texts],
            )
        return Corrected(corrections=len(result.rows), by_level=result.by_level)

    @activity.defn
    async def propose(self, step: StepInput) -> int:
        """Learning proposals from this call (for review; nothing becomes active here).

        Low-confidence words a correction fixed, and lookups that found nothing; both
        scans are idempotent. Returns the new sightings recorded.
        """
        async with self._pool.connection() as conn, conn.transaction():
            fixed = await scan_low_confidence(conn, step.call.tenant_id, step.call.call_id)
            missed = await scan_tool_misses(conn, step.call.tenant_id, step.call.call_id)
        return fixed + missed

    @activity.defn
    async def analyse(self, step: StepInput) -> Analysed:
        """Analyse the corrected call; store it and put the promise on the contact."""
        async with self._pool.connection() as conn:
            call = await store.find_call(conn, step.call.call_key)
            turns = await store.online_turns(conn, step.call.call_id)
            corrected = await store.load_transcript(conn, step.call.call_id, "corrected")
        if call is None:
            raise ApplicationError("the call disappeared", type=CALL_NOT_FOUND, non_retryable=True)
        texts = [str(s["text"]) for s in corrected or []]
        analysis = await analyse_call(_analysis_input(call, turns, texts), self._summarizer)
        extracted = {k: str(v) for k, v in analysis.variables.model_dump().items() if v is not None}
        summary = {
            "intent": analysis.intent.intent.value,
            "intent_confidence": analysis.intent.confidence,
            "sentiment_trend": analysis.sentiment_trend.label.value,
            "success": analysis.success.achieved if analysis.success.goal else None,
            "quality": analysis.quality.score,
            "summary": analysis.summary,
        }
        async with self._pool.connection() as conn, conn.transaction():
            await store.save_analysis(
                conn,
                call.call_id,
                step.call.analysis_version,
                summary,
                analysis.model_dump(mode="json"),
            )
            if extracted:
                await store.write_back_extracted(conn, call.call_id, extracted)
            await _report_promise(conn, call, analysis.variables)
        return Analysed(
            intent=summary["intent"],
            success=summary["success"],
            quality=analysis.quality.score,
            extracted=extracted,
        )

    @activity.defn
    async def document(self, step: StepInput) -> str:
        """Write the call's metadata document; its recording's checksum ('' if none)."""
        async with self._pool.connection() as conn, conn.transaction():
            document, checksum = await call_document(conn, step.call)
            await store.save_document(conn, step.call.call_id, document, checksum)
        return checksum

    @activity.defn
    async def announce(self, step: StepInput) -> str:
        """Record the `call_analyzed` event once per call and analysis version; its id."""
        event_id = f"call_analyzed-{step.call.call_id}-v{step.call.analysis_version}"
        async with self._pool.connection() as conn:
            headline = await store.analysis_summary(conn, step.call.call_id)
            payload: dict[str, Any] = {"call_id": step.call.call_id, "call_key": step.call.call_key}
            if headline is not None:
                payload |= headline
            await emit(
                conn,
                event_id=event_id,
                tenant_id=step.call.tenant_id,
                type="call_analyzed",
                data=payload,
                call_id=step.call.call_id,
                subject=call_subject(step.call.call_key),
            )
        return event_id


async def _report_promise(conn: Conn, call: store.StoredCall, found: ExtractedVariables) -> None:
    """`promise_registered` for a promise the analysis heard and no in-call tool reported.

    Once per call: a retried or later analysis of the same call records nothing new.
    """
    if found.promised_amount is None and found.promised_date is None:
        return
    links = await call_webhooks.links_of_call(conn, call.call_id, call.call_key, call.tenant_id)
    await call_webhooks.record_promise(
        conn,
        links,
        amount=found.promised_amount,
        currency=found.promised_currency,
        pay_date=found.promised_date,
        source="analysis",
    )


def _analysis_input(
    call: store.StoredCall, turns: list[store.StoredTurn], corrected: list[str]
) -> CallAnalysisInput:
    """The turns in order, the caller's words as corrected when they line up one to one."""
    said = [t for t in turns if t.user_text]
    by_turn = dict(zip((t.index for t in said), corrected, strict=False))
    if len(corrected) != len(said):
        by_turn = {}  # the offline utterances do not map onto turns: keep the live words
    lines: list[Turn] = []
    for turn in turns:
        user = by_turn.get(turn.index, turn.user_text)
        if user:
            lines.append(Turn(speaker="user", text=user))
        if turn.agent_text:
            lines.append(Turn(speaker="agent", text=turn.agent_text))
    language = "en" if call.language.startswith("en") else "es"
    zone = _zone(call.contact_timezone) or ZONE_BY_LANGUAGE[language]
    return CallAnalysisInput(
        call_id=call.call_id,
        language=language,
        started_at=call.started_at,
        timezone=zone,
        default_currency=CURRENCY_BY_LANGUAGE[language],
        goal="promise_to_pay" if _is_collection(call.agent) else None,
        outcome=call.outcome,
        turns=lines,
    )


def _is_collection(agent: str | None) -> bool:
    """Whether the agent's calls aim at a promise to pay (by the agent's name)."""
    return (agent or "").lower().startswith(COLLECTION_PREFIXES)


async def _exists(path: str | None) -> bool:
    return bool(path) and await asyncio.to_thread(os.path.exists, path or "")


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return ZoneInfo(name).key
    except (ZoneInfoNotFoundError, ValueError):
        return None


def activity_methods(activities: PostCallActivities) -> list[Callable[..., Any]]:
    """Everything a worker registers for the post-call workflow."""
    return [
        activities.find_call,
        activities.retranscribe,
        activities.correct,
        activities.propose,
        activities.analyse,
        activities.document,
        activities.announce,
    ]


__all__ = ["PostCallActivities", "activity_methods"]
