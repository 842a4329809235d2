"""Carriers place calls: the `Dialer` interface and its implementations."""
