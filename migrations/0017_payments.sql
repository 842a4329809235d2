-- 0017: payments the tenant reports (POST /payments), and what contact memory needs to
-- find a person's earlier calls and payments quickly (centralita/memory).
--
-- A payment names its payer the way the tenant knows them: its own customer reference
-- (`external_ref`, the contacts' `external_id`), the phone number, or both. Memory
-- checks the promises made in earlier calls against these rows (kept, partly kept,
-- broken). `reference` is the tenant's id of the payment: unique per tenant, so a
-- retried report stores one payment.
CREATE TABLE payments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    reference     text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    external_ref  text CHECK (length(external_ref) BETWEEN 1 AND 200),
    phone         text CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
    amount        numeric(18, 2) NOT NULL CHECK (amount > 0),
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    paid_on       date NOT NULL,
    source        text NOT NULL DEFAULT 'api' CHECK (length(source) BETWEEN 1 AND 50),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, reference),
    CHECK (external_ref IS NOT NULL OR phone IS NOT NULL)
);
-- Memory's lookups: a person's payments by the tenant's reference, or by number.
CREATE INDEX payments_tenant_external_ref ON payments (tenant_id, external_ref, paid_on)
    WHERE external_ref IS NOT NULL;
CREATE INDEX payments_tenant_phone ON payments (tenant_id, phone, paid_on)
    WHERE phone IS NOT NULL;
CREATE INDEX payments_tenant_created ON payments (tenant_id, created_at DESC, id);

-- The same person across campaigns: contacts of the tenant with the same external id,
-- or (with none) the same first number (centralita/memory/history_store.py says why).
CREATE INDEX contacts_tenant_external_id ON contacts (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX contacts_tenant_first_phone ON contacts (tenant_id, (phones[1]));
