"""What understanding a user turn produces: the contract between NLU and the agent brain.

Shared by `centralita.understanding` (which fills it) and `realtime.agents.flows` (which acts on
it). Pure data.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Intent(StrEnum):
    """What a caller's turn means to a debt-collection or support conversation."""

    AFFIRM = "affirm"  # "sí", "correcto", "yes, speaking"
    DENY = "deny"  # "no", "no soy yo" is WRONG_PERSON, not DENY
    WRONG_PERSON = "wrong_person"  # "número equivocado", "no conozco a esa persona"
    PROMISE_TO_PAY = "promise_to_pay"  # "le pago el viernes", "puedo pagar doscientos mil"
    CANNOT_PAY = "cannot_pay"  # "no tengo plata", "I can't pay right now"
    CALLBACK_REQUEST = "callback_request"  # "llámeme mañana a las cuatro"
    DISPUTE = "dispute"  # "yo no debo eso", "ya pagué"
    OPT_OUT = "opt_out"  # "no me llamen más", "stop calling me"
    HUMAN_REQUEST = "human_request"  # "quiero hablar con una persona"
    REPEAT_REQUEST = "repeat_request"  # "¿cómo?", "repita por favor", "what?"
    GOODBYE = "goodbye"  # "chao", "adiós", "bye"
    GREETING = "greeting"  # "aló", "hola", "hello"
    VOICEMAIL = "voicemail"  # "deje su mensaje después del tono"
    UNKNOWN = "unknown"


class Sentiment(StrEnum):
    """The caller's mood in one turn."""

    FRUSTRATED = "frustrated"
    CONFUSED = "confused"
    POSITIVE = "positive"
    NEUTRAL = "neutral"


class Slots(BaseModel):
    """Values heard in a turn (None when not heard)."""

    amount: int | None = Field(default=None, description="Money amount in whole units")
    currency: str | None = Field(default=None, description="ISO 4217 when said or implied")
    pay_date: date | None = Field(default=None, description="A date to pay, resolved to ISO")
    callback_at: datetime | None = Field(
        default=None, description="When to call back, aware, in the caller's zone"
    )
    callback_day: date | None = Field(
        default=None, description="The day named for a callback (with or without an hour)"
    )
    national_id: str | None = Field(default=None, description="RUT/DNI/NIE as said")


class Understanding(BaseModel):
    """One user turn, understood."""

    text: str
    language: str  # "es" or "en"
    intent: Intent
    confidence: float = Field(ge=0.0, le=1.0)
    # Other intents heard in the same turn, best first ("sí, le pago el viernes" is
    # AFFIRM and PROMISE_TO_PAY).
    also: list[Intent] = Field(default_factory=list)
    slots: Slots = Field(default_factory=Slots)


class SentimentScore(BaseModel):
    """Sentiment of one user turn: a score in [-1, 1] and its label."""

    score: float = Field(ge=-1.0, le=1.0)
    label: Sentiment
    alert: bool  # score < -0.5: supervisors are told at once


class Steering(StrEnum):
    """What context analysis advises the agent to do next."""

    CONTINUE = "continue"
    SIMPLIFY = "simplify"  # the caller is confused or asked the same thing again
    OFFER_TRANSFER = "offer_transfer"  # frustration builds up across turns
    TRANSFER_NOW = "transfer_now"  # the caller asked for a human


class ContextAdvice(BaseModel):
    """The outcome of context analysis over the conversation so far."""

    steering: Steering
    reasons: list[str] = Field(default_factory=list)
    repeated_question: bool = False
    agent_repeated: bool = False  # the agent's last two lines said nearly the same thing
    frustration_trend: float = 0.0  # mean sentiment of the last turns
