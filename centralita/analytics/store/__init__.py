"""The analytics' SQL, one module per concept; the figures are assembled outside.

How every query reads a call's derived fields (`fields`); a campaign's figures by day
and hour (`campaign_stats`); a call's metrics and how it is found (`conversation`);
the latest calls and their turns (`summary`); a campaign's tool calls (`tools`); a page
of the export (`exports`); what ending a call needs to know (`ending`); one snapshot
for reads that must agree (`snapshot`). Each returns rows; the modules above build the
answers from them.

May import: `centralita.kernel` (event types are bound from its vocabulary, never
retyped).
"""
