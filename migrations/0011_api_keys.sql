-- 0011: tenants' API keys (issue 8) and the per-tenant token buckets behind the API's
-- rate limits. Tenants themselves exist since 0001 (its 'default' row stays the tenant
-- of inbound calls and of everything created before keys arrived).

-- A key reads `ctk_<prefix>_<secret>`: `prefix` (12 hex digits) is public, names the
-- key in lists and finds its row; the secret (32 random bytes, base64url) is never
-- stored. `key_hash` is SHA-256 of the whole key, compared in constant time. The
-- plaintext is shown once, when the key is created.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix        text NOT NULL UNIQUE CHECK (prefix ~ '^[0-9a-f]{12}$'),
    key_hash      bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- refreshed at most once a minute per key: a write per request would cost more
    -- than the request
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at, id);

-- One token bucket per tenant and limit (e.g. 'campaign_create', 'csv_upload'), in
-- Postgres so that every API process draws from the same bucket. `tokens` is what was
-- left at `updated_at`; the refill since then is computed when a request takes one.
CREATE TABLE rate_buckets (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    bucket      text NOT NULL,
    tokens      double precision NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, bucket)
);
