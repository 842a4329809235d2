"""The campaign domain's SQL, one module per table family.

- `campaigns`: campaigns and their contacts: creation and the reads the API and workflows need.
- `contact_context`: everything the calling rules need about a contact, in one query.
- `contact_state`: contact state transitions, each written with the event that explains it.
- `attempts`: call attempts and contact progress, idempotent by natural ids.
- `opt_outs`: numbers never to be called again, in any campaign of the tenant.
- `history`: read-only history for the API: a contact's attempts and events, the call log.
- `campaign_events`, `call_events`: the webhook events a campaign and its calls emit.

May import: `centralita.kernel` and the campaign rules beside it.
"""
