-- 0012: tenants' own carrier accounts (Twilio, Telnyx) and the phone numbers that route
-- inbound calls (issue 18). Code: centralita/telephony/.

-- A tenant's account at a carrier. The secrets (`auth_token`, `api_key`) are stored as
-- given: no settings key exists yet to encrypt them with (left for the secrets issue);
-- the API never answers them, only their last four characters.
CREATE TABLE carrier_accounts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    carrier           text NOT NULL CHECK (carrier IN ('twilio', 'telnyx')),
    calls_per_second  double precision NOT NULL DEFAULT 1
                      CHECK (calls_per_second BETWEEN 0.1 AND 100),
    -- Twilio
    account_sid       text,
    auth_token        text,
    -- Telnyx
    api_key           text,
    public_key        text,  -- base64 Ed25519: verifies its webhooks
    connection_id     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (
        CASE carrier
            WHEN 'twilio' THEN account_sid IS NOT NULL AND auth_token IS NOT NULL
                AND api_key IS NULL AND public_key IS NULL AND connection_id IS NULL
            WHEN 'telnyx' THEN api_key IS NOT NULL AND public_key IS NOT NULL
                AND connection_id IS NOT NULL AND account_sid IS NULL AND auth_token IS NULL
        END
    ),
    UNIQUE (tenant_id, name),
    -- the target of phone_numbers' (account, tenant) key: a number's account is its
    -- tenant's own
    UNIQUE (id, tenant_id)
);
CREATE INDEX carrier_accounts_tenant_created ON carrier_accounts (tenant_id, created_at, id);

-- A number one tenant holds (the primary key makes it one tenant's at most): its
-- inbound calls go to `agent` with `variables`, over `carrier_account_id`. Looked up by
-- the number alone when a carrier's webhook says it was dialled.
CREATE TABLE phone_numbers (
    number              text PRIMARY KEY CHECK (number ~ '^\+[1-9][0-9]{1,14}$'),
    tenant_id           uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    carrier_account_id  uuid NOT NULL,
    agent               text NOT NULL CHECK (length(agent) BETWEEN 1 AND 100),
    variables           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variables) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- An account that routes numbers cannot be deleted from under them. NO ACTION, not
    -- RESTRICT: it is checked at the end of the statement, so deleting the tenant
    -- (which cascades to both tables) is not refused halfway.
    FOREIGN KEY (carrier_account_id, tenant_id)
        REFERENCES carrier_accounts (id, tenant_id) ON DELETE NO ACTION
);
CREATE INDEX phone_numbers_tenant_created ON phone_numbers (tenant_id, created_at, number);
CREATE INDEX phone_numbers_account ON phone_numbers (carrier_account_id);
