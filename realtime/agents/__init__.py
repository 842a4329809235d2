"""The agent's brain and the definitions it runs.

- `flows/`: conversation flows: the embedded, model-free brain and the definition schema.
- `llm/`: LLM agents, and flows driven by a model (it builds on `flows`, never the reverse).
- `loader`: reading definitions: YAML or JSON, a file, or a shipped agent.
- `setup`: which agent takes a call and how its session is configured.
- `model_config`: how an LLM agent reaches its model.
- `*.yaml`: the shipped agents (`cobranza-*`, `collections-*`).

A tenant's own agents are stored and looked up by `realtime/store/`.

May import: `realtime.session`, `offline`, `cache`, `audio`, `providers`, the
`centralita` packages; never `realtime.store` or anything above.
"""
