"""End-to-end tests (`pytest -m e2e`): whole processes.

The embedded stack and the CLI as subprocesses, the demo, real WebRTC calls through the
media worker, headless Chromium for the softphone and dashboard pages.

May import: everything, and `tests.support`.
"""
