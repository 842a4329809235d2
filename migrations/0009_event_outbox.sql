-- 0009: domain_events becomes the outbox every webhook event goes through (issue 7).
-- Producers insert a row in the same transaction as the change it reports (a stored
-- call, an analysis, a campaign's state) and NOTIFY `domain_events`; the webhook
-- dispatcher reads rows after its cursor in `seq` order and plans deliveries. Nothing
-- reported is lost if a dispatcher is down: the rows wait.

-- Text ids are stable (the receiver deduplicates on them) but not ordered: `seq` is.
ALTER TABLE domain_events ADD COLUMN seq bigserial;
CREATE UNIQUE INDEX domain_events_seq ON domain_events (seq);

-- The ordering key: events of one subject ("call:<call key>", "campaign:<id>") reach
-- each endpoint in `seq` order (call_started before call_ended). NULL: no order needed.
ALTER TABLE domain_events ADD COLUMN subject text;

-- Campaign events have no call.
ALTER TABLE domain_events ADD COLUMN campaign_id uuid REFERENCES campaigns(id) ON DELETE SET NULL;

-- The envelope's timestamp: when it happened, which may precede the insert.
ALTER TABLE domain_events ADD COLUMN occurred_at timestamptz NOT NULL DEFAULT now();
