"""Rule-based understanding of what a caller said: intents, slots, sentiment, context.

- `nlu`: the one call the agent brain makes: a transcript in, an `Understanding` out;
  `model` is that contract.
- `intents`, `phrases`: intent classification from phrase lists per language.
- `amounts`, `numbers`: money amounts and number words, robust to recognition errors.
- `dates`: pay dates and callback times relative to the call's moment.
- `ids`: national identity numbers (RUT, DNI, NIE).
- `sentiment`: one turn's sentiment; `context`: what the last few turns say together.
- `text`: the normalisation they share.

Live flows and post-call analysis both use it.

May import: `centralita.kernel` only (its layer is the lowest above the kernel).
"""
