"""Handing calls to people: when the agent should, and the queue they wait in.

- `policy`: an agent's handoff policy (triggers, each with its action), validated.
- `watch`: `HandoffWatch`, one call's triggers applied turn by turn (pure).
- `legal`: the words that make a call a matter for a person (a lawyer, a bankruptcy,
  a formal dispute), Spanish and English.
- `lines`: what the caller hears (transferring, holding, nobody free, the offer).
- `models`: a handoff request, its context, operators and human callbacks.
- `store` (`queue_store`, `operators_store`, `callbacks_store`): the queue in Postgres,
  the people who answer it, and the callbacks they owe.

May import: `centralita.kernel` and `centralita.understanding`.
"""
