"""Arguments and results as the call's log and the invocation log keep them.

A tool's arguments may carry what must not sit in a log: a card number, a password, an
ID. Values under a sensitive-looking key are replaced by `****` (with the last four
characters of a long value, as carrier tokens are shown); every other string has the
phone numbers and national ids in it masked where they stand
(`centralita.kernel.privacy.mask_personal`). Nesting is followed, bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from centralita.kernel.privacy import mask_personal

# Key names whose values are secrets or personal ids: these anywhere in the key...
_SENSITIVE_PART: Final = re.compile(
    r"passw|passwd|secret|token|api[_-]?key|cvv|cvc|iban|card[_-]?number|national[_-]?id|authoriz",
    re.IGNORECASE,
)
# ...and these as a whole word of it (`pin`, but not `shipping`).
_SENSITIVE_WORDS: Final = frozenset(
    {"pin", "pan", "rut", "dni", "nie", "ssn", "otp", "card", "auth", "password"}
)
_WORD_SPLIT: Final = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[A-Z])")
_MAX_DEPTH: Final = 6
MASK: Final = "****"


def is_sensitive_key(key: str) -> bool:
    """Whether values under `key` are masked whole."""
    if _SENSITIVE_PART.search(key):
        return True
    return any(w.lower() in _SENSITIVE_WORDS for w in _WORD_SPLIT.split(key) if w)


def mask_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` with sensitive values starred (see the module's docstring)."""
    return {str(k): _mask(str(k), v, 0) for k, v in arguments.items()}


def _mask(key: str, value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if is_sensitive_key(key):
        text = str(value)
        return MASK + text[-4:] if len(text) >= 12 else MASK
    if depth >= _MAX_DEPTH:
        return MASK
    if isinstance(value, Mapping):
        return {str(k): _mask(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(key, v, depth + 1) for v in value]
    if isinstance(value, str):
        return mask_personal(value)
    return value
