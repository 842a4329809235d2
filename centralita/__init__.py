"""Centralita's core: the kernel and one package per domain.

- `kernel/`: settings, database, ids, Temporal client, telemetry, privacy, the events
  outbox, migrations, the call vocabulary. Imports nothing else of the project.
- Domains, each owning its rules and its SQL (`store` modules): `campaigns` (calling and
  retry rules, jurisdictions, campaigns, contacts, attempts, opt-outs), `calls` (stored
  calls as read), `understanding` (intents, amounts, dates, sentiment: live flows and
  post-call analysis share it), `analysis`, `correction`, `learning` and `postcall` (what
  happens after a call), `webhooks`, `tenants` (keys, rates, retention), `analytics`
  (figures and exports).

May import: the kernel imports nothing of the project; domains import the kernel and the
domains below them (see the import-linter contracts in `pyproject.toml`).
"""

__version__ = "0.1.0"
