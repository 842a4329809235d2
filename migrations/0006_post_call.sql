-- What happens after a call: its corrections, its analysis, its metadata document, and
-- the domain events other parts deliver (webhooks: call_analyzed). Every write is keyed
-- by natural ids, so a post-call step that runs twice stores once.

-- One row per correction made to a call's transcript, reversible from these columns:
-- `before` was replaced by `after` over words [word_start, word_end) of segment
-- `segment_index` of the `pass` transcript ('offline': the re-transcription).
CREATE TABLE call_corrections (
    id             bigserial PRIMARY KEY,
    call_id        uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    pass           text NOT NULL CHECK (pass IN ('online', 'offline')),
    segment_index  integer NOT NULL,
    word_start     integer NOT NULL,
    word_end       integer NOT NULL,
    level          text NOT NULL CHECK (level IN ('L1', 'L2', 'L3')),
    score          real NOT NULL,
    before         text NOT NULL,
    after          text NOT NULL,
    probability    real,
    reverted_at    timestamptz,
    reverted_by    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_id, pass, segment_index, word_start)
);
CREATE INDEX call_corrections_after ON call_corrections (after) WHERE reverted_at IS NULL;

-- The analysis of a call (centralita.analysis.CallAnalysis), and the columns managers
-- filter on. `version` says which extraction produced it (bulk re-analysis bumps it).
CREATE TABLE call_analyses (
    call_id          uuid PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    version          integer NOT NULL,
    intent           text NOT NULL,
    intent_confidence real NOT NULL,
    sentiment_trend  text NOT NULL,
    success          boolean,
    quality          real NOT NULL,
    summary          text NOT NULL,
    analysis         jsonb NOT NULL,
    analysed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_analyses_intent ON call_analyses (intent);

-- A call's metadata document: audio format, duration and checksum of the recording,
-- transcripts (online, offline, corrected), corrections and analysis in one place.
CREATE TABLE call_documents (
    call_id     uuid PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    document    jsonb NOT NULL,
    checksum    text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Events for other systems, each with a stable id (webhooks deliver them, issue 7).
CREATE TABLE domain_events (
    id          text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    type        text NOT NULL,
    call_id     uuid REFERENCES calls(id) ON DELETE CASCADE,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domain_events_type_created ON domain_events (type, created_at);

-- Soft delete: a deleted call is hidden at once and purged by retention later.
ALTER TABLE calls ADD COLUMN deleted_at timestamptz;

-- What the post-call analysis extracted (promised amount and date), on the contact the
-- campaign lists; the latest analysed call wins.
ALTER TABLE contacts ADD COLUMN extracted jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE contacts ADD COLUMN extracted_at timestamptz;

-- The online recogniser's confidence per turn (mean word probability): the post-call
-- pipeline re-transcribes low-confidence calls when told to only do those.
ALTER TABLE call_turns ADD COLUMN stt_confidence real;

-- The post-call pipeline finds a call by its key (attempt key or inbound call id).
CREATE INDEX calls_idempotency_key ON calls ((metadata->>'idempotency_key'));
