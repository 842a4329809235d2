"""One conversation, whatever leg carries it: the call session (`call_session`), hearing a
turn (`hearing`, `early_transcripts`), speaking (`speech`), a supervisor's hand
(`supervision`), the call's record (`record`), its trace (`tracing`), its price
(`pricing`) and the tenant's live dictionary (`tenant_dictionary`).

May import: `realtime.agents`, `realtime.audio`, `realtime.providers`, `realtime.store`,
the `centralita` packages; never `realtime.legs` or `realtime.server`.
"""
