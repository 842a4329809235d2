"""LLM mode for a flow: which model chooses its transitions and fills its slots.

A flow with an `llm:` block is driven by `realtime.agents.llm.flow_brain.FlowLlmBrain`: each
node's `instructions` (or its `say` variants as guidance) become the system prompt,
the model moves the flow with `go_to_node` and records values with `fill_slots`, and
the engine still decides whether a move is allowed (conditions, identity).

    llm:
      model: {base_url: "http://127.0.0.1:11434/v1", model: "llama3.1"}
      fallback: {base_url: "https://api.openai.com/v1", model: "gpt-4o-mini",
                 api_key_env: OPENAI_API_KEY}
      temperature: 0.3
      tools: [register_promise, schedule_callback, opt_out, end_call, transfer_to_agent]
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from realtime.agents.flows.tools import ToolName
from realtime.agents.model_config import LlmConfig, LlmModelSpec


class FlowLlmSpec(BaseModel):
    """LLM mode: a model chooses the transitions and fills the slots (`FlowLlmBrain`)."""

    model_config = ConfigDict(extra="forbid")

    model: LlmModelSpec
    fallback: LlmModelSpec | None = None
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    tools: list[ToolName] | None = Field(
        default=None, description="Tools besides go_to_node/fill_slots (null: all it may use)"
    )

    def config(self, environ: Mapping[str, str]) -> LlmConfig:
        """The brain's configuration (ValueError when a key's variable is not set)."""
        return LlmConfig(
            endpoint=self.model.endpoint(environ),
            fallback=self.fallback.endpoint(environ) if self.fallback else None,
            temperature=self.temperature,
            max_tool_rounds=4,  # fill_slots, go_to_node, then the answer
        )
