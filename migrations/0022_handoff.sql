-- 0022: people in the loop (issue 23): operators who answer handed-off calls, the queue
-- of calls waiting for one, and the callbacks a person owes when nobody was free.
--
-- A handoff is one call waiting for a person: the media worker inserts it `waiting`;
-- an operator's answer claims the next one (`answered`, one UPDATE whose WHERE says
-- `waiting`, so two operators never take the same call and a call that timed out is
-- never taken); the media worker marks it `connected` when the operator's audio joins,
-- and `ended` when the call ends; `timed_out` when nobody answered within `max_wait_s`
-- (a human callback follows), `abandoned` when the caller hung up first. Every change
-- NOTIFYs channel `handoffs` with the tenant's id, so operator pages ring at once.
CREATE TABLE operators (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    status      text NOT NULL DEFAULT 'offline'
                CHECK (status IN ('offline', 'available', 'busy', 'wrap_up')),
    queues      text[] NOT NULL DEFAULT ARRAY['default'],
    status_at   timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE handoffs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_key      text NOT NULL CHECK (length(call_key) BETWEEN 1 AND 300),
    queue         text NOT NULL DEFAULT 'default',
    trigger       text NOT NULL,
    reason        text NOT NULL,
    priority      integer NOT NULL DEFAULT 0,
    context       jsonb NOT NULL DEFAULT '{}'::jsonb,
    state         text NOT NULL DEFAULT 'waiting'
                  CHECK (state IN ('waiting', 'answered', 'connected', 'ended', 'timed_out',
                                   'abandoned')),
    max_wait_s    integer NOT NULL CHECK (max_wait_s > 0),
    decided_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    operator_id   uuid REFERENCES operators(id) ON DELETE SET NULL,
    answered_at   timestamptz,
    connected_at  timestamptz,
    settled_at    timestamptz,
    disposition   text CHECK (length(disposition) BETWEEN 1 AND 50),
    notes         text CHECK (length(notes) <= 2000),
    wrapped_up_at timestamptz
);
-- The queue's order: the next call an operator answers.
CREATE INDEX handoffs_waiting ON handoffs (tenant_id, queue, priority DESC, created_at)
    WHERE state = 'waiting';
-- One open handoff per call.
CREATE UNIQUE INDEX handoffs_open_call ON handoffs (call_key)
    WHERE state IN ('waiting', 'answered', 'connected');
CREATE INDEX handoffs_tenant_created ON handoffs (tenant_id, created_at DESC);

-- A person owes the caller a call: nobody was free in time, or the policy said so.
-- `HumanCallbackWorkflow` (id `human-callback-{id}`) waits for `due_at` durably, marks
-- it `due`, and settles it when an operator reports it `done` (or it is cancelled).
CREATE TABLE human_callbacks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    handoff_id   uuid REFERENCES handoffs(id) ON DELETE SET NULL,
    call_key     text NOT NULL,
    phone        text CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
    name         text CHECK (length(name) <= 200),
    reason       text NOT NULL,
    context      jsonb NOT NULL DEFAULT '{}'::jsonb,
    due_at       timestamptz NOT NULL,
    state        text NOT NULL DEFAULT 'scheduled'
                 CHECK (state IN ('scheduled', 'due', 'done', 'cancelled')),
    operator_id  uuid REFERENCES operators(id) ON DELETE SET NULL,
    disposition  text CHECK (length(disposition) BETWEEN 1 AND 50),
    notes        text CHECK (length(notes) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    settled_at   timestamptz,
    UNIQUE (call_key)
);
CREATE INDEX human_callbacks_tenant_due ON human_callbacks (tenant_id, state, due_at);

CREATE FUNCTION notify_handoffs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('handoffs', NEW.tenant_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER handoffs_notify AFTER INSERT OR UPDATE ON handoffs
    FOR EACH ROW EXECUTE FUNCTION notify_handoffs();
CREATE TRIGGER human_callbacks_notify AFTER INSERT OR UPDATE ON human_callbacks
    FOR EACH ROW EXECUTE FUNCTION notify_handoffs();
CREATE TRIGGER operators_notify AFTER INSERT OR UPDATE ON operators
    FOR EACH ROW EXECUTE FUNCTION notify_handoffs();
