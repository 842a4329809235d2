-- 0018: the knowledge base's ingestion (workflows/knowledge_ingestion.py): what a
-- document's indexing needs to survive a worker restart, in
-- centralita/knowledge/ingestion_store.py.
--
-- The upload's bytes are stored before its workflow starts, so any worker (and a
-- re-index after a change of embedding model) reads them from here, and nothing large
-- travels through Temporal's history. The chunks being embedded are staged one row each:
-- a chunk's vector is written as soon as its batch is embedded, so a worker killed at
-- chunk 9,000 of 10,000 leaves 9,000 vectors, and the retry embeds only what is left.
-- The finished chunks move to knowledge_chunks in one transaction (store.replace_chunks)
-- and the staging rows go. Both tables cascade from the document: deleting it ends all.

CREATE TABLE knowledge_uploads (
    document_id      uuid PRIMARY KEY REFERENCES knowledge_documents(id) ON DELETE CASCADE,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    content          bytea NOT NULL,
    -- the workflow run whose chunks are staged: another run (a re-index) chunks afresh
    ingestion_run    text,
    -- progress of the current (or last) indexing: chunks embedded of chunks to embed
    chunks_total     integer NOT NULL DEFAULT 0 CHECK (chunks_total >= 0),
    chunks_embedded  integer NOT NULL DEFAULT 0 CHECK (chunks_embedded >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_uploads_tenant ON knowledge_uploads (tenant_id);

CREATE TABLE knowledge_staged_chunks (
    document_id      uuid NOT NULL REFERENCES knowledge_documents(id) ON DELETE CASCADE,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    ordinal          integer NOT NULL CHECK (ordinal >= 0),
    heading          text,
    text             text NOT NULL,
    -- what is embedded (the heading above the text: chunking.Chunk.embedding_text)
    embedding_text   text NOT NULL,
    -- null until its batch is embedded; the model that made it beside it
    embedding        real[],
    embedding_model  text,
    PRIMARY KEY (document_id, ordinal)
);
