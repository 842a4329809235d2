"""The FastAPI application: thin routes over domain code, which holds the rules and the SQL.

`app` builds it; `routes/` one module per resource; `auth`, `limits`, `deps`, `services`
what every route shares; `campaign_intake`, `csv_contacts`, `contact_rows`,
`contact_agents` read a campaign creation request; `live_hub`/`live_stream` serve live
events; `static/` the softphone and dashboard pages.

May import: `workflows` (to start and signal them), `realtime` (agent definitions, live
events), the `centralita` packages. Never `activities` or `workers`.
"""
