-- 0004: a call's events while it is under way, for live views (GET /calls/{key}/events).
-- The media worker writes them in batches (every ~100 ms) and NOTIFYs channel
-- `call_events` with the call key; API processes LISTEN and stream them as server-sent
-- events. `id` orders everything and is the SSE event id a reconnecting client resumes
-- from (Last-Event-ID). The stored call keeps its own copy in `call_events` at its end;
-- these rows are the live feed (and a record of calls that never ended cleanly).

CREATE TABLE live_call_events (
    id          bigserial PRIMARY KEY,
    -- the call's key: the attempt's idempotency key, or an inbound call's id
    call_key    text NOT NULL,
    -- the event's position in its call (CallRecord.events), unique per call
    seq         integer NOT NULL CHECK (seq >= 0),
    type        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- seconds since the call started, as the media worker saw them
    at_s        double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_key, seq)
);

CREATE INDEX live_call_events_key_id ON live_call_events (call_key, id);
-- calls in progress: started, not ended (GET /calls?live=true)
CREATE INDEX live_call_events_lifecycle ON live_call_events (type, created_at)
    WHERE type IN ('call_started', 'call_ended');
