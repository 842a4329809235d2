"""Benchmarks: run on purpose (`make bench`, `python -m bench`), print figures, write JSON
to `bench/results/`.

- `__main__`: the command: `campaign`, `latency`, `memory`, `wer` or all.
- `campaign`: campaign throughput against the simulated carrier.
- `latency`, `conversations`: voice-to-voice latency, concurrency and memory of real
  WebRTC calls, and the calls they place.
- `memory`: a media worker's RSS over hundreds of short calls in a row (what it keeps
  of a finished call).
- `wer`, `wer_set`, `wer_metrics`: Spanish WER of the recogniser and of each
  correction stage, on a generated evaluation set (its noise and telephone band:
  `realtime/audio/line_conditions.py`).
- `stats`, `report`: percentiles and slopes; figures printed and written.

May import: everything (the top layer).
"""
