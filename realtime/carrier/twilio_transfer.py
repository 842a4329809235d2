"""Handing a Twilio call to a person: cold (straight to their number) or warm (them first).

- **Cold**: the caller's call is redirected to TwiML `<Dial>` to the person's number
  (which ends our media stream); should nobody answer within the ring time, the
  `<Say>` after it tells the caller so, and the call ends.
- **Warm** (the default; dograh's conference approach): the person is called first, on
  a call of its own whose TwiML briefs them (`<Say>`: why the caller wants someone, who
  it is) and then puts them in a conference room. Only once they answered is the caller
  redirected into the same room; until then the caller stays with the agent, who, if
  nobody answers, says so and leaves a callback (`realtime.session.handover`).

The person's call reports its status to the same callback route, under the attempt's
key plus `TRANSFER_SUFFIX`, verified like every callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

from realtime.carrier.twilio_rest import TwilioCalls, TwilioRejectedError, TwilioUnavailableError

TransferMode = Literal["cold", "warm"]
TRANSFER_SUFFIX = ".transfer"
# After the ring time, how long Twilio's word on the person's call may still take.
ANSWER_GRACE_S = 5.0
# Twilio's <Say> voices by our language.
SAY_LANGUAGE = {"es": "es-MX", "en": "en-US"}
BRIEFING = {
    "es": "Transferencia de Centralita. {who} pide hablar con una persona. Motivo: {reason}.",
    "en": "Transfer from Centralita. {who} asks to speak to a person. Reason: {reason}.",
}
SORRY = {
    "es": "Lo siento, no fue posible comunicarle. Le llamaremos más tarde.",
    "en": "I'm sorry, we could not connect you. We will call you back later.",
}


@dataclass
class PersonCall:
    """What the status callbacks told of the call to the person taking over."""

    call_sid: str | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    final: asyncio.Event = field(default_factory=asyncio.Event)
    status: str | None = None

    def heard(self, form: Mapping[str, str]) -> None:
        """One verified status callback of the person's call."""
        self.status = form.get("CallStatus", self.status)
        if self.status == "in-progress":
            self.answered.set()
        elif self.status in {"completed", "busy", "no-answer", "canceled", "failed"}:
            self.final.set()


def dial_twiml(number: str, ring_s: int, language: str) -> str:
    """Cold: ring the person; if nobody answers, tell the caller (`<Say>`) and end."""
    say = SORRY.get(language, SORRY["en"])
    lang = quoteattr(SAY_LANGUAGE.get(language, "en-US"))
    return (
        f'<Response><Dial timeout="{ring_s}">{escape(number)}</Dial>'
        f"<Say language={lang}>{escape(say)}</Say></Response>"
    )


def conference_twiml(room: str, *, briefing: str | None = None, language: str = "es") -> str:
    """Into the conference room (the person first hears the briefing, if any)."""
    say = ""
    if briefing:
        lang = quoteattr(SAY_LANGUAGE.get(language, "en-US"))
        say = f"<Say language={lang}>{escape(briefing)}</Say>"
    conference = f'<Conference beep="false" endConferenceOnExit="true">{escape(room)}</Conference>'
    return f"<Response>{say}<Dial>{conference}</Dial></Response>"


def briefing_for(variables: Mapping[str, Any], reason: str, language: str) -> str:
    """What the person hears before joining: who calls, and why they asked for someone."""
    who = str(variables.get("nombre") or variables.get("name") or "")
    who = who or ("El cliente" if language == "es" else "The customer")
    template = BRIEFING.get(language, BRIEFING["en"])
    return template.format(who=who, reason=reason.replace("_", " "))


async def ring_person(
    calls: TwilioCalls,
    person: PersonCall,
    form: list[tuple[str, str]],
    *,
    ring_s: int,
) -> bool:
    """Place the person's call (`form`: its Calls API fields); whether they answered.

    A person who does not answer in time is hung up on (their phone stops ringing).
    """
    try:
        person.call_sid = await calls.create_call(form)
    except (TwilioRejectedError, TwilioUnavailableError):
        return False
    answered = asyncio.ensure_future(person.answered.wait())
    final = asyncio.ensure_future(person.final.wait())
    try:
        await asyncio.wait(
            (answered, final), timeout=ring_s + ANSWER_GRACE_S, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        answered.cancel()
        final.cancel()
    if person.answered.is_set():
        return True
    with contextlib.suppress(TwilioRejectedError, TwilioUnavailableError):
        await calls.end_call(person.call_sid, answered=False)
    return False


def new_room() -> str:
    """A conference room's name for one transfer (never reused, never guessed)."""
    return f"transfer-{secrets.token_hex(8)}"
