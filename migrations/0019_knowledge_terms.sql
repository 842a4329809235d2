-- 0019: how many of a tenant's knowledge chunks hold each word, kept by triggers, so the
-- full-text side of the search (centralita/knowledge/search_store.py) leaves out the
-- words that are everywhere.
--
-- A debtor's question ("¿dónde puedo pagar la deuda?") shares its common words with a
-- third of a collections company's documents: ranking every chunk that holds "pagar"
-- took 68 ms p50 / 147 ms p95 at 100k chunks (bench/knowledge.py), against a 30 ms
-- target, and those words tell the chunks apart least. With these counts the search
-- ranks only chunks that hold the question's rarer words (IDF pruning), which bounds
-- the rows it ranks whatever the question; the vector side still reads every word.
CREATE TABLE knowledge_terms (
    tenant_id  uuid NOT NULL REFERENCES tenants(id),
    word       text NOT NULL,
    chunks     integer NOT NULL CHECK (chunks >= 0),
    PRIMARY KEY (tenant_id, word)
);

-- Chunks come and go in whole statements (COPY of a document's chunks, DELETE of its
-- old ones, a document's cascade): statement triggers with transition tables count them
-- once per statement. Writers of one tenant take turns (an advisory lock until commit),
-- so two documents indexed at once cannot deadlock on the words they share.
CREATE FUNCTION knowledge_terms_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('knowledge_terms'), hashtext(t.tenant_id::text))
    FROM (SELECT DISTINCT tenant_id FROM added ORDER BY tenant_id) t;
    INSERT INTO knowledge_terms (tenant_id, word, chunks)
    SELECT tenant_id, word, count(*)
    FROM added, unnest(tsvector_to_array(search_text)) AS word
    GROUP BY tenant_id, word
    ORDER BY tenant_id, word
    ON CONFLICT (tenant_id, word) DO UPDATE SET chunks = knowledge_terms.chunks + excluded.chunks;
    RETURN NULL;
END $$;

CREATE FUNCTION knowledge_terms_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('knowledge_terms'), hashtext(t.tenant_id::text))
    FROM (SELECT DISTINCT tenant_id FROM removed ORDER BY tenant_id) t;
    UPDATE knowledge_terms t SET chunks = greatest(t.chunks - gone.n, 0)
    FROM (
        SELECT tenant_id, word, count(*) AS n
        FROM removed, unnest(tsvector_to_array(search_text)) AS word
        GROUP BY tenant_id, word
    ) gone
    WHERE t.tenant_id = gone.tenant_id AND t.word = gone.word;
    RETURN NULL;
END $$;

CREATE TRIGGER knowledge_chunks_terms_added
    AFTER INSERT ON knowledge_chunks REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_terms_added();
CREATE TRIGGER knowledge_chunks_terms_removed
    AFTER DELETE ON knowledge_chunks REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_terms_removed();

-- The chunks indexed before this migration.
INSERT INTO knowledge_terms (tenant_id, word, chunks)
SELECT tenant_id, word, count(*)
FROM knowledge_chunks, unnest(tsvector_to_array(search_text)) AS word
GROUP BY tenant_id, word;
