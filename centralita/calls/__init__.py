"""Stored calls, as the API reads them: a call's details, turns, events and latency.

- `store/`: the SQL (`details`: one call with its turns and events; `latency`: a
  campaign's turn latencies).

The media worker writes calls (`realtime/store/calls.py`); this package only reads them.

May import: `centralita.kernel` and the domains the contract puts below it (`postcall`,
`analysis`, `campaigns`, `correction`, `understanding`, `tenants`, `webhooks`); never
`learning` (its sibling) or `analytics`.
"""
