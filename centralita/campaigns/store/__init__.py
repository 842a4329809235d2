"""The campaign domain's SQL: one module per table family (campaigns, contacts and their
state, attempts, opt-outs, history), and the domain events those changes emit.

May import: `centralita.kernel` and the campaign rules beside it.
"""
