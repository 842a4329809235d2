"""Scoring for the WER benchmark: text normalisation, WER, harmful corrections, error pairs.

Normalisation (applied to the reference and the hypothesis alike before any WER):
lower case; thousands separators dropped ("150.000" -> "150000"); a hyphen between
digits read as "guion" (a RUT's check digit); punctuation removed; number words turned
into digits with text2num ("ciento cincuenta mil" -> "150000", "dos" -> "2"); a run of
single digits read out one by one joined into one number ("1 2 3" -> "123", so a RUT
said digit by digit and written whole compare equal); "ka" -> "k"; accents folded
("Ñuñoa" -> "nunoa"). Accents are folded because Whisper's accent marks are not what the
corrector is measured on, and the corrector itself matches ignoring them. So a number
counts as one word: one wrong digit of a RUT is one error, not eight.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import jiwer
from text_to_num import alpha2digit  # type: ignore[import-untyped]  # ships no types

from centralita.correction.online import normalise as normalise_word

Effect = Literal["helpful", "harmful", "neutral"]

_THOUSANDS = re.compile(r"(?<=\d)\s?[.,](?=\d{3}(?!\d))")  # "200.000", "200 .000"
_DIGIT_HYPHEN = re.compile(r"(?<=\d)\s*[-‐–]\s*(?=[\dk]\b)", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w]+|_")
_WORD = re.compile(r"[^\W_]+")
# text2num reads "veintiuno mil" but not the apocope everyone says ("veintiún mil").
_VEINTIUN = re.compile(r"\bveinti[uú]n\b")
_DIGIT_WORDS = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
# Two or more digits said one by one ("uno cuatro cero cinco"): text2num would read
# "cero cinco" as "05" and split the run, so such runs become digits first.
_DIGIT_RUN = re.compile(r"\b(?:(?:%s)\s+)+(?:%s)\b" % (("|".join(_DIGIT_WORDS),) * 2))


def fold(text: str) -> str:
    """Lower case without accents ("Ñuñoa" -> "nunoa"), as the correction levels fold."""
    return normalise_word(text)


def normalise(text: str) -> str:
    """The form both sides of a WER are compared in (see the module docstring)."""
    text = text.casefold()
    text = _THOUSANDS.sub("", text)
    text = _DIGIT_HYPHEN.sub(" guion ", text)
    text = _NOT_WORD.sub(" ", text)
    text = _VEINTIUN.sub("veintiuno", text)
    text = _DIGIT_RUN.sub(_digits, text)
    text = alpha2digit(" ".join(text.split()), "es", threshold=0) if text.strip() else ""
    tokens: list[str] = []
    joining = False  # the last token is a run of digits said one by one
    for word in fold(text).split():
        token = "k" if word == "ka" else word  # the RUT's check letter, said
        single = len(token) == 1 and token.isdigit()
        if single and tokens and (joining or (len(tokens[-1]) == 1 and tokens[-1].isdigit())):
            tokens[-1] += token
            joining = True
            continue
        tokens.append(token)
        joining = False
    return " ".join(tokens)


def _digits(run: re.Match[str]) -> str:
    return "".join(str(_DIGIT_WORDS.index(word)) for word in run.group(0).split())


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER (errors over reference words) after `normalise` on both sides.

    Raises:
        ValueError: the lists differ in length, or the references have no words.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references for {len(hypotheses)} hypotheses")
    refs = [normalise(r) for r in references]
    if not any(refs):
        raise ValueError("no reference words to score against")
    hyps = [normalise(h) for h in hypotheses]
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        counted = _measure(ref, hyp)
        errors += counted[1]
        words += counted[0]
    return errors / words


def _measure(ref: str, hyp: str) -> tuple[int, int, int]:
    """(reference words, errors, hits) of one normalised pair."""
    if not ref:
        return 0, len(hyp.split()), 0
    if not hyp:
        return len(ref.split()), len(ref.split()), 0
    out = jiwer.process_words(ref, hyp)
    errors = out.substitutions + out.deletions + out.insertions
    return out.hits + out.substitutions + out.deletions, errors, out.hits


def hits(reference: str, hypothesis: str) -> int:
    """How many hypothesis words line up with an equal reference word (normalised)."""
    return _measure(normalise(reference), normalise(hypothesis))[2]


def classify_change(reference: str, without: str, with_: str) -> Effect:
    """What one correction did: compare the text without it and with it to the reference.

    Harmful when the correction leaves fewer words matching the reference (it turned a
    word that matched into one that does not), helpful when it leaves more, neutral
    when wrong stayed wrong (or only the spelling of a matching word changed).
    """
    before, after = hits(reference, without), hits(reference, with_)
    if after < before:
        return "harmful"
    if after > before:
        return "helpful"
    return "neutral"


def harmful_share(effects: Iterable[Effect]) -> float:
    """Harmful corrections over all corrections (0.0 when there were none)."""
    counted = Counter(effects)
    total = sum(counted.values())
    return counted["harmful"] / total if total else 0.0


def harvest_pairs(
    transcribed: Iterable[tuple[str, str]], vocabulary: Iterable[str], *, max_words: int = 3
) -> dict[str, str]:
    """Known error pairs (heard -> meant) from (reference, hypothesis) training pairs.

    Words are aligned case- and accent-insensitively; each run of differing words
    becomes a candidate pair, kept when both sides are short and purely alphabetic
    (number errors are left to the number normaliser), when the meant side holds a
    word of ``vocabulary`` (the lexicon's words), and when the heard side is never a
    correct word of any training reference: a pair that could fire on a word that was
    right somewhere would break it there. The most frequent meaning wins a conflict.
    """
    allowed = {fold(w) for term in vocabulary for w in _WORD.findall(term)}
    candidates: dict[str, Counter[str]] = {}
    correct_words: set[str] = set()
    for reference, hypothesis in transcribed:
        ref_words = _WORD.findall(reference)
        hyp_words = _WORD.findall(hypothesis)
        correct_words.update(fold(w) for w in ref_words)
        if not ref_words or not hyp_words:
            continue
        out = jiwer.process_words(
            " ".join(fold(w) for w in ref_words), " ".join(fold(w) for w in hyp_words)
        )
        for r0, r1, h0, h1 in _error_runs(out.alignments[0]):
            meant, heard = ref_words[r0:r1], hyp_words[h0:h1]
            if not (1 <= len(meant) <= max_words and 1 <= len(heard) <= max_words):
                continue
            if not all(w.isalpha() for w in (*meant, *heard)):
                continue
            if not any(fold(w) in allowed for w in meant):
                continue
            key = " ".join(fold(w) for w in heard)
            candidates.setdefault(key, Counter())[" ".join(meant)] += 1
    return {
        heard: meanings.most_common(1)[0][0]
        for heard, meanings in sorted(candidates.items())
        if not set(heard.split()) & correct_words
    }


def _error_runs(chunks: Sequence[jiwer.AlignmentChunk]) -> list[tuple[int, int, int, int]]:
    """Merge adjacent non-equal alignment chunks into (ref start, end, hyp start, end)."""
    runs: list[tuple[int, int, int, int]] = []
    current: list[int] | None = None
    for c in chunks:
        if c.type == "equal":
            if current is not None:
                runs.append((current[0], current[1], current[2], current[3]))
                current = None
            continue
        if current is None:
            current = [c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx]
        else:
            current[1], current[3] = c.ref_end_idx, c.hyp_end_idx
    if current is not None:
        runs.append((current[0], current[1], current[2], current[3]))
    return runs
