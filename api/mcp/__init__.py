"""Centralita as an MCP server: what an operator asks an AI assistant for, as tools.

Mounted at `/mcp` of the API (streamable HTTP, stateless, JSON answers). Every HTTP
request presents a tenant's API key exactly as the REST API takes it
(`Authorization: Bearer <key>`, `api.auth`), and every tool call acts for the tenant of
the key on the request that carried it: the tenant travels in that request's ASGI scope,
never in a session an other key could reuse.

- `endpoint`: the ASGI endpoint (authentication, the SDK's session manager and its
  lifespan).
- `server`: the `MCPServer` and its tool list.
- `campaign_tools`, `read_tools`: the tools, calling the functions the REST routes call.
- `caller`: who a tool call acts for, and REST errors turned into tool errors.

May import `api.*` and below; nothing in `api` imports it but `api.app`.
"""
