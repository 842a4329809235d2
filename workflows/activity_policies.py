"""Named timeouts and retry policies for every activity a workflow calls."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Database writes are idempotent upserts: retry patiently through a Postgres restart.
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["NotFound", "InvalidData"],
)

# A dial carries its idempotency key, so a retry after a dropped media worker re-joins
# or re-reports the same call instead of ringing twice. A lost heartbeat surfaces fast.
DIAL_TIMEOUT = timedelta(minutes=30)
DIAL_HEARTBEAT = timedelta(seconds=10)
DIAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=["InvalidDialRequest"],
)

# Choosing due contacts reads the campaign's contacts and their histories: give it time,
# and retry it like any other read (it writes only idempotent reschedules).
DISPATCH_TIMEOUT = timedelta(minutes=2)
DISPATCH_RETRY = STORE_RETRY
