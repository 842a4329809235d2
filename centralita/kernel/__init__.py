"""The kernel: what every part of Centralita stands on, and nothing else.

Settings (`settings`), the database pool and connection types (`db`), shared ids (`ids`),
the Temporal client factory, converter and search attributes (`temporal`,
`search_attributes`), telemetry and logging (`telemetry`, `tracing_*`, `logs`), masking of
personal data (`privacy`), the events outbox primitive (`events`), the migration runner
(`migrate`), the shared call vocabulary (`calls`: outcomes, contact states, a dial and its
result, the `Dialer` protocol), how to reach an OpenAI-compatible model (`llm`), and small
helpers every layer needs (`tasks`, `runtime`, `durations`, `addresses`).

May import: the standard library and third-party packages only. Nothing else of the
project (an import-linter contract in `pyproject.toml` enforces it).
"""
