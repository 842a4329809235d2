"""Carriers place calls; the `Dialer` protocol they implement is `centralita.kernel.calls`.

- `simulated`: the simulated carrier: numbers answer, ring out, are busy or fail as
  personas script (`realtime/personas/`).
- `carrier_calls`: the carrier's calls, one per idempotency key.
- `http_service`: the carrier as an HTTP service in the media worker, so a retried dial
  joins the call already placed; `http_dialer` the `Dialer` that calls it.
- `dial_store`: the carrier's calls and dial log in Postgres, so they outlive the worker.
- `softphone_dialer`: dialling a number a softphone holds.
- `twilio`, `twilio_rest`: phones rung through Twilio (Calls API, TwiML stream, AMD);
  `twilio_transfer`: handing a call to a person, warm or cold.
- `telnyx`, `telnyx_rest`: phones rung through Telnyx Call Control (Dial with a
  bidirectional PCMU/PCMA stream, signed webhooks, AMD).
- `phone_line`: how the media worker rings phones, whichever carrier (`PhoneLineConfig`).
- `tenant_accounts`: each tenant's own carrier account rings its campaigns' phones.
- `stream_broker`: the carrier media streams the worker expects, each behind a
  one-time token bound to its call.

May import: `conversation_line`, `softphone`, `legs` and the layers below in `realtime`,
the `centralita` packages; never `realtime.server`.
"""
