"""Recorded workflow histories: the marker that re-records them only when asked."""

from __future__ import annotations

import os

import pytest

# Marks the tests that (re-)record histories: they run only when asked to.
records_histories = pytest.mark.skipif(
    os.environ.get("CENTRALITA_RECORD_HISTORIES") != "1", reason="re-recording is deliberate"
)
