"""Actions: the tenant's own tools its agents call during a conversation (issue 23).

- `models`: HTTP tools and MCP servers as asked for, stored and answered; invocations.
- `schemas`: a tool's JSON Schema checked at registration, arguments checked against it.
- `masking`: arguments as they are logged (secrets and personal data starred).
- `lines`: what the caller hears while a tool runs and when it fails (es and en).
- `http_caller`: one signed POST (Standard Webhooks), SSRF-checked and pinned.
- `mcp_client`: an MCP server's allow-listed tools, listed and called over streamable
  HTTP with the official `mcp` SDK.
- `store`: tools, servers (their credentials sealed) and the invocation log in Postgres.

I/O lives in `http_caller` (HTTP), `mcp_client` (MCP) and `store` (Postgres); the rest
is pure. Calls bind these in `realtime/agents/external_tools.py`.

May import: `centralita.kernel` and `centralita.webhooks` (signing and the SSRF guard).
"""
