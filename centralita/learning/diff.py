"""Word-level diff of a transcript segment against a human's edit of it.

Each word (or short run of words) the human replaced becomes a wrong -> right pair: the
recogniser wrote ``wrong`` where the caller said ``right``. Words are compared without
case and edge punctuation ("Saldo," and "saldo" are the same word): a human who only
fixes capitals or commas teaches nothing about misrecognition. Accents do count
("Perez" -> "Pérez" is a spelling the lexicon should know). Pure insertions and
deletions are not pairs (a word the recogniser missed or invented has no wrong form to
look for), and neither is a rewrite longer than `MAX_PHRASE_WORDS` on either side: that
is an edit of meaning, not of hearing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Final

from rapidfuzz import fuzz

MAX_PHRASE_WORDS: Final = 3

# A token's leading punctuation, its core, its trailing punctuation ("¿Peres?").
_EDGES: Final = re.compile(r"^[^\w]*(.*?)[^\w]*$", re.DOTALL)


@dataclass(frozen=True)
class WordPair:
    """Words ``[start, end)`` of the original segment, ``wrong``, were edited to ``right``."""

    wrong: str
    right: str
    start: int
    end: int


def core(token: str) -> str:
    """The token without its edge punctuation ("¿Peres?" -> "Peres")."""
    match = _EDGES.match(token)
    return match.group(1) if match else token


def _key(token: str) -> str:
    return core(token).casefold()


def word_pairs(original: str, edited: str) -> list[WordPair]:
    """The wrong -> right pairs that turn ``original`` into ``edited``, in word order.

    Args:
        original: the segment as the corrected transcript has it.
        edited: the same segment as a human wrote it.

    Returns:
        One pair per replaced run of at most `MAX_PHRASE_WORDS` words on each side; a
        run of equal length is split word by word (three words misheard in a row are
        three pairs, each reusable on its own).
    """
    before = [t for t in original.split() if core(t)]
    after = [t for t in edited.split() if core(t)]
    # autojunk off: in a long segment a frequent word ("de") must still anchor the diff.
    matcher = SequenceMatcher(
        None, [_key(t) for t in before], [_key(t) for t in after], autojunk=False
    )
    pairs: list[WordPair] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace":
            continue
        if i2 - i1 == j2 - j1:
            pairs.extend(
                WordPair(core(before[i]), core(after[j]), i, i + 1)
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        elif max(i2 - i1, j2 - j1) <= MAX_PHRASE_WORDS:
            pairs.extend(
                _unequal([core(t) for t in before[i1:i2]], [core(t) for t in after[j1:j2]], i1)
            )
    return [p for p in pairs if p.wrong.casefold() != p.right.casefold()]


def _similarity(a: str, b: str) -> float:
    return float(fuzz.ratio(a.casefold().replace(" ", ""), b.casefold().replace(" ", "")))


def _unequal(wrong: list[str], right: list[str], start: int) -> list[WordPair]:
    """Runs of different lengths: one phrase pair ("di com" -> "Dicom"), or the shorter
    run aligned word by word where it sounds most alike inside the longer one ("Caren"
    -> "Karen hoy" is "Caren" -> "Karen" and an added word), whichever is more alike."""
    phrase = WordPair(" ".join(wrong), " ".join(right), start, start + len(wrong))
    best: tuple[float, list[WordPair]] = (_similarity(phrase.wrong, phrase.right), [phrase])
    short, long_ = (wrong, right) if len(wrong) < len(right) else (right, wrong)
    for offset in range(len(long_) - len(short) + 1):
        window = long_[offset : offset + len(short)]
        score = sum(_similarity(a, b) for a, b in zip(short, window, strict=True)) / len(short)
        if score <= best[0]:
            continue
        if short is wrong:
            aligned = [
                WordPair(w, r, start + k, start + k + 1)
                for k, (w, r) in enumerate(zip(wrong, window, strict=True))
            ]
        else:
            aligned = [
                WordPair(w, r, start + offset + k, start + offset + k + 1)
                for k, (w, r) in enumerate(zip(window, right, strict=True))
            ]
        best = (score, aligned)
    return best[1]
