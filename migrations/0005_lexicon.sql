-- 0005: each tenant's lexicon for the post-call hybrid correction (centralita/correction).
-- One row per searchable form: the canonical text (wrong NULL), an alias or a known
-- misheard form (in wrong, with the canonical text in text). The vector is the form's
-- hashed character n-grams of its spelling and its phonetic key (256 dims, unit length;
-- centralita/correction/vectors.py says why not sentence embeddings); phonetic_key is
-- the Spanish (or English) key level 3 looks up exactly.
CREATE TABLE lexicon_entries (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants(id),
    kind          text NOT NULL
                  CHECK (kind IN ('person', 'company', 'product', 'place', 'domain_term',
                                  'error_pair')),
    text          text NOT NULL,
    wrong         text,
    language      text NOT NULL DEFAULT 'es',
    active        boolean NOT NULL DEFAULT true,
    source        text NOT NULL DEFAULT 'manual' CHECK (source IN ('seed', 'approved', 'manual')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    embedding     vector(256) NOT NULL,
    phonetic_key  text NOT NULL,
    CHECK (kind <> 'error_pair' OR wrong IS NOT NULL)
);
-- The natural key of an upsert; NULLS NOT DISTINCT so the canonical row (wrong NULL)
-- is one row too (PostgreSQL 15+).
CREATE UNIQUE INDEX lexicon_entries_natural_key
    ON lexicon_entries (tenant_id, kind, text, wrong) NULLS NOT DISTINCT;
-- Level 2: nearest neighbours by cosine distance (the vectors are unit length).
CREATE INDEX lexicon_entries_embedding_hnsw
    ON lexicon_entries USING hnsw (embedding vector_cosine_ops);
-- Level 3: the forms that sound exactly alike.
CREATE INDEX lexicon_entries_tenant_key ON lexicon_entries (tenant_id, phonetic_key);
