"""The FastAPI application: thin routes over domain code, which holds the rules and the SQL.

- `app`: builds the app (middleware, routers, error answers).
- `routes/`: one router per resource.
- `auth`, `limits`, `deps`, `services`: what every route shares: the tenant a key acts
  for, request and rate limits, dependency aliases, the Postgres pool and Temporal client.
- `campaign_intake`, `csv_contacts`, `contact_rows`, `contact_agents`, `agent_names`:
  reading a campaign creation request (JSON or CSV) and judging its rows.
- `schemas`, `campaign_views`: campaign request and response bodies, and views of stored
  campaigns with their live figures.
- `workflow_control`: starting, signalling and updating a campaign's workflow.
- `live_hub`, `live_stream`: a call's live events as server-sent events, over one LISTEN.
- `data_errors`, `openapi_errors`: error answers (422 for values Postgres refuses; the
  errors every operation documents).
- `mcp/`: Centralita as an MCP server at `/mcp` (the operator's tools, the tenant's key).
- `static/`: the browser softphone and the ops dashboard (HTML and ES modules).

May import: `workflows`, `activities`, `realtime` and the `centralita` packages (the layers
below it; today it needs no `activities`); never `workers` or `bench`.
"""
