"""Integration tests (`pytest -m integration`): real Postgres and real Temporal.

A fresh migrated database per module, Temporal's dev or time-skipping server, the real
FastAPI app; `post_call_worker_proc` and `webhook_worker_proc` are worker processes the
crash tests kill.

May import: everything, and `tests.support`.
"""
