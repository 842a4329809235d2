"""The kernel: what every part of Centralita stands on, and nothing else.

- `settings`: the one `Settings` class (`CENTRALITA_*`), read through a cached getter.
- `db`: the Postgres pool and the one connection type every layer passes around.
- `ids`: the default tenant's id and the checks on ids from URLs.
- `temporal`, `search_attributes`: the Temporal client factory (converter, tracing) and
  the search attributes operators filter campaigns by.
- `telemetry`, `tracing_http`, `tracing_links`, `tracing_masking`, `logs`: traces and
  logs, personal data masked before anything leaves.
- `key_ring`: the AES-GCM keys that encrypt payloads and stored secrets (rotation).
- `privacy`: masking of phone numbers and national ids wherever they are written.
- `events`: the domain-events outbox webhooks deliver from.
- `migrate`: the runner of `migrations/*.sql`.
- `calls`: the call vocabulary (outcomes, contact states, a dial and its result, the
  `Dialer` protocol).
- `call_events`: what a call's events say: `CallEventType` and one payload model per
  type (the producers, the stored and live rows, webhooks and analytics share it).
- `llm`: how to reach an OpenAI-compatible model.
- `pcm`: `Pcm16`, the sample type of speech audio (the media plane's audio and its
  providers, which may not import each other, both speak it).
- `tasks`, `runtime`, `durations`, `addresses`: small helpers every layer needs.

May import: the standard library and third-party packages only, nothing else of the
project (an import-linter contract in `pyproject.toml` enforces it).
"""
