"""SQL access shared by the API and the activities: one module per table family."""

from __future__ import annotations

# Until tenants and API keys arrive every row belongs to the tenant the first migration
# creates; queries already take a tenant id so scoping them later is a wiring change.
DEFAULT_TENANT_ID = "00000000-0000-0000-0000-000000000001"
