"""What the media worker writes and reads in Postgres.

- `calls`: a finished call: its `calls` row, turns and events.
- `call_events`: what a call tells webhook subscribers (its live events, its end).
- `live_events`: a call's events while it runs, batched and announced by NOTIFY.
- `live_feed`: what API processes read of them: the channel, a call's rows after an id,
  the calls under way.
- `agents`: the tenants' agent definitions (`agents` table).
- `agent_lookup`: which agent a call gets (its tenant's, else the shipped one), cached.

May import: `realtime.agents`, `session`, `offline`, `cache`, `audio`, `providers`, the
`centralita` packages; never `legs` or anything above.
"""
