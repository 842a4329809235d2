"""The test suite: one marker per module (`unit`, `integration`, `e2e`).

- `unit/`: pure logic, no servers.
- `integration/`: real Postgres (pgserver) and real Temporal (dev or time-skipping).
- `e2e/`: whole processes: the embedded stack, the CLI, the demo, real WebRTC calls.
- `support/`: what test modules share (fixtures' helpers, fakes, scripted providers).
- `histories/`: recorded workflow histories the replay tests read.
- `conftest.py`: the shared fixtures (Postgres, Temporal, the app).

May import: everything; production code never imports `tests`.
"""
