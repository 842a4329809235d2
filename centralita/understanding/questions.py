"""Whether a caller's turn asks something (an off-script question the agent may look up).

Whisper writes a question mark when the voice rises, but not always on the phone, and
a transcript may lose it ("donde puedo pagar"); so a turn is a question when it ends in
"?" or opens (after a filler or "y"/"pero") with a question word. "¿Cómo?" alone asks to
hear the line again (a repeat request), not a question to look up: `asks_to_look_up`
wants some content after the question word.
"""

from __future__ import annotations

import re
from typing import Final

from centralita.understanding.text import base_language, fold, words

_ENDS_IN_QUESTION_MARK: Final = re.compile(r"\?\W*$")
# Words a question opens with, folded (no accents, lower case).
_QUESTION_WORDS: Final[dict[str, frozenset[str]]] = {
    "es": frozenset(
        {"que", "como", "donde", "cuando", "cuanto", "cuanta", "cuantos", "cuantas", "cual"}
        | {"cuales", "quien", "quienes", "por", "puedo", "se", "hay", "tienen", "tengo"}
        | {"aceptan", "es", "existe", "pueden"}
    ),
    "en": frozenset(
        {"what", "how", "where", "when", "why", "who", "which", "can", "could", "do", "does"}
        | {"is", "are", "will", "should", "may", "whats", "wheres", "hows"}
    ),
}
# "por" opens a question only as "por qué"; the others open statements just as well
# ("puedo pagar el viernes", "me llamo"), so they need the question mark.
_NEEDS_MARK: Final = frozenset(
    {"por", "puedo", "se", "hay", "tienen", "tengo", "aceptan", "es", "existe", "pueden"}
    | {"can", "could", "do", "does", "is", "are", "will", "should", "may"}
)
# Said before the question without changing it.
_LEAD_INS: Final = frozenset(
    {"y", "pero", "oiga", "oye", "disculpe", "perdon", "una", "pregunta", "mire", "ah", "eh"}
    | {"and", "but", "sorry", "excuse", "me", "so", "um", "uh", "question", "a", "quick"}
    | {"senorita", "senor", "hola", "alo", "hello", "hi"}
)


def is_question(text: str, language: str) -> bool:
    """True when the turn asks something: it ends in "?", or (the mark lost) it opens
    with a question word that only questions open with ("dónde", "cuánto", "why")."""
    if _ENDS_IN_QUESTION_MARK.search(text.strip()):
        return True
    said = _without_lead_ins(words(fold(text)))
    if not said:
        return False
    first = said[0]
    if first not in _QUESTION_WORDS[base_language(language)] or first in _NEEDS_MARK:
        return first == "por" and len(said) > 1 and said[1] == "que"
    return True


def asks_to_look_up(text: str, language: str) -> bool:
    """A question with something to look up: at least two words besides its lead-ins
    ("¿Dónde puedo pagar?", "why me?"); "¿cómo?" or "¿qué?" alone is a repeat request."""
    return is_question(text, language) and len(_without_lead_ins(words(fold(text)))) >= 2


def _without_lead_ins(said: list[str]) -> list[str]:
    for i, word in enumerate(said):
        if word not in _LEAD_INS:
            return said[i:]
    return []
