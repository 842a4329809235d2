"""Whether the agent reached its goal, and a quality score for the call.

Goals are named by the campaign ("promise_to_pay"…). Each known goal has a rule over
what the call said; an unknown goal is judged by the call's recorded outcome alone, so
a new goal name never reads as reached by accident.

The quality score is a weighted mean of components in [0, 1], each a thing a
supervisor would check when listening to the call:

* ``sentiment_end`` (0.3): how the caller sounded at the end, the mean sentiment of the
  last third of their turns mapped from [-1, 1] to [0, 1]. The end, not the average,
  because a call that calms an angry caller down is a good call.
* ``no_repeated_questions`` (0.2): 1 minus the share of the agent's questions that
  repeat an earlier one (same content words): asking again means the agent did not
  understand or did not listen.
* ``goal_reached`` (0.3): 1 when the goal was reached, else 0; left out with no goal.
* ``no_unresolved_dispute`` (0.2): 0 when the caller disputed and no promise followed,
  else 1. An open dispute needs a person to follow it up.

Components that do not apply are left out and the weights of the rest renormalised.
"""

from __future__ import annotations

from collections.abc import Sequence

from centralita.analysis.call_intent import TurnReading
from centralita.analysis.model import (
    Entity,
    EntityKind,
    GoalResult,
    QualityScore,
    Turn,
    TurnSentiment,
)
from centralita.analysis.promises import Promise, undone_after
from centralita.analysis.trend import end_state
from centralita.kernel.calls import NOT_A_CONVERSATION
from centralita.understanding.context import content_words, jaccard
from centralita.understanding.model import Intent

_WEIGHTS = {
    "sentiment_end": 0.3,
    "no_repeated_questions": 0.2,
    "goal_reached": 0.3,
    "no_unresolved_dispute": 0.2,
}
# As in the live context analysis: questions sharing this much of their content words
# are the same question.
_SAME_QUESTION = 0.6
_PROMISE_GOALS = frozenset({"promise_to_pay", "payment_promise"})
_CALLBACK_GOALS = frozenset({"callback", "schedule_callback", "callback_request"})
_IDENTITY_GOALS = frozenset({"verify_identity", "identity"})
_CONTACT_GOALS = frozenset({"collect_contact", "update_contact"})
_ID_KINDS = frozenset({EntityKind.RUT, EntityKind.DNI, EntityKind.NIE})


def _promise_goal(promises: Sequence[Promise], readings: Sequence[TurnReading]) -> GoalResult:
    concrete = [p for p in promises if p.concrete]
    if not concrete:
        if promises:
            return GoalResult(
                goal="promise_to_pay",
                achieved=False,
                reason=f"a promise in turn {promises[-1].turn} named no amount and no date",
            )
        return GoalResult(goal="promise_to_pay", achieved=False, reason="no payment promise")
    last = concrete[-1]
    undone = undone_after(readings, last.turn)
    if undone is not None:
        said = undone.understanding.intent.value
        return GoalResult(
            goal="promise_to_pay",
            achieved=False,
            reason=f"the promise in turn {last.turn} was followed by {said} in turn {undone.turn}",
        )
    what = ", ".join(
        part
        for part in (
            f"{last.amount} {last.currency or ''}".strip() if last.amount is not None else "",
            f"on {last.date}" if last.date else "",
        )
        if part
    )
    how = "agreed to the agent's proposal" if last.confirmed else "promised"
    return GoalResult(
        goal="promise_to_pay", achieved=True, reason=f"caller {how} {what} in turn {last.turn}"
    )


