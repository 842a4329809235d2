"""Process entry points and their wiring.

- `cli`: the `centralita` command (dev stack, demo, migrations, purge, each process role);
  `tenants_cli` its `tenants` and `keys` commands.
- `orchestrator`: the worker of campaign and attempt workflows and their activities.
- `media`: the media worker process (conversations, signalling, the carrier).
- `post_call`, `post_call_starter`: the post-call worker; starting post-call for inbound calls.
- `webhooks`, `webhook_dispatch`: the webhooks worker; the outbox dispatcher.
- `devstack`, `embedded_postgres`, `embedded_temporal`, `database`: the embedded
  development stack and which Postgres a process uses.
- `demo`: `centralita demo`, a small campaign end to end.

May import: `api`, `workflows`, `activities`, `realtime` and the `centralita` packages;
only `bench` sits above it.
"""
