"""Contact memory: what a call should know of this contact's earlier calls and payments.

Outcomes, promises (kept or broken against the payments the tenant reports), disputes,
callback requests, opt-outs, the preferred language and the last conversation's summary,
each line traceable to a stored call or a tenant's record, and never another tenant's or
another contact's.
"""
