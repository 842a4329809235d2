-- 0010: durable webhook delivery (issue 7). What 0001's `webhooks` and
-- `webhook_deliveries` lacked: secret rotation, why an endpoint was disabled, the event's
-- order key on each delivery, a log of every HTTP attempt, and the dispatcher's cursor
-- over the `domain_events` outbox (0009).

-- Rotation: the previous secret keeps signing beside the new one until it expires, so a
-- receiver can switch secrets without losing a message.
ALTER TABLE webhooks ADD COLUMN previous_secret text;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at timestamptz;
-- Why the endpoint stopped receiving (a 410 from it, or a person), and when.
ALTER TABLE webhooks ADD COLUMN disabled_reason text;
ALTER TABLE webhooks ADD COLUMN disabled_at timestamptz;
ALTER TABLE webhooks ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX webhooks_tenant_created ON webhooks (tenant_id, created_at DESC);

-- A delivery carries what its body needs (type, payload, occurred_at), so it can be
-- replayed after the event itself was purged. `event_seq` and `subject` come from the
-- event (NULL for test sends): deliveries of one subject go out in `event_seq` order.
ALTER TABLE webhook_deliveries ADD COLUMN event_seq bigint;
ALTER TABLE webhook_deliveries ADD COLUMN subject text;
ALTER TABLE webhook_deliveries ADD COLUMN occurred_at timestamptz NOT NULL DEFAULT now();
-- How many times a person asked for it again (each replay runs the schedule afresh).
ALTER TABLE webhook_deliveries ADD COLUMN replays integer NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN last_attempt_at timestamptz;
ALTER TABLE webhook_deliveries ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX webhook_deliveries_webhook_created
    ON webhook_deliveries (webhook_id, created_at DESC);
-- The dispatcher finds an event's deliveries again after a restart.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
-- Disabling an endpoint settles its pending deliveries at once.
CREATE INDEX webhook_deliveries_pending
    ON webhook_deliveries (webhook_id) WHERE status = 'pending';

-- Every HTTP attempt, written when it starts (verdict NULL) and completed with its
-- outcome: an attempt whose worker died mid-request stays in the log without a verdict.
-- `attempt` numbers a delivery's attempts across replays, from 1.
CREATE TABLE webhook_attempts (
    id                bigserial PRIMARY KEY,
    delivery_id       uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt           integer NOT NULL CHECK (attempt >= 1),
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    verdict           text CHECK (verdict IN ('delivered', 'retry', 'gone', 'refused')),
    status_code       integer,
    error             text,
    latency_ms        double precision,
    retry_after_s     double precision,
    response_excerpt  text,
    UNIQUE (delivery_id, attempt)
);

-- Where the dispatcher has planned up to: every event with seq <= last_seq has its
-- deliveries planned. One row per dispatcher name (one dispatcher runs per database).
CREATE TABLE webhook_dispatch_cursor (
    name        text PRIMARY KEY,
    last_seq    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
