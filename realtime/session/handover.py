"""Handing a call to a person: what a leg offers, and what the caller hears if nobody
takes it.

A flow's `transfer_to_agent` (or an LLM agent's) asks for a person. Over WebRTC there is
nobody to ring: the call ends as `transfer` (a supervisor can take a live call over
instead). A phone leg's carrier can ring someone (`realtime/carrier/twilio.py`: cold,
straight to the number; warm, the person first, briefed, then the caller): the session
awaits its `Transfer` and, when nobody takes the call, tells the caller so and leaves a
callback to the campaign's rules instead of a dead line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

# reason (the transfer tool's) -> whether a person took the call.
Transfer = Callable[[str], Awaitable[bool]]

TRANSFER_FAILED = {
    "es": "Lo siento, en este momento no hay una ejecutiva disponible. "
    "Le llamaremos más tarde. Que tenga un buen día.",
    "en": "I'm sorry, nobody from our team is available right now. "
    "We will call you back later. Have a good day.",
}


TRANSFERRING = {
    "es": "Le comunico con una ejecutiva, un momento por favor.",
    "en": "I'm putting you through to a member of our team, one moment please.",
}


def transferring_line(language: str) -> str:
    """What the caller hears when a supervisor hands the call over."""
    return TRANSFERRING.get(language.split("-")[0], TRANSFERRING["en"])


def transfer_failed_line(language: str) -> str:
    """What the caller hears when nobody took the transferred call."""
    return TRANSFER_FAILED.get(language.split("-")[0], TRANSFER_FAILED["en"])
