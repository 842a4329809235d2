"""One router per resource; each handler is thin and calls domain code.

- `health`: liveness and readiness.
- `admin`: tenants and their API keys (the admin key only).
- `campaigns`, `campaign_controls`: create, list and read campaigns; start, pause, resume,
  cancel, edit the policy.
- `contacts`, `calls`: a contact's history; the call log and a stored call's details.
- `opt_outs`: numbers never to be called again.
- `agents`: the tenant's own agents beside the shipped ones.
- `live`, `call_controls`: a call's live events; a supervisor's controls on it.
- `softphone`, `dashboard`: the two pages, and the signalling relayed to the media worker.
- `analytics`, `exports`: figures and exports.
- `lexicon`, `learning`: the tenant's lexicon and the reviewed learning loop.
- `reanalysis`, `retention`: bulk re-analysis; soft delete and purge.
- `webhooks`: subscriptions, deliveries and replays.
- `telephony`: the tenant's carrier accounts and the numbers that route its inbound calls.

May import: what `api` may.
"""
