"""Webhook primitives: Standard Webhooks signing, the SSRF guard, the retry schedule, and
one HTTP delivery attempt.

Each module is one concept and has no I/O except `ssrf` (DNS) and `sender` (HTTP), so the
delivery workflow, the storage and the API build on them without mocking anything:

- `signing`: `whsec_` secrets, `webhook-*` headers, verification (receivers, tests).
- `ssrf`: `check_url` refuses targets inside the network, at registration and delivery.
- `retry_schedule`: the delay before each attempt; pure, safe inside a workflow.
- `sender`: one POST, pinned to the checked address, classified into a verdict.
"""
