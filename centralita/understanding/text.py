"""Text normalisation shared by the understanding modules.

Speech recognition output is lowercase or not, accented or not, punctuated or not,
depending on the model and the audio. Every rule here matches against one folded form
(lowercase, no accents, no punctuation, single spaces) so that "Llámeme más tarde." and
"llameme mas tarde" are the same sentence to the rules.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

_NON_WORD = re.compile(r"[^\w$€%:.,/-]+|_+")
_PUNCT = re.compile(r"[^\w\s]+|_+")
_SPACES = re.compile(r"\s+")

# Words that turn a following statement around. "no puedo pagar" must not read as a
# promise; "nunca", "tampoco" and "ni" do the same job in Spanish.
NEGATORS: frozenset[str] = frozenset(
    {"no", "nunca", "tampoco", "ni", "jamas", "not", "never", "cant", "cannot", "dont", "wont"}
)


def turns_down(before: list[str], after: list[str], *, window: int = 2) -> bool:
    """Whether the words just before or after a value (a day, an amount) negate it.

    "el viernes no puedo", "no el viernes", "not on Friday", "cien mil no"; but not the
    Chilean "no más" after it, which means "just" ("el viernes no más", "cien mil nomás").

    Args:
        before: The folded words before the value, in its clause.
        after: The folded words after it, in its clause.
        window: How many words on each side count.
    """
    if after[:2] == ["no", "mas"]:
        after = after[2:]
    near = (*before[-window:], *after[:window]) if window else (*before, *after)
    return any(word in NEGATORS or word in _ALSO_NEGATING for word in near)


_ALSO_NEGATING = frozenset({"doesnt", "isnt", "imposible", "impossible"})


def strip_accents(text: str) -> str:
    """Remove diacritics ("llámeme" -> "llameme", "ñ" -> "n").

    Args:
        text: Any text.

    Returns:
        The text with combining marks removed.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Fold text for rule matching: lowercase, no accents, no punctuation, single spaces.

    Apostrophes are dropped rather than split on, so English "can't" becomes "cant".

    Args:
        text: A transcript.

    Returns:
        The folded text.
    """
    lowered = strip_accents(text).lower().replace("'", "").replace("’", "")
    return _SPACES.sub(" ", _PUNCT.sub(" ", lowered)).strip()


def fold_keep_numbers(text: str) -> str:
    """Fold text but keep the punctuation numbers need ("$200.000", "16:30", "12.345.678-5").

    Args:
        text: A transcript.

    Returns:
        Lowercase, accentless text with number punctuation kept and single spaces.
    """
    lowered = strip_accents(text).lower().replace("'", "").replace("’", "")
    spaced = _NON_WORD.sub(" ", lowered)
    # A sentence-final dot or comma after a number is punctuation, not a separator.
    spaced = re.sub(r"(?<=\d)[.,](?=\s|$)", " ", spaced)
    return _SPACES.sub(" ", spaced).strip()


def words(text: str) -> list[str]:
    """Split folded text into words.

    Args:
        text: A transcript (folded or not).

    Returns:
        The folded words.
    """
    folded = fold(text)
    return folded.split(" ") if folded else []


def base_language(language: str, *, default: Literal["es", "en"] = "es") -> str:
    """The rule set for a language tag: "es-CL" -> "es", "en-US" -> "en".

    The one definition: understanding, analysis and the flows' spoken words all read
    a language through it.

    Args:
        language: A BCP 47 tag or a bare language code.
        default: The rule set of languages that have none of their own. Understanding
            falls back to Spanish, the first users' language; the flows speak English.

    Returns:
        "es" or "en".
    """
    code = language.split("-")[0].split("_")[0].lower()
    return code if code in {"es", "en"} else default
