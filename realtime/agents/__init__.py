"""The agent's brain: conversation flows (`flows/`), LLM agents (`llm/`, which drive
flows too), how an agent is found (`loader`: shipped YAML files here and the tenant's
stored ones; `lookup`: per tenant, cached) and set up for a call (`setup`).

One direction inside: `llm` builds on `flows`, never the reverse. The shipped agents are
the `*.yaml` files of this folder.

May import: `realtime.providers`, `realtime.store`, the `centralita` packages.
"""
