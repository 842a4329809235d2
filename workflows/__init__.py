"""Temporal workflows and the pure, deterministic policy code they use."""
