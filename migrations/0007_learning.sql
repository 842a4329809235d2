-- 0007: the reviewed learning loop (centralita/learning). Mistakes seen in calls become
-- proposals; only a reviewer's approval turns one into an active lexicon entry.

-- One row per thing worth learning, counted rather than duplicated: the natural key is
-- case-insensitive on the forms, so "Salgo -> Saldo" and "salgo -> saldo" are one.
--   kind 'dictionary': wrong -> right, an exact pair for level 1 (and level 2);
--   kind 'lexicon':    right is a term (entry_kind says which) for levels 2 and 3;
--   kind 'block':      a correction reviewers undid: stop turning wrong into right.
CREATE TABLE lexicon_proposals (
    id                bigserial PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants(id),
    kind              text NOT NULL CHECK (kind IN ('dictionary', 'lexicon', 'block')),
    entry_kind        text NOT NULL DEFAULT 'domain_term'
                      CHECK (entry_kind IN ('person', 'company', 'product', 'place',
                                            'domain_term', 'error_pair')),
    wrong             text,
    "right"           text NOT NULL CHECK (btrim("right") <> ''),
    language          text NOT NULL DEFAULT 'es',
    source            text NOT NULL
                      CHECK (source IN ('low_confidence_fixed', 'human_edit', 'tool_miss',
                                        'reverted_correction')),
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewer          text,
    reviewed_at       timestamptz,
    lexicon_entry_id  bigint REFERENCES lexicon_entries(id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'lexicon' OR (wrong IS NOT NULL AND btrim(wrong) <> ''))
);
CREATE UNIQUE INDEX lexicon_proposals_natural_key ON lexicon_proposals
    (tenant_id, kind, lower(coalesce(wrong, '')), lower("right"), language, source);
CREATE INDEX lexicon_proposals_status ON lexicon_proposals (tenant_id, status, id);

-- The evidence of a proposal: one row per occurrence, keyed so that a scan run twice
-- counts each occurrence once (e.g. 'correction:{call}:{pass}:{segment}:{word}').
CREATE TABLE lexicon_proposal_evidence (
    proposal_id  bigint NOT NULL REFERENCES lexicon_proposals(id) ON DELETE CASCADE,
    occurrence   text NOT NULL,
    call_id      uuid REFERENCES calls(id) ON DELETE SET NULL,
    context      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proposal_id, occurrence)
);
CREATE INDEX lexicon_proposal_evidence_call ON lexicon_proposal_evidence (call_id);

-- Human-edited transcript segments, kept as submitted (the word diff against the
-- corrected transcript is what becomes proposals).
CREATE TABLE transcript_edits (
    id             bigserial PRIMARY KEY,
    call_id        uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    segment_index  integer NOT NULL CHECK (segment_index >= 0),
    before_text    text NOT NULL,
    edited_text    text NOT NULL,
    editor         text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transcript_edits_call ON transcript_edits (call_id, segment_index);
