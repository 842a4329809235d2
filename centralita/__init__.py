"""Centralita's core: the kernel and one package per domain, each owning its rules and its SQL.

- `kernel/`: settings, database, ids, Temporal client, telemetry, privacy, the events
  outbox, migrations, the call vocabulary. What every other package stands on.
- `campaigns/`: calling windows and caps, jurisdictions, retry rules, the dial gate, the
  policy; campaigns, contacts, attempts and opt-outs in Postgres.
- `calls/`: stored calls as the API reads them.
- `understanding/`: what a caller said: intents, amounts, dates, ids, sentiment, context
  (live flows and post-call analysis share it).
- `analysis/`: post-call analysis of a transcript.
- `correction/`: transcript correction: the online dictionary (L1) and the post-call
  hybrid corrector over the tenant's lexicon (L2, L3).
- `postcall/`: the post-call pipeline's messages, steps and storage.
- `learning/`: the reviewed learning loop (mistakes become proposals, approvals entries).
- `webhooks/`: signing, the SSRF guard, the retry schedule, one delivery, subscriptions.
- `tenants/`: API keys, rate buckets, call owners, retention.
- `analytics/`: the figures managers read and the exports, from stored calls.

May import: third-party packages only; never `realtime`, `activities`, `workflows`,
`api`, `workers` or `bench`, which build on it. Inside, one direction: `analytics` over
`learning | calls` over `postcall | analysis | campaigns` over `correction |
understanding | tenants | webhooks` over `kernel`; packages on one line never import each
other (the import-linter contracts in `pyproject.toml`).
"""

__version__ = "0.1.0"
