-- 0003: the carrier service's calls and dial log, durable (realtime/carrier/dial_store.py).
-- The media worker that hosts the carrier may be killed mid-call. A retry of the same
-- attempt must then get an ended call's result instead of ringing the person again, and
-- a call lost with its process is rung again under the same key, once.

CREATE TABLE carrier_calls (
    -- the attempt's workflow id, as the dial request's idempotency key
    idempotency_key  text PRIMARY KEY,
    -- `ringing`/`in_progress` while a process runs the call; a row left so by a dead
    -- process is a lost call (its owner is gone), rung again by the next dial request
    state            text NOT NULL DEFAULT 'ringing'
                     CHECK (state IN ('ringing', 'in_progress', 'ended')),
    -- the carrier instance (host:pid:random) that rang last
    owner            text NOT NULL,
    -- how many times the call rang (0: hung up before it was ever placed)
    dials            integer NOT NULL DEFAULT 0 CHECK (dials >= 0),
    -- the DialResult, or why the call ended without one ({"type", "detail"})
    result           jsonb,
    error            jsonb,
    -- the request's own fields, for the dial log; the number is kept as the attempt
    -- itself keeps it (call_attempts.phone): it is what the carrier dialled
    to_number        text NOT NULL,
    campaign_id      text NOT NULL,
    contact_id       text NOT NULL,
    attempt_number   integer NOT NULL CHECK (attempt_number >= 1),
    placed_at        timestamptz NOT NULL,
    dialed_at        timestamptz,
    ended_at         timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'ended' OR result IS NOT NULL OR error IS NOT NULL)
);

CREATE TABLE carrier_dial_log (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL REFERENCES carrier_calls(idempotency_key) ON DELETE CASCADE,
    -- 1 for the first ring of the key, 2 for the ring after a lost or broken one, ...
    dial             integer NOT NULL CHECK (dial >= 1),
    owner            text NOT NULL,
    at               timestamptz NOT NULL,
    -- how this ring ended: with a result, with an error, or lost with its process
    -- (null while it runs)
    ended_as         text CHECK (ended_as IN ('result', 'error', 'lost')),
    UNIQUE (idempotency_key, dial)
);
