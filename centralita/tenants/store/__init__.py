"""The tenants domain's SQL.

- `keys`: tenants and their API keys: create, list, revoke, authenticate.
- `rates`: per-tenant token buckets shared by every API process.
- `call_owners`: which tenant a call key belongs to.
- `retention`: the soft delete of a call and the purge of what is due.
"""
