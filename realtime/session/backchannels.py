"""Backchannels: the caller's "ajá", "sí", "mhm" while the agent talks, which are not turns.

A caller who says "ajá" over the agent is listening, not interrupting. Duration alone
cannot tell them apart in time (espeak-ng's "sí" is 320 ms, "mhm" 760 ms, while a barge-in
must be silenced within 300 ms of onset), so `CallSession` pauses the agent at once, and
when the short utterance ends, asks `is_backchannel` of its transcript: all of its words
are backchannel words (accents, case, punctuation, hyphens and drawn-out letters aside),
so the agent resumes where it paused and the brain never gets a turn for it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# A held utterance whose speech (first to last voiced frame) lasts longer than this is a
# real interruption whatever its words; espeak-ng's slowest backchannel, "mhm", is 760 ms.
BACKCHANNEL_MAX_MS: Final = 900

# Compared as `normalise` leaves them (no accents, no hyphens, repeated letters once):
# Whisper's "Mm-hmm." is "mhm", "Uh-huh." "uhuh", "Ajáa" "aja".
_SAID: Final = frozenset(
    {
        # Spanish (Chile included: "ya", "ya po", "dale", "ah ya")
        "si", "aja", "ajam", "aha", "ah", "ja", "mhm", "hm", "m", "mm", "eh", "ok", "okey",
        "vale", "claro", "ya", "po", "bueno", "dale", "exacto", "correcto", "entiendo",
        "perfecto", "de acuerdo", "ah ya", "ya veo", "si si", "claro que si", "por supuesto",
        # English
        "uhuh", "yeah", "yes", "yep", "yup", "right", "okay", "sure", "alright", "all right",
        "i see", "got it", "cool", "uh", "oh", "exactly", "mm-hmm", "uh-huh",
    }
)  # fmt: skip


def normalise(text: str) -> list[str]:
    """The words of `text`, lower case, unaccented, unpunctuated, runs of a letter once."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = re.sub(r"[-'’]", "", plain)  # "uh-huh", "mm-hmm" are one word
    words = re.findall(r"[a-zñ]+", plain)
    return [re.sub(r"(.)\1+", r"\1", word) for word in words]


_PHRASES: Final = frozenset(" ".join(normalise(p)) for p in _SAID)
_LONGEST: Final = max(len(p.split()) for p in _PHRASES)


def is_backchannel(text: str) -> bool:
    """Whether every word of `text` belongs to a backchannel ("Sí, sí.", "Ok, claro").

    Empty text is not one: nothing was understood, so the utterance is left to the
    usual turn (which drops it when the recogniser heard nothing).
    """
    words = normalise(text)
    if not words:
        return False
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST, len(words) - i), 0, -1):
            if " ".join(words[i : i + n]) in _PHRASES:
                i += n
                break
        else:
            return False
    return True
