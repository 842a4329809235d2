"""Unit tests (`pytest -m unit`, `make test-fast`): pure logic, no servers.

May import: everything, and `tests.support`.
"""
