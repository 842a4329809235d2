-- 0016: each tenant's knowledge base (centralita/knowledge): the documents it uploads and
-- their chunks, which a voice agent searches to answer a debtor's off-script question
-- ("¿dónde puedo pagar?"). The search is hybrid: nearest chunks by vector (pgvector
-- HNSW, cosine) and best chunks by full text (GIN), fused by rank in
-- centralita/knowledge/store.py. Every chunk row carries its tenant so each query filters
-- on it inside the SQL, and its embedding model, so vectors of two models never mix.
--
-- Full text: the 'simple' parser's lower-cased words, minus Spanish and English stop
-- words (two chained dictionaries over the server's own stop lists), with no stemming,
-- since one tenant writes in both languages and vectors carry the meaning; the text
-- search is there for what vectors miss: exact words, codes, product names. Accents are
-- folded by `knowledge_fold` (a plain translate()): the unaccent extension is not in the
-- embedded PostgreSQL we ship (pgserver has only plpgsql and vector), and transcribed
-- questions often lose accents ("donde", "cuanto"). Hyphens and plus signs become blanks
-- so "NAT-4471" is the words "nat" and "4471", as a caller would say it.

CREATE TABLE knowledge_documents (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    title            text NOT NULL,
    filename         text,
    media_type       text NOT NULL,
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    -- hex digest of the uploaded bytes: the same upload twice is one document
    sha256           text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'indexing', 'ready', 'failed')),
    error            text,
    chunk_count      integer NOT NULL DEFAULT 0,
    embedding_model  text,
    page_count       integer,
    section_count    integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, sha256)
);
CREATE INDEX knowledge_documents_tenant_created
    ON knowledge_documents (tenant_id, created_at DESC);

-- Accents off, hyphens and plus signs to blanks; the same on the chunk and on the query.
CREATE FUNCTION knowledge_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate(
        t,
        'ÁÉÍÓÚÀÈÌÒÙÄËÏÖÜÂÊÎÔÛáéíóúàèìòùäëïöüâêîôû-+',
        'AEIOUAEIOUAEIOUAEIOUaeiouaeiouaeiouaeiou  '
    );

-- A Spanish stop word ends there (dropped); any other word goes on to the English list,
-- which drops its own stop words and keeps the rest lower-cased.
CREATE TEXT SEARCH DICTIONARY knowledge_stop_es
    (TEMPLATE = pg_catalog.simple, STOPWORDS = spanish, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY knowledge_stop_en
    (TEMPLATE = pg_catalog.simple, STOPWORDS = english, ACCEPT = true);
CREATE TEXT SEARCH CONFIGURATION knowledge_text (PARSER = pg_catalog.default);
-- Only plain words and numbers are mapped (e-mails, URLs and paths are left out), so every
-- lexeme is safe to join into an OR query (store.py builds it from the question's words).
ALTER TEXT SEARCH CONFIGURATION knowledge_text
    ADD MAPPING FOR asciiword, word, numword, hword_asciipart, hword_part, hword_numpart,
                    int, uint, float
    WITH knowledge_stop_es, knowledge_stop_en;

CREATE TABLE knowledge_chunks (
    id               bigserial PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    document_id      uuid NOT NULL REFERENCES knowledge_documents(id) ON DELETE CASCADE,
    ordinal          integer NOT NULL CHECK (ordinal >= 0),
    -- the chunk's heading path ("Pagos > Dónde pagar"), when the document has headings
    heading          text,
    text             text NOT NULL,
    embedding        vector(384) NOT NULL,
    embedding_model  text NOT NULL,
    -- the heading weighs more (A) than the body (B) in the text rank
    search_text      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('knowledge_text'::regconfig,
                              knowledge_fold(coalesce(heading, ''))), 'A')
        || setweight(to_tsvector('knowledge_text'::regconfig, knowledge_fold(text)), 'B')
    ) STORED,
    UNIQUE (document_id, ordinal)
);
-- Vector side: nearest by cosine distance, the tenant and model filtered while the index
-- is walked (hnsw.iterative_scan, set per query in store.py).
CREATE INDEX knowledge_chunks_embedding_hnsw
    ON knowledge_chunks USING hnsw (embedding vector_cosine_ops);
-- Text side: chunks holding any of the question's words.
CREATE INDEX knowledge_chunks_search_text ON knowledge_chunks USING gin (search_text);
CREATE INDEX knowledge_chunks_tenant_document ON knowledge_chunks (tenant_id, document_id);
