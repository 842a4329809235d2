"""A call summary written by an LLM, when one is configured for post-call analysis.

Any OpenAI-compatible chat endpoint (the same client the LLM agents use). The model gets
the transcript and what the rule-based analysis already found (intent, promise), and is
asked for two or three sentences in the call's language. The personal values the
analysis found (RUT, DNI/NIE, phone numbers, emails) are masked at their spans in what it
is sent. Whatever goes wrong, `analyse_call` keeps the
extractive summary.
"""

from __future__ import annotations

from typing import Literal

import openai

from centralita.analysis.model import CallAnalysis, CallAnalysisInput, EntityKind
from centralita.kernel.llm import LlmEndpoint

_INSTRUCTIONS = {
    "es": (
        "Resume esta llamada de cobranza en dos o tres frases, en español, para el "
        "supervisor: quién respondió, qué se acordó (monto y fecha si los hubo) y cómo "
        "terminó. Sin datos personales."
    ),
    "en": (
        "Summarise this collections call in two or three sentences for a supervisor: who "
        "answered, what was agreed (amount and date if any) and how it ended. No personal "
        "data."
    ),
}
# What never leaves the process.
_PERSONAL = {EntityKind.RUT, EntityKind.DNI, EntityKind.NIE, EntityKind.PHONE, EntityKind.EMAIL}


class LlmSummarizer:
    """Summaries from an OpenAI-compatible chat model.

    Args:
        endpoint: where the model is (and its key).
        timeout_s: deadline for the whole summary.
    """

    source: Literal["extractive", "llm"] = "llm"

    def __init__(self, endpoint: LlmEndpoint, *, timeout_s: float = 20.0) -> None:
        self.endpoint = endpoint
        self._client = openai.AsyncOpenAI(
            base_url=str(endpoint.base_url),
            api_key=endpoint.api_key,
            timeout=timeout_s,
            max_retries=1,
        )

    async def summarize(self, call: CallAnalysisInput, analysis: CallAnalysis) -> str:
        """Two or three sentences about the call.

        Raises:
            openai.OpenAIError: the model could not be reached or refused.
        """
        stream = await self._client.chat.completions.create(
            model=self.endpoint.model,
            temperature=0.2,
            max_tokens=200,
            stream=True,
            messages=[
                {
                    "role": "system",
                    "content": _INSTRUCTIONS.get(call.language, _INSTRUCTIONS["en"]),
                },
                {"role": "user", "content": _prompt(call, analysis)},
            ],
        )
        parts: list[str] = []
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    parts.append(choice.delta.content)
        return "".join(parts).strip()


def masked_turns(call: CallAnalysisInput, analysis: CallAnalysis) -> list[str]:
    """The turns as "speaker: text", personal values replaced by their kind."""
    texts = [t.text for t in call.turns]
    personal = [e for e in analysis.entities if e.kind in _PERSONAL]
    # Right to left within a turn, so earlier spans keep their offsets.
    for entity in sorted(personal, key=lambda e: (e.span.turn, -e.span.start)):
        text = texts[entity.span.turn]
        texts[entity.span.turn] = (
            f"{text[: entity.span.start]}[{entity.kind.value}]{text[entity.span.end :]}"
        )
    return [f"{t.speaker}: {text}" for t, text in zip(call.turns, texts, strict=True)]


def _prompt(call: CallAnalysisInput, analysis: CallAnalysis) -> str:
    lines = masked_turns(call, analysis)
    found = [
        f"intent: {analysis.intent.intent.value}",
        f"outcome: {call.outcome or 'unknown'}",
    ]
    variables = analysis.variables
    if variables.promised_amount is not None or variables.promised_date is not None:
        found.append(
            f"promise: {variables.promised_amount} {variables.promised_currency or ''} "
            f"on {variables.promised_date or '?'}"
        )
    return "Transcript:\n" + "\n".join(lines) + "\n\nAlready found:\n" + "\n".join(found)
