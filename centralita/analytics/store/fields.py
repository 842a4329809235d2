"""How every analytics query reads a call's derived fields, written once.

- **Answered**: an attempt whose outcome says a conversation was held. No answer,
  busy, voicemail and failed are not conversations; the campaign's calling rules draw
  the same line (`NOT_A_CONVERSATION` in `centralita/kernel/calls.py`).
- **The promise** of a call: what the post-call analysis extracted (the considered
  reading of the whole transcript) when it found an amount or a date, else what the
  agent registered live (`register_promise` puts `promised_amount`,
  `promised_currency` and `promised_date` in the attempt's `extracted`). A call
  *made a promise* when its outcome is `promise_to_pay` or either source holds one.

The fragments expect the aliases `a` (call_attempts, may be NULL), `c` (calls, may be
NULL) and `an` (call_analyses, may be NULL).
"""

from __future__ import annotations

from typing import Final

from centralita.kernel.calls import NOT_A_CONVERSATION, CallOutcome

# Outcomes of attempts that held no conversation.
_UNREACHED_SQL = ", ".join(f"'{o.value}'" for o in sorted(NOT_A_CONVERSATION))

# An inbound call has no attempt: its own outcome speaks for it.
OUTCOME: Final = "coalesce(a.outcome, c.outcome)"
ANSWERED: Final = f"({OUTCOME} IS NOT NULL AND {OUTCOME} NOT IN ({_UNREACHED_SQL}))"

# Where the promise is read from: the analysis' variables when they hold one.
_SOURCE: Final = (
    "(CASE WHEN an.analysis->'variables'->>'promised_amount' IS NOT NULL "
    "OR an.analysis->'variables'->>'promised_date' IS NOT NULL "
    "THEN an.analysis->'variables' ELSE coalesce(a.extracted, '{}'::jsonb) END)"
)


def _numeric(json_value: str) -> str:
    # A JSON number or a string of digits (write-backs keep strings); anything else is
    # no amount rather than a failed query.
    text = f"(({json_value}) #>> '{{}}')"
    return f"(CASE WHEN {text} ~ '^[0-9]+(\\.[0-9]+)?$' THEN {text}::numeric END)"


PROMISED_AMOUNT: Final = _numeric(f"{_SOURCE}->'promised_amount'")
PROMISED_CURRENCY: Final = f"({_SOURCE}->>'promised_currency')"
PROMISED_DATE: Final = f"({_SOURCE}->>'promised_date')"
MADE_PROMISE: Final = (
    f"({OUTCOME} = '{CallOutcome.PROMISE_TO_PAY.value}' "
    f"OR {PROMISED_AMOUNT} IS NOT NULL OR {PROMISED_DATE} IS NOT NULL)"
)
