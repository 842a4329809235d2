"""What post-call analysis takes and gives: one input model and one result model.

Both cross a Temporal activity boundary (the pydantic data converter serialises them),
so they are plain Pydantic v2 data: no behaviour beyond validation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

Speaker = Literal["agent", "user"]


class CallIntent(StrEnum):
    """What a whole call was about, from the caller's side."""

    PAYMENT_PROMISE = "payment_promise"
    BILLING_INQUIRY = "billing_inquiry"
    DISPUTE = "dispute"
    CALLBACK_REQUEST = "callback_request"
    CANCELLATION = "cancellation"
    WRONG_PERSON = "wrong_person"
    OPT_OUT = "opt_out"
    TECHNICAL_SUPPORT = "technical_support"
    OTHER = "other"


class EntityKind(StrEnum):
    """The kinds of values pulled out of a transcript."""

    AMOUNT = "amount"
    DATE = "date"
    RUT = "rut"
    DNI = "dni"
    NIE = "nie"
    PHONE = "phone"
    EMAIL = "email"


class TrendLabel(StrEnum):
    """Which way the caller's mood went over the call."""

    IMPROVING = "improving"
    WORSENING = "worsening"
    STABLE = "stable"


class Turn(BaseModel):
    """One turn of the transcript.

    `word_confidences`, when given, has one value per whitespace-separated word of
    `text` (what the recogniser reported); a list of another length is ignored.
    """

    speaker: Speaker
    text: str
    word_confidences: list[float] | None = None

    @field_validator("word_confidences")
    @classmethod
    def _in_unit_range(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(not 0.0 <= c <= 1.0 for c in value):
            raise ValueError("word confidences must lie in [0, 1]")
        return value


class CallAnalysisInput(BaseModel):
    """A finished call, as analysis needs it."""

    call_id: str
    language: Literal["es", "en"]
    started_at: datetime = Field(description="Call start, timezone-aware")
    timezone: str = Field(description="IANA zone of the caller, e.g. America/Santiago")
    default_currency: str | None = Field(
        default=None, description="ISO 4217 currency of the campaign, for amounts said bare"
    )
    goal: str | None = Field(default=None, description='The agent\'s goal: "promise_to_pay"…')
    outcome: str | None = Field(default=None, description="The call's outcome, if known")
    turns: list[Turn]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone: {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _aware_start(self) -> CallAnalysisInput:
        # Relative dates ("el viernes") are resolved on the caller's calendar day; a
        # naive start would silently mean the server's zone.
        if self.started_at.tzinfo is None or self.started_at.utcoffset() is None:
            raise ValueError("started_at must be timezone-aware")
        return self


class Span(BaseModel):
    """Where a value was said: a turn and a character range of its text."""

    turn: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Entity(BaseModel):
    """One value heard in the call.

    Attributes:
        kind: What it is.
        text: The words as transcribed (``turn.text[start:end]``).
        value: Canonical form: "200000" for an amount, ISO date, "12345678-5" for a RUT,
            E.164 for a phone, the lowercased address for an email.
        currency: ISO 4217, for amounts.
        valid: The checksum verdict for RUT/DNI/NIE; None for other kinds.
        negated: For amounts said under a negation ("no puedo pagar 500 mil").
        confidence: The lowest recogniser confidence of its words, when known.
    """

    kind: EntityKind
    speaker: Speaker
    span: Span
    text: str
    value: str
    currency: str | None = None
    valid: bool | None = None
    negated: bool = False
    confidence: float | None = None


class TurnSentiment(BaseModel):
    """Sentiment of one user turn."""

    turn: int
    score: float = Field(ge=-1.0, le=1.0)
    label: str


class SentimentTrend(BaseModel):
    """How sentiment moved across the user turns.

    Attributes:
        slope: Least-squares slope of score over user-turn index (score per turn).
        delta: Mean of the last third minus mean of the first third.
        label: improving / worsening / stable.
    """

    slope: float
    delta: float
    label: TrendLabel


class IntentResult(BaseModel):
    """The call's intent and how sure we are of it."""

    intent: CallIntent
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[int] = Field(default_factory=list, description="Turn indexes")


class Topic(BaseModel):
    """A topic from the domain taxonomy with the turns that raised it."""

    name: str
    evidence: list[int]


class GoalResult(BaseModel):
    """Whether the agent reached its goal, and why we say so."""

    goal: str | None
    achieved: bool
    reason: str


class QualityScore(BaseModel):
    """A 0..1 call quality score and the components it was averaged from."""

    score: float = Field(ge=0.0, le=1.0)
    components: dict[str, float]


class ExtractedVariables(BaseModel):
    """Values written back to the contact (the latest promise wins)."""

    promised_amount: int | None = None
    promised_currency: str | None = None
    promised_date: str | None = Field(default=None, description="ISO date")


class CallAnalysis(BaseModel):
    """Everything post-call analysis says about one call."""

    call_id: str
    language: str
    sentiments: list[TurnSentiment]
    sentiment_trend: SentimentTrend
    intent: IntentResult
    entities: list[Entity]
    topics: list[Topic]
    summary: str
    summary_source: Literal["extractive", "llm"]
    success: GoalResult
    quality: QualityScore
    variables: ExtractedVariables
