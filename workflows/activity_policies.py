"""Named timeouts and retry policies for every activity a workflow calls.

Short timeouts matter as much as retries: when a worker dies mid-activity, Temporal
retries only after the timeout (or a missed heartbeat), and the campaign waits that long.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Database writes are small idempotent upserts: a try that takes 10 s is a dead worker
# or a stuck database, and the retry (with backoff) rides out a Postgres restart. A
# campaign policy that cannot be applied ("InvalidPolicy", campaign_policy.INVALID_POLICY)
# would fail every retry the same way.
STORE_TIMEOUT = timedelta(seconds=10)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["NotFound", "InvalidData", "InvalidPolicy"],
)

# A dial carries its idempotency key, so a retry after a dropped worker re-joins the
# call already placed instead of ringing twice; a lost heartbeat surfaces within 10 s.
# Tries are unlimited within DIAL_GIVE_UP: losing workers is no reason to lose the
# attempt. After that the attempt is recorded as a failed call (see CallAttemptWorkflow).
DIAL_TIMEOUT = timedelta(minutes=30)
DIAL_HEARTBEAT = timedelta(seconds=10)
DIAL_GIVE_UP = timedelta(hours=2)
DIAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["InvalidDialRequest", "InvalidPolicy"],
)

# Placement on a media worker (activities/placement.py). Choosing one is a small
# transaction, tried again every few seconds while no worker has room: the attempt
# waits, it never fails for want of room (until DIAL_GIVE_UP). The call activity on
# the chosen worker's queue is tried once there: a worker that does not take it within
# PLACED_CALL_START (gone before it polled) or stops heartbeating mid-call (killed) is
# replaced by a new placement on another worker, the same attempt and key.
PLACEMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=5),
)
PLACED_CALL_START = timedelta(seconds=10)
# The call activity heartbeats every 2 s (activities/dialing.py): three missed beats mean
# the worker is gone, so a killed worker's calls are re-placed within 10 s of the kill,
# server timer lag included (the bound; 10 s here measured 9-9.9 s).
PLACED_CALL_HEARTBEAT = timedelta(seconds=6)
PLACED_CALL_RETRY = RetryPolicy(maximum_attempts=1)
# Pause before placing again after a worker refused a call or a try failed; doubles
# up to the last, like DIAL_RETRY's back-off. A lost worker is replaced at once.
REPLACE_BACKOFF = (timedelta(seconds=1), timedelta(seconds=30))

# Choosing due contacts reads the campaign's contacts and their histories; it
# heartbeats between batches so a worker killed mid-plan is noticed in seconds.
DISPATCH_TIMEOUT = timedelta(minutes=2)
DISPATCH_HEARTBEAT = timedelta(seconds=10)
DISPATCH_RETRY = STORE_RETRY

# Post-call steps. Re-transcription runs Whisper with beam search over a whole call:
# minutes for a long one, heartbeating per utterance, so a killed worker is noticed in
# 30 s and the step is redone elsewhere. Analysis and storage are seconds of CPU: a
# worker lost in one of them is noticed within 30 s.
RETRANSCRIBE_TIMEOUT = timedelta(minutes=20)
RETRANSCRIBE_HEARTBEAT = timedelta(seconds=30)
ANALYSIS_TIMEOUT = timedelta(seconds=30)
POST_CALL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
    non_retryable_error_types=["CallNotFound", "RecordingUnreadable"],
)

# Webhook attempts. The HTTP request has its own timeout (the workflow's
# `attempt_timeout_s`); the margin covers the attempt log's writes around it. The
# activity heartbeats while it waits, so a worker killed mid-request is noticed within
# the heartbeat timeout and the attempt is made again (the receiver deduplicates on
# webhook-id). Tries are unlimited: a database or worker outage delays deliveries, it
# never drops them; what the receiver answers is a result, not an activity failure.
WEBHOOK_ATTEMPT_MARGIN = timedelta(seconds=15)
WEBHOOK_ATTEMPT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
