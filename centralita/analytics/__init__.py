"""The numbers managers ask for, read from the stored calls (read-only).

One module per concept: a call's metrics (`conversation`), the latest calls with their
aggregates (`summary`), a campaign's figures by day and hour (`campaign_stats`), its
tool calls (`tools`), and the export of calls with their results (`exports`). Derived
fields every one of them reads the same way (what counts as answered, which promise a
call made) live in `fields`.
"""
