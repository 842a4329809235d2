"""Telephony: the carriers a tenant brings, the numbers it routes, and the carriers'
webhook signatures. No media and no dialling live here: this is what those stand on.

- `signatures`: Twilio's ``X-Twilio-Signature`` (HMAC over URL and form, or the JSON
  body's hash) and Telnyx's Ed25519 ``telnyx-signature-ed25519`` (pure).
- `numbers`: phone numbers read into E.164 (pure).
- `models`: carrier accounts (credentials, secrets as `SecretStr`), phone numbers and
  the inbound `Route`; their validation (pure).
- `media_workers`: the media plane's membership and placement (models; pure).
- `store/`: the SQL: accounts, numbers, the lookup of a dialled number's route, and
  the media workers' registry, placement and dropped calls.

May import: `centralita.kernel` only (its layer is the lowest above the kernel).
"""
