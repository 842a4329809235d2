"""An agent's handoff policy: which signs send a call to a person, and how.

Each rule names a trigger and its action. Triggers:

- `explicit_request`: the caller asked for a person ("quiero hablar con una persona").
- `negative_sentiment`: the mean sentiment of the last `turns` turns is below `threshold`.
- `loop`: the caller repeated an earlier question, or the agent said the same thing
  again, `turns` turns in a row (the call makes no progress).
- `fallbacks`: the agent did not understand `turns` turns in a row.
- `unanswered_question`: an off-script question the knowledge base could not answer.
- `legal`: a lawyer, a bankruptcy or a formal dispute is mentioned
  (`centralita.handoff.legal`).

Actions: `transfer_now` (the caller is told and joins the human queue), `offer_transfer`
(the agent offers a person; a yes transfers, anything else goes on), and
`schedule_callback` (a person calls back later, scheduled durably; the call ends).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HandoffTrigger(StrEnum):
    """A sign that the call needs a person."""

    EXPLICIT_REQUEST = "explicit_request"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    LOOP = "loop"
    FALLBACKS = "fallbacks"
    UNANSWERED_QUESTION = "unanswered_question"
    LEGAL = "legal"


class HandoffAction(StrEnum):
    """What the agent does when a trigger fires."""

    TRANSFER_NOW = "transfer_now"
    OFFER_TRANSFER = "offer_transfer"
    SCHEDULE_CALLBACK = "schedule_callback"


# Triggers read before the agent answers (from what the caller said) and after it (from
# what the agent did: a fallback, a question it could not answer).
BEFORE_REPLY: frozenset[HandoffTrigger] = frozenset(
    {
        HandoffTrigger.EXPLICIT_REQUEST,
        HandoffTrigger.NEGATIVE_SENTIMENT,
        HandoffTrigger.LOOP,
        HandoffTrigger.LEGAL,
    }
)

# Queue priority by trigger: a legal matter or an explicit request goes first.
PRIORITY: dict[HandoffTrigger, int] = {
    HandoffTrigger.LEGAL: 20,
    HandoffTrigger.EXPLICIT_REQUEST: 10,
    HandoffTrigger.NEGATIVE_SENTIMENT: 5,
}


class HandoffRule(BaseModel):
    """One trigger and its action."""

    model_config = ConfigDict(extra="forbid")

    trigger: HandoffTrigger
    action: HandoffAction = HandoffAction.TRANSFER_NOW
    turns: int = Field(
        default=1, ge=1, le=20, description="Consecutive turns (sentiment window, loops, fallbacks)"
    )
    threshold: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="negative_sentiment: the mean to fall below"
    )

    @model_validator(mode="after")
    def _threshold_only_for_sentiment(self) -> HandoffRule:
        sentiment = self.trigger is HandoffTrigger.NEGATIVE_SENTIMENT
        if sentiment and self.threshold is None:
            self.threshold = -0.4
        if not sentiment and self.threshold is not None:
            raise ValueError(f"threshold applies to negative_sentiment, not {self.trigger}")
        return self


class HandoffPolicy(BaseModel):
    """When an agent hands its call to a person, and how long the caller waits for one."""

    model_config = ConfigDict(extra="forbid")

    rules: list[HandoffRule] = Field(min_length=1, max_length=12)
    queue: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    max_wait_s: int = Field(default=60, ge=5, le=1800, description="Then a human callback")
    hold_line_every_s: int = Field(
        default=20, ge=5, le=300, description="How often a waiting caller hears they still wait"
    )
    callback_after_min: int = Field(
        default=60, ge=5, le=7 * 24 * 60, description="When a person calls back, from now"
    )

    @model_validator(mode="after")
    def _one_rule_per_trigger(self) -> HandoffPolicy:
        seen = [rule.trigger for rule in self.rules]
        doubled = sorted({t.value for t in seen if seen.count(t) > 1})
        if doubled:
            raise ValueError(f"one rule per trigger: {', '.join(doubled)} repeated")
        return self

    def rule(self, trigger: HandoffTrigger) -> HandoffRule | None:
        """The rule for `trigger`, if the policy has one."""
        return next((r for r in self.rules if r.trigger is trigger), None)


def default_policy() -> HandoffPolicy:
    """A sensible start: a person when asked or when the law is mentioned, an offer when
    the caller is upset or the call goes in circles, a callback when a question has no
    answer in the documents."""
    return HandoffPolicy(
        rules=[
            HandoffRule(trigger=HandoffTrigger.EXPLICIT_REQUEST),
            HandoffRule(trigger=HandoffTrigger.LEGAL),
            HandoffRule(
                trigger=HandoffTrigger.NEGATIVE_SENTIMENT,
                action=HandoffAction.OFFER_TRANSFER,
                turns=2,
                threshold=-0.4,
            ),
            HandoffRule(trigger=HandoffTrigger.LOOP, action=HandoffAction.OFFER_TRANSFER, turns=2),
            HandoffRule(trigger=HandoffTrigger.FALLBACKS, turns=3),
            HandoffRule(
                trigger=HandoffTrigger.UNANSWERED_QUESTION,
                action=HandoffAction.OFFER_TRANSFER,
            ),
        ]
    )
