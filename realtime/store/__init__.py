"""What the media worker writes and reads in Postgres: stored calls (`calls`), their webhook
events (`call_events`), live events for viewers (`live_events`), tenants' agents
(`agents`).

May import: `realtime.session` types it stores, the `centralita` packages.
"""
