"""Running an async entry point so that interpreter exit cannot fail a finished run.

temporalio's Rust core can crash the interpreter at exit (`PyGILState_Release`,
sdk-python#300) when its objects are finalised during shutdown. Collecting garbage once
the event loop has closed finalises them while the interpreter is still whole; that
avoided the crash in 30 of 30 measured runs (ARCHITECTURE.md). Every CLI command that
touches Temporal goes through `run()`.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, then a full garbage collection before returning."""
    try:
        return asyncio.run(main)
    finally:
        gc.collect()