def goal_result(
    goal: str | None,
    outcome: str | None,
    promises: Sequence[Promise],
    readings: Sequence[TurnReading],
    entities: Sequence[Entity],
) -> GoalResult:
    """Whether the call reached the agent's goal.

    Args:
        goal: The goal's name, or None.
        outcome: The call's recorded outcome, if known.
        promises: The call's payment promises.
        readings: The user turns as the NLU read them.
        entities: The call's entities.

    Returns:
        The verdict with a one-line reason.
    """
    if goal is None:
        return GoalResult(goal=None, achieved=False, reason="no goal was set")
    if outcome in NOT_A_CONVERSATION:
        return GoalResult(goal=goal, achieved=False, reason=f"nobody was reached ({outcome})")
    if goal in _PROMISE_GOALS:
        result = _promise_goal(promises, readings)
        return result.model_copy(update={"goal": goal})
    if goal in _CALLBACK_GOALS:
        for r in readings:
            u = r.understanding
            asked = Intent.CALLBACK_REQUEST in {u.intent, *u.also}
            if asked and (u.slots.callback_at or u.slots.callback_day):
                return GoalResult(
                    goal=goal, achieved=True, reason=f"callback time agreed in turn {r.turn}"
                )
        return GoalResult(goal=goal, achieved=False, reason="no callback time was agreed")
    if goal in _IDENTITY_GOALS:
        ids = [e for e in entities if e.kind in _ID_KINDS and e.speaker == "user"]
        if any(e.valid for e in ids):
            return GoalResult(goal=goal, achieved=True, reason="caller gave a valid national id")
        reason = "the national id given has a wrong check digit" if ids else "no national id"
        return GoalResult(goal=goal, achieved=False, reason=reason)
    if goal in _CONTACT_GOALS:
        kinds = {EntityKind.PHONE, EntityKind.EMAIL}
        if any(e.kind in kinds and e.speaker == "user" for e in entities):
            return GoalResult(goal=goal, achieved=True, reason="caller gave a phone or email")
        return GoalResult(goal=goal, achieved=False, reason="no phone or email was given")
    if outcome is not None and outcome == goal:
        return GoalResult(goal=goal, achieved=True, reason=f"the call's outcome is {outcome}")
    return GoalResult(
        goal=goal, achieved=False, reason=f"no rule for goal {goal!r} and no matching outcome"
    )


def _heard(reading: TurnReading) -> set[Intent]:
    return {reading.understanding.intent, *reading.understanding.also}


def repeated_question_share(turns: Sequence[Turn]) -> float:
    """The share of the agent's questions that repeat an earlier agent question.

    Args:
        turns: The transcript.

    Returns:
        A value in [0, 1]; 0 when the agent asked nothing.
    """
    asked: list[frozenset[str]] = []
    repeats = 0
    for turn in turns:
        if turn.speaker != "agent" or "?" not in turn.text:
            continue
        words = content_words(turn.text)
        if any(jaccard(words, earlier) >= _SAME_QUESTION for earlier in asked):
            repeats += 1
        asked.append(words)
    return repeats / len(asked) if asked else 0.0


def unresolved_dispute(readings: Sequence[TurnReading], promises: Sequence[Promise]) -> bool:
    """Whether the caller disputed and no payment promise came after the last dispute.

    Args:
        readings: The user turns as the NLU read them.
        promises: The call's payment promises.

    Returns:
        True when a dispute was left open.
    """
    disputes = [
        r.turn
        for r in readings
        if Intent.DISPUTE in {r.understanding.intent, *r.understanding.also}
    ]
    if not disputes:
        return False
    return not any(p.turn > disputes[-1] for p in promises)


def quality(
    turns: Sequence[Turn],
    sentiments: Sequence[TurnSentiment],
    goal: GoalResult,
    readings: Sequence[TurnReading],
    promises: Sequence[Promise],
) -> QualityScore:
    """The call's quality score and its components (see the module docstring).

    Args:
        turns: The transcript.
        sentiments: The user turns' sentiment, in order.
        goal: The goal verdict.
        readings: The user turns as the NLU read them.
        promises: The call's payment promises.

    Returns:
        The weighted mean of the components that apply, and the components.
    """
    components = {
        "sentiment_end": (end_state(sentiments) + 1.0) / 2.0,
        "no_repeated_questions": 1.0 - repeated_question_share(turns),
        "no_unresolved_dispute": 0.0 if unresolved_dispute(readings, promises) else 1.0,
    }
    if goal.goal is not None:
        components["goal_reached"] = 1.0 if goal.achieved else 0.0
    total = sum(_WEIGHTS[name] for name in components)
    score = sum(_WEIGHTS[name] * value for name, value in components.items()) / total
    return QualityScore(
        score=round(score, 3), components={k: round(v, 3) for k, v in components.items()}
    )
