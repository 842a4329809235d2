-- 0020: the tenant's own tools for its agents (issue 23): HTTP tools Centralita calls,
-- signed like webhooks, and MCP servers whose allow-listed tools agents may use; every
-- call of either is logged. Code: centralita/actions/.

-- An HTTP tool: a POST to the tenant's URL with the arguments the agent chose (checked
-- against `parameters`, a JSON Schema), signed with `secret` (Standard Webhooks).
-- `agents` names the agents that get it; NULL: every agent of the tenant.
-- `secret` is sealed with the key ring (centralita.kernel.stored_secrets).
CREATE TABLE http_tools (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{1,63}$'),
    description   text NOT NULL CHECK (length(description) BETWEEN 1 AND 1000),
    parameters    jsonb NOT NULL,
    url           text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    method        text NOT NULL DEFAULT 'POST' CHECK (method = 'POST'),
    timeout_ms    integer NOT NULL DEFAULT 5000 CHECK (timeout_ms BETWEEN 100 AND 30000),
    waiting_line  text CHECK (length(waiting_line) BETWEEN 1 AND 300),
    failure_line  text CHECK (length(failure_line) BETWEEN 1 AND 300),
    agents        text[],
    secret        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX http_tools_tenant_created ON http_tools (tenant_id, created_at, id);

-- An MCP server (streamable HTTP). Only the tools in `allowed_tools` reach agents.
-- `token` (sent as a bearer token) and `headers` (a JSON object of header values) are
-- sealed; `token_hint` keeps the token's last four characters and `header_names` the
-- headers' names, so answers can show what is set without showing it.
CREATE TABLE mcp_servers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9]{1,23}$'),
    url            text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    allowed_tools  text[] NOT NULL,
    timeout_ms     integer NOT NULL DEFAULT 5000 CHECK (timeout_ms BETWEEN 100 AND 30000),
    waiting_line   text CHECK (length(waiting_line) BETWEEN 1 AND 300),
    failure_line   text CHECK (length(failure_line) BETWEEN 1 AND 300),
    agents         text[],
    token          text,
    token_hint     text,
    headers        text,
    header_names   text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX mcp_servers_tenant_created ON mcp_servers (tenant_id, created_at, id);

-- One call of a tenant tool (HTTP or MCP) during a call: the arguments masked, what it
-- answered, how long it took and whether it worked. Kept by call (the call's page) and
-- by tool (a tool's recent calls).
CREATE TABLE tool_invocations (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_key    text NOT NULL CHECK (length(call_key) BETWEEN 1 AND 200),
    agent       text,
    tool        text NOT NULL CHECK (length(tool) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('http', 'mcp')),
    arguments   jsonb NOT NULL,
    result      jsonb NOT NULL,
    latency_ms  double precision NOT NULL CHECK (latency_ms >= 0),
    success     boolean NOT NULL,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tool_invocations_call ON tool_invocations (tenant_id, call_key, id);
CREATE INDEX tool_invocations_tool ON tool_invocations (tenant_id, tool, created_at DESC, id);
