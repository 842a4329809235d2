-- 0013: many media workers beside one database (workers/media_membership.py).
-- Each media worker registers here with its capacity and heartbeats; the attempt
-- workflow places a call on a worker with room (centralita/telephony/store/
-- media_workers.py) and runs the call's activity on that worker's own task queue.
-- A row whose heartbeat is older than the placement's staleness limit is ignored,
-- so a killed worker leaves placement within seconds without anyone deleting it.

CREATE TABLE media_workers (
    -- host, process and a random part: a restarted worker is a new worker
    worker_id     text PRIMARY KEY,
    -- the Temporal task queue only this worker polls
    task_queue    text NOT NULL UNIQUE,
    -- where its HTTP service answers (carrier service, signalling, controls)
    address       text NOT NULL,
    max_calls     integer NOT NULL CHECK (max_calls >= 1),
    -- calls it holds now, as of its last heartbeat (placement adds its own picks to it
    -- until the next heartbeat says how many really started)
    active_calls  integer NOT NULL DEFAULT 0 CHECK (active_calls >= 0),
    -- placements made since its last heartbeat: the next heartbeat still counts them
    -- (a call placed may not have reached the worker when it beats), then clears them
    picked_since_beat integer NOT NULL DEFAULT 0 CHECK (picked_since_beat >= 0),
    languages     text[] NOT NULL DEFAULT '{}',
    voices        text[] NOT NULL DEFAULT '{}',
    -- draining: not taking calls (finishing them after SIGTERM, or its queue not polled
    -- yet, or Temporal lost); placement skips it
    draining      boolean NOT NULL DEFAULT false,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_workers_heartbeat ON media_workers (heartbeat_at);

-- A call lost with its media worker (SIGKILL, a crashed machine): what was said before
-- it dropped, copied from the live events, kept beside the attempt, which is then rung
-- again on another worker under the same key.
CREATE TABLE dropped_calls (
    call_key      text NOT NULL,
    -- the attempt workflow's count of lost placements of this key: 1, 2, ...
    drop_number   integer NOT NULL CHECK (drop_number >= 1),
    media_worker  text NOT NULL,
    detected_at   timestamptz NOT NULL,
    -- [{"speaker": "agent"|"user", "text": ..., "at_s": ...}] in the order said
    transcript    jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (call_key, drop_number)
);
