"""Which agent takes a call, and how its session is configured.

The dial request names the agent (the campaign maps the contact's segment to it); a
request with none gets the default flow of the language. `flow_agent_for` reads the
shipped agents (`realtime/agents/*.yaml`); a tenant's own agents are stored in
`realtime/store/agents.py`, and `realtime/store/agent_lookup.py` finds the call's (its
tenant's, else the shipped one) and sets it up with `setup_for`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from centralita.kernel.calls import DialRequest
from realtime.agents.external_tools import ExternalTools
from realtime.agents.flows.engine import FlowBrain
from realtime.agents.flows.schema import AgentDefinition
from realtime.agents.flows.templates import VariableError
from realtime.agents.flows.tools import KnowledgeLookup, PaymentLinkAction
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.llm.flow_brain import FlowLlmBrain
from realtime.agents.loader import DEFAULT_AGENT, AnyAgentDefinition, load_any_agent
from realtime.providers.base import AgentBrain, TextToSpeech
from realtime.session.call_session import SessionConfig
from realtime.session.human_queue import HumanQueue

log = logging.getLogger(__name__)

# Where neither the contact nor its number names a zone, the call is in the agent's
# usual market.
ZONE_BY_LANGUAGE = {
    "es-CL": "America/Santiago",
    "es-ES": "Europe/Madrid",
    "es": "America/Santiago",
    "en-US": "America/New_York",
    "en-GB": "Europe/London",
    "en": "America/New_York",
}
# Words the recogniser should favour on collections calls (faster-whisper hotwords): the
# ones it otherwise mishears on phone audio ("llámeme" as "ya me me"). Single words only:
# a whole phrase as a hint gets hallucinated into unrelated turns.
DOMAIN_HINTS = {
    "es": ["llámeme", "mañana", "pesos", "viernes"],
    "en": ["tomorrow", "dollars", "Friday"],
}
CURRENCY_BY_LANGUAGE = {"es-CL": "CLP", "es-ES": "EUR", "es": "CLP", "en": "USD", "en-US": "USD"}


@dataclass
class AgentSetup:
    """A call's brain and its session settings."""

    brain: AgentBrain
    config: SessionConfig
    voice: TextToSpeech | None = None  # the agent's own voice; None: the line's
    # The call's way into its tenant's human queue (agents with a handoff policy, on a
    # media worker with a database: `realtime/store/agent_lookup.py`); None: none.
    human_queue: HumanQueue | None = None


def flow_agent_for(request: DialRequest, base: SessionConfig | None = None) -> AgentSetup:
    """The agent the request names (or the default flow), with the call's language.

    A flow agent gets a `FlowBrain` (a `FlowLlmBrain` in LLM mode, with an `llm:`
    block); an LLM agent (`kind: llm`) an `LlmBrain`.

    Raises:
        realtime.agents.loader.AgentNotFoundError: no agent of that name.
        realtime.agents.flows.templates.VariableError: the contact lacks a required variable,
            or the LLM agent's key is not set.
    """
    return setup_for(load_any_agent(request.agent or DEFAULT_AGENT), request, base)


def setup_for(
    definition: AnyAgentDefinition,
    request: DialRequest,
    base: SessionConfig | None = None,
    *,
    utc_now: Callable[[], datetime] = lambda: datetime.now(UTC),
    knowledge: KnowledgeLookup | None = None,
    external: ExternalTools | None = None,
    payment_links: PaymentLinkAction | None = None,
) -> AgentSetup:
    """The session settings and brain of ``definition`` for this call.

    The call runs on the contact's clock (`contact_zone`): "mañana" and "the 15th" are
    the contact's, whatever the agent's language and wherever the media worker runs.

    Args:
        definition: The agent.
        request: The call (its number, variables and agent).
        base: Session settings to start from.
        utc_now: The clock (tests pass a fixed one); the brain reads it in the contact's zone.
        knowledge: the call's tenant's knowledge base (LLM agents' `search_knowledge`
            tool, flows' `special.question` node); None: the agent has none.
        external: the tenant's own tools (HTTP, MCP) bound to this call
            (`realtime/store/tenant_tools.py`); None: none.
        payment_links: `send_payment_link` by WhatsApp, bound to this call's tenant
            (`realtime/store/payment_links.py`); None: the stand-in link.

    Raises:
        realtime.agents.flows.templates.VariableError: see `flow_agent_for`.
    """
    language = definition.language
    zone = contact_zone(request, language)
    template = base or SessionConfig()
    config = SessionConfig(
        language=language.split("-")[0],
        timezone=zone.key,
        default_currency=definition.currency or CURRENCY_BY_LANGUAGE.get(language),
        endpoint_silence_ms=template.endpoint_silence_ms,
        early_transcribe_ms=template.early_transcribe_ms,
        turns=definition.turns or template.turns,
        barge_in_min_ms=template.barge_in_min_ms,
        reprompt_after_s=template.reprompt_after_s,
        max_silences=template.max_silences,
        max_duration_s=template.max_duration_s,
        voicemail=definition.voicemail,
        handoff=definition.handoff,
        hints=[
            *template.hints,
            *definition_hints(request),
            *DOMAIN_HINTS.get(language.split("-")[0], []),
        ],
    )

    def clock() -> datetime:
        return utc_now().astimezone(zone)

    if isinstance(definition, LlmAgentDefinition):
        return AgentSetup(
            brain=llm_brain(
                definition, request.variables, clock, knowledge, external, payment_links
            ),
            config=config,
            voice=agent_voice(definition),
        )
    voice = agent_voice(definition)
    if definition.llm is not None:
        brain = flow_llm_brain(
            definition, request.variables, clock, knowledge, external, payment_links
        )
        return AgentSetup(brain=brain, config=config, voice=voice)
    brain = FlowBrain(
        definition,
        request.variables,
        clock=clock,
        knowledge=knowledge,
        external=external,
        payment_links=payment_links,
    )
    return AgentSetup(brain=brain, config=config, voice=voice)


