"""An LLM agent as data: the model to use, its prompt, greeting and tools.

Stored and selected like a flow agent (YAML or JSON, `kind: llm`); the prompt's
`{variables}` come from the contact. The key is never in the definition: it names the
environment variable (a setting) that holds it.

    kind: llm
    name: asistente-cobranza
    language: es-CL
    currency: CLP
    model: {base_url: "http://127.0.0.1:11434/v1", model: "llama3.1", api_key_env: null}
    fallback: {base_url: "https://api.openai.com/v1", model: "gpt-4o-mini",
               api_key_env: OPENAI_API_KEY}
    greeting: "Hola, le habla Sofía de {empresa}. ¿Hablo con {nombre}?"
    prompt: "Eres Sofía, asistente de cobranza de {empresa}. ..."
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from string import Formatter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from centralita.handoff.policy import HandoffPolicy
from realtime.agents.flows.disclosure import WHY, collection_words
from realtime.agents.flows.schema import FlowDefinitionError, VariableSpec
from realtime.agents.flows.tools import KnowledgeLookup, PaymentLinkAction, ToolContext, ToolName
from realtime.agents.llm.brain import ClientFactory, LlmBrain, default_client
from realtime.agents.model_config import LlmConfig, LlmModelSpec
from realtime.agents.voices import ElevenLabsVoiceSpec, VoiceSpec
from realtime.audio.turn_settings import TurnSettings

__all__ = ["ElevenLabsVoiceSpec", "LlmAgentDefinition", "LlmModelSpec"]


class LlmAgentDefinition(BaseModel):
    """A free-prompt LLM agent."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["llm"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    language: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    description: str = ""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    variables: list[VariableSpec] = Field(default_factory=list)
    model: LlmModelSpec
    fallback: LlmModelSpec | None = None
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    prompt: str = Field(min_length=1, description="The system prompt, {variables} filled")
    greeting: str | None = Field(default=None, description="The opening line; else the model's")
    tools: list[ToolName] | None = Field(default=None, description="Allowed tools (all if null)")
    handoff: HandoffPolicy | None = Field(
        default=None, description="When the call goes to a person (centralita.handoff.policy)"
    )
    voice: VoiceSpec | None = Field(default=None, description="Else the line's voice")
    voicemail: Literal["leave_message", "hang_up"] = Field(
        default="leave_message",
        description="On a phone answered by a machine: a short message after the beep "
        "(nothing of the debt), or hang up",
    )
    turns: TurnSettings | None = Field(
        default=None, description="When the caller's turn is over (else a 500 ms silence)"
    )

    @model_validator(mode="after")
    def _check_greeting(self) -> LlmAgentDefinition:
        problems = greeting_problems(self)
        if problems:
            raise FlowDefinitionError(self.name, problems)
        return self

    def config(self, environ: Mapping[str, str] | None = None) -> LlmConfig:
        """The brain's configuration, keys read from ``environ`` (the process's)."""
        env = os.environ if environ is None else environ
        return LlmConfig(
            endpoint=self.model.endpoint(env),
            fallback=self.fallback.endpoint(env) if self.fallback else None,
            temperature=self.temperature,
        )

    def brain(
        self,
        variables: Mapping[str, Any],
        clock: Callable[[], datetime],
        *,
        environ: Mapping[str, str] | None = None,
        client_factory: ClientFactory = default_client,
        knowledge: KnowledgeLookup | None = None,
        payment_links: PaymentLinkAction | None = None,
    ) -> LlmBrain:
        """One call's brain for this agent and contact (`knowledge`: the tenant's, for
        the `search_knowledge` tool; `payment_links`: its WhatsApp payment links)."""
        return LlmBrain(
            self.config(environ),
            instructions=self.prompt,
            variables=variables,
            language=self.language,
            tool_context=ToolContext(
                now=clock(),
                variables=dict(variables),
                knowledge=knowledge,
                payment_links=payment_links,
                identity_required=self.tools is None or "lookup_customer" in self.tools,
            ),
            tools=self.tools,
            greeting=self.greeting,
            client_factory=client_factory,
        )


def greeting_problems(definition: LlmAgentDefinition) -> list[str]:
    """What the greeting would tell whoever answered, before anyone proved who they are.

    The same rule as a flow's `before_identity` nodes (`realtime/agents/flows/schema.py`): no
    sensitive variable and no collection word. Its fields are read as `fill` reads them.
    """
    if definition.greeting is None:
        return []
    try:
        fields = {name for _, name, _, _ in Formatter().parse(definition.greeting) if name}
    except ValueError as exc:
        return [f"greeting: {exc}"]
    problems: list[str] = []
    sensitive = {
        key
        for v in definition.variables
        if v.sensitive
        for key in (v.name, *v.aliases)
        if key in fields
    }
    if sensitive:
        names = ", ".join(sorted(sensitive))
        problems.append(f"greeting: uses sensitive {names} before identity is verified")
    if words := collection_words(definition.greeting):
        listed = ", ".join(repr(w) for w in words)
        problems.append(f"greeting: says {listed} before identity is verified ({WHY})")
    return problems
