"""Tenants: API keys (`keys`: format and checks, pure), their storage and the per-tenant
token buckets, call ownership and data retention (`store/`), and the development key of
the embedded stack (`dev_key`).

May import: `centralita.kernel`.
"""
