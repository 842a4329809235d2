-- 0001: the schema the mission needs. Later issues add numbered files; never edit an
-- applied one (the runner refuses a changed checksum).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Until tenants and API keys arrive, everything belongs to this tenant.
INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'default');

CREATE TABLE agents (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    name        text NOT NULL,
    language    text NOT NULL DEFAULT 'es',
    kind        text NOT NULL DEFAULT 'flow' CHECK (kind IN ('flow', 'llm')),
    definition  jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE campaigns (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id),
    name          text NOT NULL,
    status        text NOT NULL DEFAULT 'created'
                  CHECK (status IN ('created', 'running', 'paused', 'completed', 'cancelled', 'failed')),
    timezone      text NOT NULL DEFAULT 'UTC',
    agent_id      uuid REFERENCES agents(id),
    -- schedule, caps and retry rules; validated by the API's models
    policy        jsonb NOT NULL DEFAULT '{}'::jsonb,
    workflow_id   text UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz
);
CREATE INDEX campaigns_tenant_created ON campaigns (tenant_id, created_at DESC);

CREATE TABLE contacts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants(id),
    campaign_id       uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    position          integer NOT NULL,
    external_id       text,
    name              text NOT NULL,
    -- E.164 numbers in the order they are tried (to_number first, then try_phones)
    phones            text[] NOT NULL CHECK (cardinality(phones) >= 1),
    timezone          text,
    segment           text,
    variables         jsonb NOT NULL DEFAULT '{}'::jsonb,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'in_progress', 'retry_scheduled', 'done',
                                       'excluded', 'failed', 'opted_out', 'cancelled')),
    outcome           text,
    attempts_count    integer NOT NULL DEFAULT 0,
    last_phone_tried  text,
    next_attempt_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, position),
    UNIQUE (campaign_id, external_id)
);
CREATE INDEX contacts_campaign_state ON contacts (campaign_id, state);

CREATE TABLE call_attempts (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- the attempt's workflow id; the idempotency key carried down to the carrier
    attempt_key           text NOT NULL UNIQUE,
    tenant_id             uuid NOT NULL REFERENCES tenants(id),
    campaign_id           uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id            uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    attempt_number        integer NOT NULL CHECK (attempt_number >= 1),
    phone                 text NOT NULL,
    status                text NOT NULL DEFAULT 'dialing'
                          CHECK (status IN ('dialing', 'completed', 'error')),
    outcome               text,
    disconnection_reason  text,
    started_at            timestamptz NOT NULL DEFAULT now(),
    answered_at           timestamptz,
    ended_at              timestamptz,
    duration_s            double precision,
    cost                  numeric(12, 6) NOT NULL DEFAULT 0,
    cost_breakdown        jsonb NOT NULL DEFAULT '{}'::jsonb,
    extracted             jsonb NOT NULL DEFAULT '{}'::jsonb,
    transcript            text,
    error                 text,
    UNIQUE (contact_id, attempt_number)
);
CREATE INDEX call_attempts_campaign ON call_attempts (campaign_id, started_at);

CREATE TABLE calls (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id             uuid NOT NULL REFERENCES tenants(id),
    attempt_id            uuid UNIQUE REFERENCES call_attempts(id) ON DELETE SET NULL,
    agent_id              uuid REFERENCES agents(id),
    direction             text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    from_number           text,
    to_number             text,
    status                text NOT NULL DEFAULT 'ringing'
                          CHECK (status IN ('ringing', 'in_progress', 'ended', 'failed')),
    started_at            timestamptz NOT NULL DEFAULT now(),
    answered_at           timestamptz,
    ended_at              timestamptz,
    duration_s            double precision,
    outcome               text,
    disconnection_reason  text,
    recording_path        text,
    usage                 jsonb NOT NULL DEFAULT '{}'::jsonb,
    cost                  numeric(12, 6) NOT NULL DEFAULT 0,
    metadata              jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at DESC);

CREATE TABLE call_events (
    id          bigserial PRIMARY KEY,
    call_id     uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    type        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_id, seq)
);

CREATE TABLE call_turns (
    id                  bigserial PRIMARY KEY,
    call_id             uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    turn_index          integer NOT NULL,
    user_text           text,
    agent_text          text,
    endpointing_ms      double precision,
    stt_ms              double precision,
    brain_ms            double precision,
    tts_first_audio_ms  double precision,
    voice_to_voice_ms   double precision,
    sentiment           real,
    interrupted         boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_id, turn_index)
);

CREATE TABLE transcripts (
    id          bigserial PRIMARY KEY,
    call_id     uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('online', 'offline', 'corrected')),
    language    text,
    text        text NOT NULL,
    segments    jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_id, kind)
);

CREATE TABLE webhooks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    url          text NOT NULL,
    events       text[] NOT NULL DEFAULT '{}',
    description  text,
    active       boolean NOT NULL DEFAULT true,
    secret       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id        uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    -- stable event id: the receiver deduplicates on it (webhook-id header)
    event_id          text NOT NULL,
    event_type        text NOT NULL,
    payload           jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'delivered', 'failed', 'disabled')),
    attempts          integer NOT NULL DEFAULT 0,
    last_status_code  integer,
    last_error        text,
    next_attempt_at   timestamptz,
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);

CREATE TABLE corrections (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    kind        text NOT NULL CHECK (kind IN ('dictionary', 'lexicon', 'pair')),
    wrong       text,
    correct     text NOT NULL,
    category    text,
    language    text NOT NULL DEFAULT 'es',
    embedding   vector(384),
    active      boolean NOT NULL DEFAULT true,
    source      text NOT NULL DEFAULT 'manual',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX corrections_embedding_hnsw ON corrections USING hnsw (embedding vector_cosine_ops);
CREATE UNIQUE INDEX corrections_natural_key
    ON corrections (tenant_id, kind, coalesce(wrong, ''), correct, language);

CREATE TABLE opt_outs (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    phone       text NOT NULL,
    reason      text,
    source      text NOT NULL DEFAULT 'api',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, phone)
);
