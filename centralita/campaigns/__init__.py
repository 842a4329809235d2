"""Campaigns: who is called when, what follows each call, and the campaign's rows.

Pure rules (deterministic, safe inside a workflow):

- `calling_rules`: schedules, legal calling windows, batches and caps.
- `jurisdictions`: the law's calling rules per profile (Reg F, Chile, Spain...), as data.
- `retry_rules`: what follows an attempt: stop, call back, retry (which phone), give up.
- `dial_gate`: those rules applied to one contact: may it be dialled now, and when next.
- `policy`: a campaign's editable rules as one validated model.
- `messages`: the models its workflows and activities exchange.

And the rest:

- `opt_out_signals`: tells running campaigns of an opt-out, by signal name.
- `store/`: its SQL (campaigns, contacts, attempts, opt-outs, history, the events they emit).

May import: `centralita.kernel`, and the domains the contract puts below it (`correction`,
`understanding`, `tenants`, `webhooks`). Workflows, activities and the API build on it.
"""
