"""Messages a call sends to the person, over WhatsApp: a payment link (issue 23).

- `sender`: the `WhatsAppSender` interface, what a message is and what sending it gave.
- `twilio_whatsapp`, `meta_whatsapp`: the two providers (Twilio's Messages API, Meta's
  WhatsApp Cloud API) behind it, over HTTP.
- `status_reports`: the delivery statuses the providers post back, parsed and verified.
- `models`: a tenant's senders and its messages, as asked for and answered.
- `store`, `message_store`: senders (secrets sealed) and messages with their status
  history in Postgres; a status change records a `message_status` event in the outbox.
- `payment_links`: the `send_payment_link` action: create the link through the tenant's
  tool, send it to the contact, record it.

May import: the kernel and `telephony` (E.164 numbers, Twilio's signatures); never
`realtime`, `api` or anything above.
"""
