"""The telephony domain's SQL.

- `accounts`: a tenant's carrier accounts: create, list, read, delete, and their
  credentials for whoever places calls.
- `numbers`: the numbers a tenant routes, and `route_for_number`, the inbound lookup by
  the dialled number alone (the number decides the tenant).
"""
