"""SQL that reads stored calls.

- `details`: one stored conversation: its `calls` row, its turns and its events.
- `latency`: a campaign's turn latencies, as percentiles.
"""
