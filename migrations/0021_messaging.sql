-- 0021: WhatsApp messages a call sends (a payment link, issue 23) through the tenant's
-- own sender at Twilio or Meta's Cloud API, and the delivery statuses the provider
-- reports back. Code: centralita/messaging/.

-- A tenant's WhatsApp sender. Its secrets are sealed with the key ring, each bound to
-- its column and row (centralita/kernel/stored_secrets.py): `secret` is Twilio's auth
-- token (it also signs the status callbacks) or Meta's access token; `app_secret`
-- signs Meta's webhooks and `verify_token` answers its subscription handshake. The API
-- shows only `secret_hint` (the last four characters, kept at creation).
CREATE TABLE whatsapp_senders (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    provider           text NOT NULL CHECK (provider IN ('twilio', 'meta')),
    -- Twilio
    account_sid        text CHECK (account_sid ~ '^AC[0-9a-fA-F]{32}$'),
    from_number        text CHECK (from_number ~ '^\+[1-9][0-9]{1,14}$'),
    -- Meta
    phone_number_id    text CHECK (phone_number_id ~ '^[0-9]{1,30}$'),
    app_secret         text,
    verify_token       text,
    template_name      text CHECK (length(template_name) BETWEEN 1 AND 512),
    template_language  text CHECK (length(template_language) BETWEEN 2 AND 15),
    -- both
    secret             text NOT NULL,
    secret_hint        text NOT NULL,
    -- The tenant's tool (HTTP or MCP) that creates the payment link.
    payment_link_tool  text CHECK (length(payment_link_tool) BETWEEN 1 AND 100),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (
        CASE provider
            WHEN 'twilio' THEN account_sid IS NOT NULL AND from_number IS NOT NULL
                AND phone_number_id IS NULL AND app_secret IS NULL AND verify_token IS NULL
                AND template_name IS NULL
            WHEN 'meta' THEN phone_number_id IS NOT NULL AND app_secret IS NOT NULL
                AND verify_token IS NOT NULL AND account_sid IS NULL AND from_number IS NULL
        END
    ),
    UNIQUE (tenant_id, name)
);
CREATE INDEX whatsapp_senders_tenant_created ON whatsapp_senders (tenant_id, created_at, id);

-- A message sent. `provider_message_id` is Twilio's `SM…` sid or Meta's `wamid.…`:
-- what a status report names. `status` is the furthest status reported so far (a
-- late `sent` after `delivered` does not move it back); every report is kept in
-- `whatsapp_message_statuses`.
CREATE TABLE whatsapp_messages (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    sender_id            uuid REFERENCES whatsapp_senders(id) ON DELETE SET NULL,
    provider             text NOT NULL CHECK (provider IN ('twilio', 'meta')),
    provider_message_id  text NOT NULL CHECK (length(provider_message_id) BETWEEN 1 AND 200),
    call_key             text CHECK (length(call_key) BETWEEN 1 AND 300),
    contact_phone        text NOT NULL CHECK (contact_phone ~ '^\+[1-9][0-9]{1,14}$'),
    purpose              text NOT NULL DEFAULT 'payment_link'
                         CHECK (purpose IN ('payment_link')),
    link_id              text,
    link_url             text,
    body                 text NOT NULL,
    status               text NOT NULL,
    error_code           text,
    error_message        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_message_id)
);
CREATE INDEX whatsapp_messages_tenant_created ON whatsapp_messages (tenant_id, created_at DESC, id);
CREATE INDEX whatsapp_messages_tenant_call ON whatsapp_messages (tenant_id, call_key)
    WHERE call_key IS NOT NULL;

-- Every status a provider reported for a message, once each (a retried callback, or
-- Meta's and Twilio's repeats, record nothing twice).
CREATE TABLE whatsapp_message_statuses (
    message_id     uuid NOT NULL REFERENCES whatsapp_messages(id) ON DELETE CASCADE,
    status         text NOT NULL CHECK (length(status) BETWEEN 1 AND 40),
    error_code     text,
    error_message  text,
    occurred_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, status)
);
