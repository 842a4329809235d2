"""The key ring the tests share with the API and workers they start in-process.

`settings_for` leaves `home` and `encryption_keys` at their defaults, so the API under
test seals with the development ring under the default home (or the configured ring,
when CENTRALITA_ENCRYPTION_KEYS is set). Stores called directly from a test must use
the same ring, or what one writes the other cannot open.
"""

from __future__ import annotations

import functools

from centralita.kernel.key_ring import KeyRing
from centralita.kernel.settings import Settings


@functools.cache
def shared_ring() -> KeyRing:
    """The ring `Settings` gives the processes of the tests."""
    return Settings(_env_file=None).key_ring()
