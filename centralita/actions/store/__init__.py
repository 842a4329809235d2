"""The actions domain's SQL (migration 0020).

- `http_tools`: a tenant's HTTP tools (their signing secrets sealed).
- `mcp_servers`: a tenant's MCP servers (token and headers sealed, shown as hints).
- `invocations`: the log of every tenant tool call, by call and by tool.

Every function is scoped to one tenant: another tenant's rows read as absent.
"""
