"""Stored calls, as the API reads them: a call's details, turns, events and latency.

The media worker writes calls (`realtime/store/calls.py`); this package reads them.

May import: `centralita.kernel`.
"""
