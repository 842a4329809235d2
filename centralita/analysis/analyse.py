"""The single entry point of post-call analysis: a transcript in, a `CallAnalysis` out.

Pure CPU work over the transcript (no I/O) except the optional summarizer, which is
why `analyse_call` is async: an LLM summary is a network call. Everything else is
also available synchronously as `analyse`, for tests and for bulk re-analysis.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from centralita.analysis.call_intent import TurnReading, call_intent, extra_intents, turn_intents
from centralita.analysis.entities import call_entities
from centralita.analysis.model import CallAnalysis, CallAnalysisInput, CallIntent
from centralita.analysis.outcome import goal_result, quality
from centralita.analysis.promises import find_promises, promised_variables
from centralita.analysis.summary import Summarizer, extractive_summary
from centralita.analysis.topics import find_topics
from centralita.analysis.trend import trend, turn_sentiments
from centralita.understanding.nlu import understand

logger = logging.getLogger(__name__)


def analyse(call: CallAnalysisInput) -> CallAnalysis:
    """Analyse a finished call with the extractive summary.

    Args:
        call: The transcript and its context.

    Returns:
        The analysis.
    """
    # Relative dates are resolved on the caller's calendar: "mañana" said at 23:30 in
    # Santiago is not the UTC tomorrow.
    now = call.started_at.astimezone(ZoneInfo(call.timezone))
    lang = call.language
    currency = call.default_currency
    entities = call_entities(call.turns, language=lang, now=now, currency=currency)
    readings = []
    for index, turn in enumerate(call.turns):
        if turn.speaker != "user":
            continue
        u = understand(turn.text, language=lang, now=now, default_currency=currency)
        intents = turn_intents(u)
        for intent, confidence in extra_intents(turn.text, lang).items():
            intents.setdefault(intent, confidence)
        readings.append(TurnReading(turn=index, understanding=u, intents=intents))
    promises = find_promises(call.turns, readings, entities)
    for promise in promises:
        if promise.confirmed:
            # The caller's "sí" to a proposal is a promise the turn's NLU could not see.
            reading = next(r for r in readings if r.turn == promise.turn)
            reading.intents.setdefault(CallIntent.PAYMENT_PROMISE, promise.confidence)
    sentiments = turn_sentiments([(r.turn, call.turns[r.turn].text) for r in readings], lang)
    success = goal_result(call.goal, call.outcome, promises, readings, entities)
    return CallAnalysis(
        call_id=call.call_id,
        language=lang,
        sentiments=sentiments,
        sentiment_trend=trend(sentiments),
        intent=call_intent(readings),
        entities=entities,
        topics=find_topics(call.turns, readings, entities, lang),
        summary=extractive_summary(call.turns, entities, promises, lang),
        summary_source="extractive",
        success=success,
        quality=quality(call.turns, sentiments, success, readings, promises),
        variables=promised_variables(promises),
    )


async def analyse_call(
    call: CallAnalysisInput, summarizer: Summarizer | None = None
) -> CallAnalysis:
    """Analyse a finished call; summarise it with `summarizer` when one is given.

    Args:
        call: The transcript and its context.
        summarizer: An LLM (or other) summarizer; None for the extractive summary.

    Returns:
        The analysis. When the summarizer fails or returns nothing, the extractive
        summary is kept: a summary is never worth failing the analysis for.
    """
    analysis = analyse(call)
    if summarizer is None or summarizer.source == "extractive":
        return analysis
    try:
        text = (await summarizer.summarize(call, analysis)).strip()
    except Exception:
        # Any failure (network, quota, a malformed reply) leaves the extractive summary.
        logger.warning(
            "call %s: summarizer failed; keeping the extractive summary",
            call.call_id,
            exc_info=True,
        )
        return analysis
    if not text:
        return analysis
    return analysis.model_copy(update={"summary": text, "summary_source": summarizer.source})
