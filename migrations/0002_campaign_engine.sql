-- 0002: what the campaign engine needs: resolved recipient zones, phone rotation,
-- admission for the daily quota, callbacks, agents by segment, skipped attempts, and
-- an explainable history of every contact state change.

ALTER TABLE contacts
    ADD COLUMN recipient_timezone text,
    ADD COLUMN phone_index integer NOT NULL DEFAULT 0,
    ADD COLUMN admitted_at timestamptz,
    ADD COLUMN callback_at timestamptz,
    ADD COLUMN state_reason text;
CREATE INDEX contacts_campaign_due ON contacts (campaign_id, state, next_attempt_at);
CREATE INDEX contacts_campaign_admitted ON contacts (campaign_id, admitted_at);
CREATE INDEX contacts_phones ON contacts USING gin (phones);

ALTER TABLE call_attempts
    ADD COLUMN agent text,
    ADD COLUMN skip_reason text,
    DROP CONSTRAINT call_attempts_status_check,
    ADD CONSTRAINT call_attempts_status_check
        CHECK (status IN ('dialing', 'completed', 'skipped', 'cancelled', 'error'));
CREATE INDEX call_attempts_outcome ON call_attempts (campaign_id, outcome);
CREATE INDEX call_attempts_started ON call_attempts (started_at);

CREATE TABLE contact_events (
    id           bigserial PRIMARY KEY,
    -- natural key: a retried activity writes the same event once
    event_key    text NOT NULL UNIQUE,
    contact_id   uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    campaign_id  uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    state        text NOT NULL,
    reason       text NOT NULL,
    attempt_key  text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX contact_events_contact ON contact_events (contact_id, id);
