"""The key ring the tests share with the API and workers they start.

`settings_for` leaves `home` and `encryption_keys` at their defaults, so the API under
test seals with the development ring under the default home (or the configured ring,
when CENTRALITA_ENCRYPTION_KEYS is set). Stores called directly from a test must use
the same ring, or what one writes the other cannot open; a process started with a home
of its own gets the ring through `shared_ring_env`.
"""

from __future__ import annotations

import functools

from centralita.kernel.key_ring import KeyRing
from centralita.kernel.settings import Settings


@functools.cache
def shared_ring() -> KeyRing:
    """The ring `Settings` gives the processes of the tests."""
    return Settings(_env_file=None).key_ring()


def shared_ring_env() -> dict[str, str]:
    """CENTRALITA_ENCRYPTION_KEYS for a child process with another home: the same ring."""
    settings = Settings(_env_file=None)
    if settings.encryption_keys is not None:
        text = settings.encryption_keys.get_secret_value()
    else:
        shared_ring()  # creates the development ring if this is the first use
        text = (settings.home / "keys").read_text().strip()
    return {"CENTRALITA_ENCRYPTION_KEYS": text}
