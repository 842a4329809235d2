"""Webhooks: signed, durable delivery of domain events to a tenant's endpoints.

- `signing`: `whsec_` secrets, Standard Webhooks `webhook-*` headers, verification.
- `ssrf`: `check_url` refuses targets inside the network, at registration and delivery.
- `retry_schedule`: the delay before each attempt; pure, safe inside a workflow.
- `sender`: one POST, pinned to the checked address, judged into a verdict.
- `delivery`: one logged attempt: body, signature, POST, the attempt's log line.
- `store`: subscriptions, deliveries and the attempt log in Postgres; `models` what it returns.
- `messages`: the delivery workflow's and attempt activity's inputs and results.

I/O lives in `ssrf` (DNS), `sender` (HTTP), `delivery` and `store` (Postgres); the others
are pure. The outbox is `centralita/kernel/events.py`, the dispatcher
`workers/webhook_dispatch.py`, the workflow `workflows/webhook_delivery.py`.

May import: `centralita.kernel` only (its layer is the lowest above the kernel).
"""
