"""Sentences out of a stream of tokens, each as soon as it is complete.

Text-to-speech starts at the first complete sentence while the model keeps writing,
so the caller hears the agent ~one sentence after the first token instead of after
the last. A sentence ends at `.`, `!`, `?` or `…` followed by white space; a period
inside a number ("200.000 pesos", "3.5") or an abbreviation glued to the next word
does not end one. What is left when the stream ends is the last sentence.
"""

from __future__ import annotations

import re

# End punctuation (and closing quotes or brackets) followed by white space.
_BOUNDARY = re.compile(r"[.!?…]+[\"'»)\]]*\s+")
# "Sr. Pérez", "Dr. Soto": not the end of a sentence.
_ABBREVIATIONS = frozenset({"sr", "sra", "srta", "dr", "dra", "mr", "mrs", "ms", "st", "av"})
_MIN_CHARS = 2  # a lone "." between two deltas is not a sentence


class SentenceBuffer:
    """Feed token deltas; take complete sentences as they appear."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, delta: str) -> list[str]:
        """Add a delta; the sentences it completed (often none)."""
        self._text += delta
        sentences: list[str] = []
        start = 0
        for match in _BOUNDARY.finditer(self._text):
            candidate = self._text[start : match.end()].strip()
            if len(candidate) < _MIN_CHARS or _ends_with_abbreviation(self._text[: match.start()]):
                continue
            sentences.append(candidate)
            start = match.end()
        self._text = self._text[start:]
        return sentences

    def flush(self) -> str | None:
        """The unfinished rest at the end of the stream (None when only white space)."""
        rest, self._text = self._text.strip(), ""
        return rest or None


def _ends_with_abbreviation(text: str) -> bool:
    words = text.rsplit(None, 1)
    return bool(words) and words[-1].lower().rstrip(".") in _ABBREVIATIONS
