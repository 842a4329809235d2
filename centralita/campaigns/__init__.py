"""Campaigns: who is called when, what follows each call, and the campaign's rows.

Pure rules first: calling windows and caps (`calling_rules`), jurisdiction profiles
(`jurisdictions`), what follows an attempt (`retry_rules`), the rules applied to one
contact (`dial_gate`), the campaign's editable policy (`policy`), and the messages its
workflows and activities exchange (`messages`). Its SQL lives in `store/` (campaigns,
contacts, attempts, opt-outs, history, the events they emit). `opt_out_signals` tells
running campaigns of an opt-out by signal name.

May import: `centralita.kernel`. Workflows, activities and the API build on it.
"""
