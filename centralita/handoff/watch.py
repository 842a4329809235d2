"""One call's handoff triggers, applied turn by turn (pure: no clock, no I/O).

The call session asks twice a turn: `before_reply` with what the caller said (a request
for a person, the sentiment, a loop, a legal matter) and `after_reply` with what the
agent did (it did not understand, or could not answer a question). The first trigger
that fires decides. A trigger fires at most once per call; after a decision the watch
stays quiet, unless the caller turns an offered person down (`declined`): then the
other triggers may still fire, so a caller is never offered a person twice for the
same reason.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from statistics import fmean

from centralita.handoff.legal import legal_matter
from centralita.handoff.policy import (
    BEFORE_REPLY,
    PRIORITY,
    HandoffAction,
    HandoffPolicy,
    HandoffRule,
    HandoffTrigger,
)


@dataclass(frozen=True, slots=True)
class HandoffDecision:
    """A trigger fired: what to do, and why (said to the operator)."""

    trigger: HandoffTrigger
    action: HandoffAction
    reason: str

    @property
    def priority(self) -> int:
        """The queue priority of the call (higher is answered first)."""
        return PRIORITY.get(self.trigger, 0)


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """What the session knows of a caller's turn before the agent answers."""

    text: str
    asked_for_person: bool
    sentiment: float
    repeated: bool  # the caller repeated an earlier question, or the agent itself


class HandoffWatch:
    """Applies a policy to one call's turns."""

    def __init__(self, policy: HandoffPolicy) -> None:
        self.policy = policy
        windows = [r.turns for r in policy.rules if r.trigger is HandoffTrigger.NEGATIVE_SENTIMENT]
        self._sentiments: deque[float] = deque(maxlen=max(windows, default=1))
        self._loops = 0
        self._fallbacks = 0
        self._fired: set[HandoffTrigger] = set()
        self.settled = False  # a transfer is under way, or an offer was made

    def before_reply(self, turn: CallerTurn) -> HandoffDecision | None:
        """A decision from the caller's words, or None (the agent answers as usual)."""
        self._sentiments.append(turn.sentiment)
        self._loops = self._loops + 1 if turn.repeated else 0
        if self.settled:
            return None
        for rule in self.policy.rules:
            if rule.trigger in BEFORE_REPLY and rule.trigger not in self._fired:
                reason = self._reason_before(rule, turn)
                if reason is not None:
                    return self._fire(rule, reason)
        return None

    def after_reply(self, *, fallback: bool, unanswered: bool) -> HandoffDecision | None:
        """A decision from what the agent just did, or None."""
        self._fallbacks = self._fallbacks + 1 if fallback else 0
        if self.settled:
            return None
        fallbacks = self.policy.rule(HandoffTrigger.FALLBACKS)
        if fallbacks is not None and self._fallbacks >= fallbacks.turns:
            return self._fire(fallbacks, f"the agent did not understand {self._fallbacks} turns")
        question = self.policy.rule(HandoffTrigger.UNANSWERED_QUESTION)
        if question is not None and unanswered:
            return self._fire(question, "a question the documents do not answer")
        return None

    def _reason_before(self, rule: HandoffRule, turn: CallerTurn) -> str | None:
        trigger = rule.trigger
        if trigger is HandoffTrigger.EXPLICIT_REQUEST and turn.asked_for_person:
            return "the caller asked for a person"
        if trigger is HandoffTrigger.LEGAL:
            matter = legal_matter(turn.text)
            return f"legal matter: {matter.value}" if matter is not None else None
        if trigger is HandoffTrigger.LOOP and self._loops >= rule.turns:
            return f"no progress for {self._loops} turns"
        if trigger is HandoffTrigger.NEGATIVE_SENTIMENT:
            return self._upset(rule)
        return None

    def _upset(self, rule: HandoffRule) -> str | None:
        window = list(self._sentiments)[-rule.turns :]
        if len(window) < rule.turns or rule.threshold is None:
            return None
        mean = fmean(window)
        if mean >= rule.threshold:
            return None
        return f"sentiment {mean:.2f} over {rule.turns} turns (below {rule.threshold:.2f})"

    def _fire(self, rule: HandoffRule, reason: str) -> HandoffDecision:
        self._fired.add(rule.trigger)
        self.settled = True
        return HandoffDecision(trigger=rule.trigger, action=rule.action, reason=reason)

    def declined(self) -> None:
        """The caller turned an offer down: other triggers may fire later."""
        self.settled = False
