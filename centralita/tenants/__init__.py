"""Tenants: who is calling the API, and what each tenant's data may cost or keep.

- `keys`: the API key format: how a key is made, read and checked (pure).
- `dev_key`: the embedded stack's development key for the default tenant.
- `store/`: the SQL: keys, rate buckets, call owners, the retention purge.

May import: `centralita.kernel` only (its layer is the lowest above the kernel).
"""
