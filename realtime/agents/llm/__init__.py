"""LLM agents: any OpenAI-compatible chat model as the agent's brain, streaming into TTS.

- `agent`: an LLM agent as data: model, prompt, greeting, tools.
- `brain`: `LlmBrain`: streamed sentences (`realtime.providers.sentences`), tool calls,
  fillers and fallbacks.
- `prompt`: an LLM agent's system prompt.
- `flow_brain`, `flow_prompt`: a flow in LLM mode: the model talks, the flow decides.
- `tool_deltas`: tool calls reassembled from streamed deltas.

May import: `realtime.agents.flows`, what `realtime.agents` may, the `centralita`
packages.
"""
