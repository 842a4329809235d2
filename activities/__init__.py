"""Every side effect a workflow asks for, as methods of classes built with their clients.

- `campaigns`: campaign-level steps: policy, status, choosing who to dial, spreading opt-outs.
- `attempts`: an attempt's bookkeeping: the dial-time re-check, the result, cancelling.
- `calls`: one attempt's whole side effect (re-check, dial, store) in one activity.
- `dialing`: placing the call through a `Dialer`, heartbeating.
- `post_call`: find, re-transcribe, correct, analyse, document and announce a call.
- `reanalysis`: the bulk re-analysis's reads.
- `webhooks`: one signed POST of one delivery, logged.

May import: `realtime` (the dialer's HTTP client, speech providers for post-call) and the
`centralita` packages; never `workflows`, `api`, `workers` or `bench`.
"""
