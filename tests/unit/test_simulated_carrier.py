"""The simulated carrier: scripted personas, idempotent dials, instant with time_scale=0."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
import pydantic
import pytest

from centralita.kernel.calls import CallOutcome, DialRequest, InvalidDialRequestError
from realtime.carrier.simulated import (
    Persona,
    PersonaBook,
    PersonaStep,
    SimulatedCarrier,
    packaged_personas,
)

pytestmark = pytest.mark.unit

PAYS = "+56961234567"
THIRD_TIME = "+56972345678"
UNKNOWN = "+56998765432"

PERSONAS = [
    Persona(
        number=PAYS,
        name="pays",
        script=[
            PersonaStep(
                outcome=CallOutcome.PROMISE_TO_PAY,
                ring_seconds=1.0,
                talk_seconds=2.0,
                transcript="Cliente: pago el viernes.",
                extracted={"promised_amount": 200000},
            )
        ],
    ),
    Persona(
        number=THIRD_TIME,
        name="answers third time",
        script=[
            PersonaStep(outcome=CallOutcome.NO_ANSWER),
            PersonaStep(outcome=CallOutcome.BUSY),
            PersonaStep(outcome=CallOutcome.COMPLETED, talk_seconds=1.0),
        ],
    ),
]


def _request(to: str = PAYS, attempt: int = 1, key: str | None = None) -> DialRequest:
    return DialRequest(
        idempotency_key=key or f"attempt-{to}-{attempt}",
        to_number=to,
        campaign_id="camp",
        contact_id="contact",
        attempt_number=attempt,
    )


def _stepping_clock(start: datetime, step: timedelta) -> Callable[[], datetime]:
    """A clock that moves `step` forward on each reading."""

    def ticks() -> Iterator[datetime]:
        now = start
        while True:
            yield now
            now += step

    it = ticks()
    return lambda: next(it)


@pytest.fixture
def carrier() -> SimulatedCarrier:
    return SimulatedCarrier(PERSONAS, time_scale=0.0)


# -- scripts -----------------------------------------------------------------------------


def test_step_for_each_attempt_and_the_last_repeats() -> None:
    persona = PERSONAS[1]
    outcomes = [persona.step_for(n).outcome for n in range(1, 7)]
    assert outcomes == [
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        *[CallOutcome.COMPLETED] * 4,
    ]


async def test_dial_follows_the_script_by_attempt_number(carrier: SimulatedCarrier) -> None:
    results = [await carrier.dial(_request(THIRD_TIME, attempt=n)) for n in range(1, 6)]
    assert [r.outcome for r in results] == [
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        CallOutcome.COMPLETED,
        CallOutcome.COMPLETED,
        CallOutcome.COMPLETED,
    ]
    assert len(carrier.dial_log) == 5


async def test_script_keyed_by_attempt_not_by_call_order(carrier: SimulatedCarrier) -> None:
    third = await carrier.dial(_request(THIRD_TIME, attempt=3))
    first = await carrier.dial(_request(THIRD_TIME, attempt=1))
    assert third.outcome is CallOutcome.COMPLETED
    assert first.outcome is CallOutcome.NO_ANSWER


# -- idempotency -------------------------------------------------------------------------


async def test_second_dial_with_same_key_reports_the_first(carrier: SimulatedCarrier) -> None:
    first = await carrier.dial(_request(THIRD_TIME, attempt=1, key="k"))
    # Even a request that would script differently gets the first call's result.
    again = await carrier.dial(_request(THIRD_TIME, attempt=3, key="k"))

    assert again == first
    assert again.outcome is CallOutcome.NO_ANSWER
    assert [r.idempotency_key for r in carrier.dial_log] == ["k"]


async def test_concurrent_dials_with_same_key_ring_once() -> None:
    # A small, nonzero time scale: the first dial is still ringing when the others arrive.
    carrier = SimulatedCarrier(PERSONAS, time_scale=0.01)
    request = _request(PAYS, key="same")

    results = await asyncio.gather(*(carrier.dial(request) for _ in range(3)))

    assert results[0] == results[1] == results[2]
    assert results[0].outcome is CallOutcome.PROMISE_TO_PAY
    assert len(carrier.dial_log) == 1


async def test_concurrent_dials_instant_carrier(carrier: SimulatedCarrier) -> None:
    request = _request(PAYS, key="same")
    first, second = await asyncio.gather(carrier.dial(request), carrier.dial(request))
    assert first == second
    assert len(carrier.dial_log) == 1


async def test_different_keys_ring_again(carrier: SimulatedCarrier) -> None:
    await carrier.dial(_request(PAYS, key="a"))
    await carrier.dial(_request(PAYS, key="b"))
    assert [r.idempotency_key for r in carrier.dial_log] == ["a", "b"]


async def test_only_the_last_ended_calls_are_remembered() -> None:
    # A long-running carrier forgets the oldest ended calls: their results and log entries.
    carrier = SimulatedCarrier(PERSONAS, time_scale=0.0, keep_finished=2)
    for key in ("a", "b", "c"):
        await carrier.dial(_request(PAYS, key=key))
    assert [r.idempotency_key for r in carrier.dial_log] == ["b", "c"]
    await carrier.dial(_request(PAYS, key="c"))  # still known: rings nobody
    assert [r.idempotency_key for r in carrier.dial_log] == ["b", "c"]
    await carrier.dial(_request(PAYS, key="a"))  # forgotten: rings again
    assert [r.idempotency_key for r in carrier.dial_log] == ["c", "a"]


async def test_a_carrier_that_keeps_nothing_still_joins_a_call_under_way() -> None:
    carrier = SimulatedCarrier(PERSONAS, time_scale=0.01, keep_finished=0)
    request = _request(PAYS, key="same")
    first, second = await asyncio.gather(carrier.dial(request), carrier.dial(request))
    assert first == second
    assert carrier.dial_log == []
    assert carrier._results == {}


async def test_cancelled_dial_can_be_placed_again() -> None:
    persona = Persona(
        number=PAYS,
        name="slow",
        script=[PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.05)],
    )
    carrier = SimulatedCarrier([persona], time_scale=1.0)
    request = _request(PAYS, key="k")

    ringing = asyncio.create_task(carrier.dial(request))
    await asyncio.sleep(0)  # let it start ringing
    assert len(carrier.dial_log) == 1
    ringing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ringing

    result = await carrier.dial(request)
    assert result.outcome is CallOutcome.COMPLETED
    assert len(carrier.dial_log) == 2
    # And the redial is now the one reported under that key.
    assert await carrier.dial(request) == result
    assert len(carrier.dial_log) == 2


# -- destinations ------------------------------------------------------------------------


async def test_unknown_number_fails_as_invalid_destination(carrier: SimulatedCarrier) -> None:
    result = await carrier.dial(_request(UNKNOWN))
    assert result.outcome is CallOutcome.FAILED
    assert result.disconnection_reason == "invalid_destination"
    assert result.answered_at is None
    assert result.duration_s == 0.0
    assert len(carrier.dial_log) == 1


@pytest.mark.parametrize("number", ["56961234567", "961234567", "0056961234567", ""])
async def test_number_without_plus_raises(carrier: SimulatedCarrier, number: str) -> None:
    with pytest.raises(InvalidDialRequestError, match=r"E\.164"):
        await carrier.dial(_request(number, key="k"))
    assert carrier.dial_log == []
    # The refused request did not claim its key.
    assert (await carrier.dial(_request(PAYS, key="k"))).outcome is CallOutcome.PROMISE_TO_PAY


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("+56 9 6123 4567", id="spaces"),
        pytest.param("+56-9-6123-4567", id="dashes"),
        pytest.param("+", id="plus-only"),
        pytest.param("+abc", id="letters"),
        pytest.param("+0123456789", id="leading-zero-country"),
        pytest.param("+1234567890123456", id="over-15-digits"),
    ],
)
async def test_malformed_number_with_plus_raises(carrier: SimulatedCarrier, number: str) -> None:
    """E.164 is '+' then 1 to 15 digits, the first not 0; a leading '+' alone is not enough.

    Without this, a malformed number is "dialled" and comes back FAILED /
    invalid_destination, which the retry rules treat as a retryable line failure rather
    than the non-retryable InvalidDialRequest the dial activity maps this error to.
    """
    with pytest.raises(InvalidDialRequestError):
        await carrier.dial(_request(number))
    assert carrier.dial_log == []


# -- timing ------------------------------------------------------------------------------


async def test_answered_call_has_answer_time_and_duration(carrier: SimulatedCarrier) -> None:
    result = await carrier.dial(_request(PAYS))

    assert result.outcome is CallOutcome.PROMISE_TO_PAY
    assert result.disconnection_reason == "user_hangup"
    assert result.answered_at is not None
    assert result.started_at <= result.answered_at <= result.ended_at
    assert result.duration_s >= 0
    assert result.transcript == "Cliente: pago el viernes."
    assert result.extracted == {"promised_amount": 200000}


async def test_duration_is_from_answer_to_end() -> None:
    start = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    clock = _stepping_clock(start, timedelta(seconds=2))
    carrier = SimulatedCarrier(PERSONAS, time_scale=0.0, clock=clock)

    result = await carrier.dial(_request(PAYS))

    # Clock readings: started, answered, ended.
    assert result.started_at == start
    assert result.answered_at == start + timedelta(seconds=2)
    assert result.ended_at == start + timedelta(seconds=4)
    assert result.duration_s == pytest.approx(2.0)


async def test_frozen_clock_still_ends_after_start() -> None:
    frozen = datetime(2025, 1, 1, tzinfo=UTC)
    carrier = SimulatedCarrier(PERSONAS, time_scale=0.0, clock=lambda: frozen)
    for to in (PAYS, THIRD_TIME, UNKNOWN):
        result = await carrier.dial(_request(to))
        assert result.ended_at > result.started_at
        assert result.duration_s >= 0


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (CallOutcome.NO_ANSWER, "dial_no_answer"),
        (CallOutcome.BUSY, "dial_busy"),
        (CallOutcome.FAILED, "dial_failed"),
        (CallOutcome.VOICEMAIL, "voicemail_reached"),
    ],
)
async def test_unanswered_call_has_no_answer_time(outcome: CallOutcome, reason: str) -> None:
    persona = Persona(
        number=PAYS,
        name="unanswered",
        script=[PersonaStep(outcome=outcome, talk_seconds=5.0, transcript="ignored")],
    )
    carrier = SimulatedCarrier([persona], time_scale=0.0)

    result = await carrier.dial(_request(PAYS))

    assert result.outcome is outcome
    assert result.disconnection_reason == reason
    assert result.answered_at is None
    assert result.duration_s == 0.0
    assert result.transcript is None
    assert result.ended_at > result.started_at


# -- persona files -----------------------------------------------------------------------


def test_packaged_personas_load_with_unique_valid_numbers() -> None:
    book = PersonaBook.load(packaged_personas())
    numbers = [p.number for p in book.personas]

    assert numbers
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        parsed = phonenumbers.parse(number, None)
        assert phonenumbers.is_valid_number(parsed), number
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        assert e164 == number
    assert all(p.script for p in book.personas)


async def test_packaged_personas_all_dial() -> None:
    book = PersonaBook.load(packaged_personas())
    demo = SimulatedCarrier(book.personas, time_scale=0.0)
    for persona in book.personas:
        for attempt in range(1, len(persona.script) + 1):
            result = await demo.dial(_request(persona.number, attempt=attempt))
            assert result.outcome is persona.step_for(attempt).outcome
            assert result.disconnection_reason != "invalid_destination"


def _write_book(path: Path, outcome: str) -> Path:
    book = {"personas": [{"number": PAYS, "name": "x", "script": [{"outcome": outcome}]}]}
    path.write_text(json.dumps(book), encoding="utf-8")
    return path


def test_persona_file_round_trip(tmp_path: Path) -> None:
    book = PersonaBook.load(_write_book(tmp_path / "ok.json", "voicemail"))
    assert book.personas[0].script[0].outcome is CallOutcome.VOICEMAIL


def test_persona_file_with_invalid_outcome_fails_clearly(tmp_path: Path) -> None:
    path = _write_book(tmp_path / "bad.json", "hung_up")

    with pytest.raises(pydantic.ValidationError) as info:
        PersonaBook.load(path)

    errors = info.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ("personas", 0, "script", 0, "outcome")
    assert errors[0]["type"] == "enum"
    assert errors[0]["input"] == "hung_up"
    assert "promise_to_pay" in errors[0]["msg"]


@pytest.mark.parametrize(
    "persona",
    [
        pytest.param({"number": PAYS, "name": "x", "script": []}, id="empty-script"),
        pytest.param(
            {"number": PAYS, "name": "x", "script": [{"outcome": "busy", "ring_seconds": -1}]},
            id="negative-ring",
        ),
        pytest.param({"number": PAYS, "script": [{"outcome": "busy"}]}, id="no-name"),
    ],
)
def test_persona_file_other_invalid_shapes(tmp_path: Path, persona: dict[str, object]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"personas": [persona]}), encoding="utf-8")
    with pytest.raises(pydantic.ValidationError):
        PersonaBook.load(path)


async def test_cancelling_one_dial_does_not_cancel_a_joined_one() -> None:
    """Nobody cancelled the joined dial, so it must not end cancelled.

    When the first caller gives up, the joined one may redial or report an error, but a
    CancelledError it never asked for would look like its own activity's cancellation.
    """
    persona = Persona(
        number=PAYS,
        name="slow",
        script=[PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.05)],
    )
    carrier = SimulatedCarrier([persona], time_scale=1.0)
    request = _request(PAYS, key="k")

    first = asyncio.create_task(carrier.dial(request))
    await asyncio.sleep(0)
    joined = asyncio.create_task(carrier.dial(request))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(first, joined, return_exceptions=True)

    assert first.cancelled()
    assert not joined.cancelled()
