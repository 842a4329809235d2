"""Online transcript correction: an exact wrong -> right dictionary, per tenant.

This is the first, live stage of the hybrid correction (the post-call stage adds
nearest neighbours and phonetic matching). It must cost next to nothing on the turn's
critical path, so everything is compiled once: the dictionary becomes an index from a
phrase's first normalised word to the phrases starting with it, longest first. A
transcript is then one regex pass over its words plus a dictionary lookup per word.

Matching ignores case and accents (Whisper writes "Dicom", a tenant types "dicom";
"loscientos" and "lóscientos" are the same mistake) and works on whole words only.
The rest of the text is left exactly as it was, and every change is recorded with its
position, so a correction can always be shown, audited and undone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict

from centralita.correction.online_defaults import DEFAULTS

# A word: letters and digits (any script), no underscores.
_WORD: Final = re.compile(r"[^\W_]+")
# What may separate the words of a multi-word entry in the transcript.
_GAP: Final = re.compile(r"[\s\-‐–]+")


class Correction(BaseModel):
    """One replacement made in a transcript.

    ``start``/``end`` locate ``after`` in the corrected text; ``source_start`` is where
    ``before`` began in the original text (it ends at ``source_start + len(before)``).
    """

    model_config = ConfigDict(frozen=True)

    before: str
    after: str
    start: int
    end: int
    source_start: int


class CorrectionResult(BaseModel):
    """The corrected text and what was changed, in order of position."""

    model_config = ConfigDict(frozen=True)

    text: str
    corrections: list[Correction]

    def original(self) -> str:
        """The text as it was before correction."""
        return revert(self.text, self.corrections)


def revert(text: str, corrections: Iterable[Correction]) -> str:
    """Undo ``corrections`` on the corrected ``text`` (last first, so positions hold)."""
    for c in sorted(corrections, key=lambda c: c.start, reverse=True):
        if text[c.start : c.end] != c.after:
            raise ValueError(f"text at {c.start}:{c.end} is not {c.after!r}")
        text = text[: c.start] + c.before + text[c.end :]
    return text


def normalise(word: str) -> str:
    """Case- and accent-insensitive form of a word ("Ñuñoa" -> "nunoa", "RÚT" -> "rut")."""
    word = word.casefold()
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class OnlineCorrector:
    """Exact dictionary correction of live transcripts, built once per tenant.

    Args:
        entries: the tenant's own wrong -> right pairs (words or phrases); they
            override the defaults on the same key.
        language: picks the default pairs (``"es"``, ``"en"``; ``"es-CL"`` -> ``"es"``).
        include_defaults: start from `correction_defaults` for ``language``.

    Raises:
        ValueError: an entry whose wrong side has no word in it.
    """

    def __init__(
        self,
        entries: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        language: str = "es",
        include_defaults: bool = True,
    ) -> None:
        pairs: dict[tuple[str, ...], str] = {}
        primary = language.split("-")[0].lower()
        if include_defaults:
            for wrong, right in DEFAULTS.get(primary, {}).items():
                pairs[_key(wrong)] = right
        items = entries.items() if isinstance(entries, Mapping) else entries
        for wrong, right in items:
            pairs[_key(wrong)] = right
        index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for key, right in pairs.items():
            index.setdefault(key[0], []).append((key, right))
        for candidates in index.values():
            candidates.sort(key=lambda kr: len(kr[0]), reverse=True)  # longest match wins
        self._index = index
        self.language = primary
        self.size = len(pairs)

    def correct(self, text: str) -> CorrectionResult:
        """Apply the dictionary to one utterance.

        Returns:
            The corrected text and each replacement with its positions; the text is
            unchanged (and the list empty) when nothing matched.
        """
        index = self._index
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        words = [normalise(text[s:e]) for s, e in spans]
        pieces: list[str] = []
        corrections: list[Correction] = []
        copied = 0  # text[:copied] has been handled
        out_len = 0  # length of the corrected text so far
        i, n = 0, len(words)
        while i < n:
            candidates = index.get(words[i])
            matched = 0
            right = ""
            if candidates is not None:
                for key, value in candidates:
                    if _matches(key, words, spans, text, i):
                        matched, right = len(key), value
                        break
            if not matched:
                i += 1
                continue
            start, end = spans[i][0], spans[i + matched - 1][1]
            before = text[start:end]
            after = _match_case(before, right)
            if after != before:
                pieces.append(text[copied:start])
                out_len += start - copied
                pieces.append(after)
                corrections.append(
                    Correction(
                        before=before,
                        after=after,
                        start=out_len,
                        end=out_len + len(after),
                        source_start=start,
                    )
                )
                out_len += len(after)
                copied = end
            i += matched
        if not corrections:
            return CorrectionResult(text=text, corrections=[])
        pieces.append(text[copied:])
        return CorrectionResult(text="".join(pieces), corrections=corrections)


def _key(wrong: str) -> tuple[str, ...]:
    key = tuple(normalise(w) for w in _WORD.findall(wrong))
    if not key:
        raise ValueError(f"correction entry {wrong!r} has no word to match")
    return key


def _matches(
    key: tuple[str, ...], words: list[str], spans: list[tuple[int, int]], text: str, i: int
) -> bool:
    """Whether the entry ``key`` matches the transcript's words from position ``i``."""
    length = len(key)
    if i + length > len(words):
        return False
    for k in range(1, length):
        if words[i + k] != key[k]:
            return False
        if _GAP.fullmatch(text, spans[i + k - 1][1], spans[i + k][0]) is None:
            return False  # "dos, cientos" is two thoughts, not one misheard word
    return True


def _match_case(source: str, replacement: str) -> str:
    """Give ``replacement`` the casing of ``source`` unless it carries its own.

    "RUT" and "CuentaRUT" keep their capitals; "Loscientos" becomes "Doscientos" and
    "LOSCIENTOS" becomes "DOSCIENTOS".
    """
    if any(ch.isupper() for ch in replacement):
        return replacement
    letters = [ch for ch in source if ch.isalpha()]
    if not letters or not letters[0].isupper():
        return replacement
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return replacement.upper()
    return replacement[:1].upper() + replacement[1:]
