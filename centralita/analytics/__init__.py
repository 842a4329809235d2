"""The numbers managers ask for, read from the stored calls (read-only).

- `conversation`: one conversation's metrics.
- `summary`: the latest calls with their metrics, and aggregates over exactly those.
- `campaign_stats`: a campaign's figures, overall, by day and by hour.
- `tools`: how a campaign's tool calls went.
- `ending`: what ending a conversation from the API needs to read.
- `exports`, `export_csv`, `masking`: calls and their results for export, as CSV, with
  personal fields masked.
- `cursor`: keyset cursors for the paginated reads.
- `store/`: their SQL, one module per concept, and `fields`: the derived fields every
  query reads the same way (answered, promise). The modules above build the answers.

May import: every other domain and the kernel (it is the top domain layer).
"""
