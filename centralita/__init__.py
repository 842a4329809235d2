"""Centralita's cross-cutting kernel: settings, database, Temporal client, telemetry, CLI."""

__version__ = "0.1.0"
