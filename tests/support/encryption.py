"""The fixed key ring of the tests: every process a test starts encrypts with it.

tests/conftest.py puts it in `CENTRALITA_ENCRYPTION_KEYS` for the whole session, so the
test environments' clients, the API and workers built from `Settings`, and the worker
processes the tests spawn (they inherit the environment) all share one ring. It is
committed on purpose: tests/histories/attempt_v2_encrypted.json was written with it
and must replay. Never use these keys outside the tests.
"""

from __future__ import annotations

import os

from centralita.kernel.key_ring import KeyRing

ENCRYPTION_KEYS_VARIABLE = "CENTRALITA_ENCRYPTION_KEYS"
# Two keys, as after a rotation: `test-1` encrypts, `test-0` still decrypts.
TEST_ENCRYPTION_KEYS = (
    "test-1:XEtmoeTAYSNeeJm/5i1mgcd4ZjbQA7HgqE2Xn9kffAw=,"
    "test-0:JVNOkGFGKljRtUXu1ELx35Jp+9labFBARXRlLIRepJc="
)


def fixed_ring() -> KeyRing:
    """The tests' ring (the one `Settings` reads in every test process)."""
    return KeyRing.parse(TEST_ENCRYPTION_KEYS)


def use_test_keys() -> None:
    """Make this process, and every process it starts, encrypt with the tests' ring."""
    os.environ[ENCRYPTION_KEYS_VARIABLE] = TEST_ENCRYPTION_KEYS


def with_test_keys(env: dict[str, str]) -> dict[str, str]:
    """`env` (a subprocess's, stripped of CENTRALITA_*) given the tests' ring back."""
    return {**env, ENCRYPTION_KEYS_VARIABLE: TEST_ENCRYPTION_KEYS}
