"""Contact memory: what a call should know of this contact's earlier calls and payments.

Outcomes, promises (kept or broken against the payments the tenant reports), disputes,
callback requests, opt-outs, the preferred language and the last conversation's summary,
each line traceable to a stored call or a tenant's record, and never another tenant's or
another contact's.

- `contact_memory`: `ContactMemory` and `build_memory`, the rules (pure).
- `wording`: the memory as flow variables and as an LLM's prompt lines.
- `history_store`: the person's earlier attempts (and who "the same person" is).
- `payments_store`: payments the tenant reports, once per reference.
- `memory_store`: a contact's memory, read from the stores in one snapshot.

May import: `centralita.kernel` and every domain below it (`calls`, `campaigns`...).
"""