def contact_zone(request: DialRequest, language: str) -> ZoneInfo:
    """The zone of the contact's clock, which relative dates ("el miércoles", "tomorrow")
    are resolved on.

    The contact's own `timezone` variable when it names a zone; else the zone of the
    number (`phonenumbers`: +1 212 is New York, +34 91 Madrid, +56 Santiago; a number
    with several zones takes the agent's usual one when it is among them, else the
    first); else the agent's language's usual zone (`ZONE_BY_LANGUAGE`), UTC only for a
    language without one. On an inbound call the number is the caller's (`from_number`).
    """
    override = str(request.variables.get("timezone") or "").strip()
    if override:
        try:
            return ZoneInfo(override)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning(
                "call %s: unknown timezone %r, using the number's",
                request.idempotency_key,
                override,
            )
    usual = ZONE_BY_LANGUAGE.get(language) or ZONE_BY_LANGUAGE.get(language.split("-")[0])
    for name in _number_zones(request.from_number or request.to_number, usual):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # an alias this tzdata lacks
    return ZoneInfo(usual or "UTC")


def _number_zones(number: str, usual: str | None) -> list[str]:
    """The zones `phonenumbers` names for a number, the agent's usual one first."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return []
    if not phonenumbers.is_valid_number(parsed):
        return []
    zones = [z for z in phone_timezones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    return sorted(zones, key=lambda z: z != usual)


def agent_voice(definition: AnyAgentDefinition) -> TextToSpeech | None:
    """The agent's own voice, if it has one.

    Raises:
        VariableError: the voice's key is not set.
    """
    if definition.voice is None:
        return None
    key = (definition.voice.model_dump_json(), definition.language)
    cached = _voices.get(key)
    if cached is not None:
        return cached
    try:
        voice = definition.voice.tts(definition.language, os.environ)
    except ValueError as exc:
        raise VariableError(str(exc)) from exc
    _voices[key] = voice  # one HTTP client per voice, shared by its calls
    return voice


_voices: dict[tuple[str, str], TextToSpeech] = {}


def llm_brain(
    definition: LlmAgentDefinition,
    variables: Mapping[str, Any],
    clock: Callable[[], datetime],
    knowledge: KnowledgeLookup | None = None,
    external: ExternalTools | None = None,
    payment_links: PaymentLinkAction | None = None,
) -> AgentBrain:
    """The LLM agent's brain for this contact.

    Raises:
        VariableError: a required variable is missing, or the model's key is not set.
    """
    missing = [
        v.name
        for v in definition.variables
        if v.required and all(variables.get(k) in (None, "") for k in (v.name, *v.aliases))
    ]
    if missing:
        raise VariableError(f"agent {definition.name!r} needs {', '.join(missing)}")
    try:
        brain = definition.brain(variables, clock, knowledge=knowledge, payment_links=payment_links)
    except ValueError as exc:  # the key's environment variable is not set
        raise VariableError(str(exc)) from exc
    if external is not None:
        brain.use_external_tools(external)
    return brain


def flow_llm_brain(
    definition: AgentDefinition,
    variables: Mapping[str, Any],
    clock: Callable[[], datetime],
    knowledge: KnowledgeLookup | None = None,
    external: ExternalTools | None = None,
    payment_links: PaymentLinkAction | None = None,
) -> AgentBrain:
    """A flow agent's brain in LLM mode (its `llm:` block).

    Raises:
        VariableError: a required variable is missing, or the model's key is not set.
    """
    try:
        return FlowLlmBrain(
            definition,
            variables,
            clock=clock,
            knowledge=knowledge,
            external=external,
            payment_links=payment_links,
        )
    except VariableError:
        raise
    except ValueError as exc:  # the key's environment variable is not set
        raise VariableError(str(exc)) from exc


def definition_hints(request: DialRequest) -> list[str]:
    """Words the recogniser should expect on this call: the person's name, mostly."""
    return [str(v) for k, v in request.variables.items() if k in {"nombre", "name"} and v]
