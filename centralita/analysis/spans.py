"""Where in a turn a value was said: the smallest run of words that means the same.

The readers in `centralita.understanding` answer *what* a turn says ("200000 CLP", the
27th), not *where*: they normalise the text first (number words to digits, accents
away), so their offsets do not map back to the transcript. Rather than duplicate their
rules to get offsets, a span is found by asking the reader again on runs of words:
the end is the shortest prefix in which the value appears, the start the last word from
which the value still appears.

"The same value" is checked under several reference settings at once (keys are
tuples), because a shorter run can give the same answer by coincidence: "el 15" said on
23 November is 15 December, like "el 15 de diciembre", but not when said in March; and
"doscientos mil" gives CLP like "doscientos mil pesos" only because the campaign
defaults to CLP. A key that holds the answers under another date and no default
currency makes the span take in "de diciembre" and "pesos".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence

_WORD = re.compile(r"\S+")
_LEADING = "¿¡([{\"'«“"
_TRAILING = ".,;:!?)]}\"'»”"

Extractor = Callable[[str], Sequence[Hashable]]


def word_offsets(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Character ranges of the whitespace-separated words of `text[lo:hi]`.

    Args:
        text: The whole turn.
        lo: Start of the segment.
        hi: End of the segment (the end of `text` when None).

    Returns:
        Absolute (start, end) offsets, in order.
    """
    end = len(text) if hi is None else hi
    return [(lo + m.start(), lo + m.end()) for m in _WORD.finditer(text[lo:end])]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop punctuation that belongs to the sentence, not the value ("viernes." -> "viernes").

    Args:
        text: The whole turn.
        start: Span start.
        end: Span end.

    Returns:
        The trimmed span (never empty if the input was not all punctuation).
    """
    while start < end - 1 and text[start] in _LEADING:
        start += 1
    while end > start + 1 and text[end - 1] in _TRAILING:
        end -= 1
    return start, end


def locate(
    text: str,
    key: Hashable,
    occurrence: int,
    extract: Extractor,
    lo: int = 0,
    hi: int | None = None,
) -> tuple[int, int] | None:
    """The smallest run of words of `text[lo:hi]` in which `extract` finds `key`.

    Args:
        text: The whole turn.
        key: The value to place, as `extract` gives it for the whole segment.
        occurrence: Which occurrence of an equal key (0 for the first) when a value is
            said twice in the segment.
        extract: Reads a piece of text and returns its keys in order.
        lo: Start of the segment to search.
        hi: End of the segment (the end of `text` when None).

    Returns:
        The trimmed (start, end) offsets, or None when no prefix yields the key (the
        reader needed context it does not get from a prefix).
    """
    words = word_offsets(text, lo, hi)
    last = None
    for j, (_, word_end) in enumerate(words):
        if list(extract(text[lo:word_end])).count(key) > occurrence:
            last = j
            break
    if last is None:
        return None
    end = words[last][1]
    first = 0
    for i in range(last, -1, -1):
        if key in extract(text[words[i][0] : end]):
            first = i
            break
    return trim(text, words[first][0], end)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two half-open character ranges share a character."""
    return a[0] < b[1] and b[0] < a[1]


def min_confidence(
    text: str, span: tuple[int, int], confidences: Sequence[float] | None
) -> float | None:
    """The lowest recogniser confidence among the words a span touches.

    Args:
        text: The whole turn.
        span: The value's character range.
        confidences: One value per whitespace-separated word of `text`, or None.

    Returns:
        The minimum, or None when confidences are missing or do not match the words.
    """
    if confidences is None:
        return None
    words = word_offsets(text)
    if len(words) != len(confidences):
        return None
    touched = [c for w, c in zip(words, confidences, strict=True) if overlaps(w, span)]
    return min(touched) if touched else None
