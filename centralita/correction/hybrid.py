"""The post-call hybrid corrector: exact dictionary, then nearest neighbours, then sound.

Levels, in order, each only on the words the previous ones left alone:

- L1: the tenant's exact wrong -> right dictionary (`OnlineCorrector`, phrases
  allowed), the same one the media worker applies live;
- L2: nearest neighbours of a word or a pair of words (split words: "di com") among
  the lexicon's forms, by n-gram vector (`vectors`), above a similarity threshold;
- L3: forms that sound the same (`phonetic.phonetic_key`) or are near in vector space,
  scored with rapidfuzz over the phonetic key and the spelling.

Safety rules, because a wrong correction costs more than a missed one: a word the
recogniser was sure of (probability above ``confident_probability``) is only changed
on strong evidence (a dictionary hit, or a score above the higher bar); the common
words of the language and numbers are never turned into lexicon terms; every change
is recorded with its level, score, span and the recogniser's probability, so `undo`
can restore the original from the stored data alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from centralita.correction.common_words import is_common
from centralita.correction.lexicon import LexiconForm, LexiconHit, LexiconIndex
from centralita.correction.online import OnlineCorrector
from centralita.correction.phonetic import compact, fold, phonetic_key

# A token's leading punctuation, its core, its trailing punctuation ("¿Peres?").
_EDGES: Final = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.DOTALL)


class HeardWord(BaseModel):
    """One recognised word and the recogniser's probability for it."""

    model_config = ConfigDict(frozen=True)

    text: str
    probability: float = Field(default=1.0, ge=0.0, le=1.0)


class AppliedCorrection(BaseModel):
    """One change: heard words ``[word_start, word_end)`` became ``after``."""

    model_config = ConfigDict(frozen=True)

    level: Literal["L1", "L2", "L3"]
    score: float
    before: str
    after: str
    word_start: int
    word_end: int
    probability: float = Field(description="The lowest word probability in the span")


class CorrectedText(BaseModel):
    """The corrected utterance and its corrections, in word order."""

    model_config = ConfigDict(frozen=True)

    text: str
    corrections: list[AppliedCorrection]


class CorrectionSettings(BaseModel):
    """Thresholds of levels 2 and 3 (defaults chosen with `evaluate_representation`)."""

    model_config = ConfigDict(frozen=True)

    confident_probability: float = Field(default=0.85, ge=0.0, le=1.0)
    l2_min_similarity: float = Field(default=0.76, ge=0.0, le=1.0)
    l2_strong_similarity: float = Field(default=0.92, ge=0.0, le=1.0)
    l3_min_score: float = Field(default=0.82, ge=0.0, le=1.0)
    l3_strong_score: float = Field(default=0.95, ge=0.0, le=1.0)
    neighbours: int = Field(default=8, ge=1, le=100)
    max_span_words: int = Field(default=2, ge=1, le=3)
    min_length: int = Field(default=3, ge=1, description="Shorter spans are never fuzzed")


class _Span:
    """Heard words ``[start, end)`` with their punctuation split off."""

    def __init__(self, tokens: Sequence[str], words: Sequence[HeardWord], start: int, end: int):
        self.start, self.end = start, end
        self.before = " ".join(tokens[start:end])
        prefix, core, suffix = _split_edges(self.before)
        self.prefix, self.core, self.suffix = prefix, core, suffix
        self.compact = compact(core)
        self.words = [fold(_split_edges(t)[1]) for t in tokens[start:end]]
        self.probability = min((w.probability for w in words[start:end]), default=1.0)


class HybridCorrector:
    """Correct one utterance against a tenant's dictionary and lexicon.

    Args:
        lexicon: the tenant's lexicon (`InMemoryLexicon` or `PgLexicon`).
        dictionary: the tenant's exact dictionary (level 1); None skips level 1.
        settings: thresholds; the defaults are the evaluated ones.
    """

    def __init__(
        self,
        lexicon: LexiconIndex,
        dictionary: OnlineCorrector | None = None,
        *,
        settings: CorrectionSettings | None = None,
    ) -> None:
        self._lexicon = lexicon
        self._dictionary = dictionary
        self._settings = settings or CorrectionSettings()

    async def correct(self, words: Sequence[HeardWord], language: str) -> CorrectedText:
        """Correct the recognised words of one utterance.

        Args:
            words: the recogniser's words, in order, with their probabilities.
            language: the utterance's language ("es", "es-CL", "en").

        Returns:
            The corrected text (words joined by single spaces) and every change made.
        """
        tokens = [w.text.strip() for w in words]
        corrections = self._dictionary_pass(tokens, words)
        covered = [False] * len(tokens)
        for c in corrections:
            covered[c.word_start : c.word_end] = [True] * (c.word_end - c.word_start)
        i = 0
        while i < len(tokens):
            if covered[i]:
                i += 1
                continue
            found = None
            for width in range(self._settings.max_span_words, 0, -1):
                end = i + width
                if end > len(tokens) or any(covered[i:end]):
                    continue
                found = await self._fuzzy(_Span(tokens, words, i, end), language)
                if found is not None:
                    break
            if found is None:
                i += 1
                continue
            corrections.append(found)
            covered[found.word_start : found.word_end] = [True] * (
                found.word_end - found.word_start
            )
            i = found.word_end
        corrections.sort(key=lambda c: c.word_start)
        return CorrectedText(text=_render(tokens, corrections), corrections=corrections)

    def _dictionary_pass(
        self, tokens: list[str], words: Sequence[HeardWord]
    ) -> list[AppliedCorrection]:
        """Level 1, mapped from the dictionary's character offsets back to word spans."""
        if self._dictionary is None or not tokens:
            return []
        text = " ".join(tokens)
        starts: list[int] = []
        offset = 0
        for token in tokens:
            starts.append(offset)
            offset += len(token) + 1
        out: list[AppliedCorrection] = []
        for c in self._dictionary.correct(text).corrections:
            first = _token_at(starts, c.source_start)
            last = _token_at(starts, c.source_start + len(c.before) - 1)
            before = " ".join(tokens[first : last + 1])
            # Punctuation glued to the words stays where it was ("¿salgo" -> "¿saldo").
            head = text[starts[first] : c.source_start]
            tail_at = c.source_start + len(c.before)
            tail = text[tail_at : starts[last] + len(tokens[last])]
            out.append(
                AppliedCorrection(
                    level="L1",
                    score=1.0,
                    before=before,
                    after=head + c.after + tail,
                    word_start=first,
                    word_end=last + 1,
                    probability=min(w.probability for w in words[first : last + 1]),
                )
            )
        return out

    async def _fuzzy(self, span: _Span, language: str) -> AppliedCorrection | None:
        """Levels 2 then 3 on one span; None when the span is better left as heard."""
        s = self._settings
        if len(span.compact) < s.min_length or all(is_common(w, language) for w in span.words):
            return None
        if any(ch.isdigit() for ch in span.compact):
            return None  # amounts and ids belong to the dictionary and the entity parser
        hits = await self._lexicon.nearest(span.core, language, s.neighbours)
        if any(compact(h.form.form) == span.compact for h in hits if h.form.form == h.form.text):
            return None  # the heard words are a lexicon term as they stand
        confident = span.probability > s.confident_probability
        l2_bar = s.l2_strong_similarity if confident else s.l2_min_similarity
        for hit in hits:
            similarity = 1.0 if compact(hit.form.form) == span.compact else hit.similarity
            if similarity >= l2_bar and self._allowed(span, hit.form, language):
                return self._applied("L2", similarity, span, hit.form)
        l3_bar = s.l3_strong_score if confident else s.l3_min_score
        key = phonetic_key(span.core, language)
        best: tuple[float, LexiconForm] | None = None
        for form in _candidates(await self._lexicon.sounding_like(key, language), hits):
            score = l3_score(span.core, form.form, language)
            better = score >= l3_bar and (best is None or score > best[0])
            if better and self._allowed(span, form, language):
                best = (score, form)
        if best is None:
            return None
        return self._applied("L3", best[0], span, best[1])

    @staticmethod
    def _allowed(span: _Span, form: LexiconForm, language: str) -> bool:
        """A match may not change the heard words into the same text or eat a common word."""
        if compact(form.text) == span.compact:
            return False
        form_words = {fold(w) for w in re.findall(r"\w+", form.text + " " + form.form)}
        joined = compact(form.text)
        for word in span.words:
            if not is_common(word, language) or word in form_words:
                continue
            # A long common word may survive inside a joined name ("vanco estado" ->
            # "BancoEstado"); a short one ("el", "de") must stand as its own word.
            if len(word) <= 3 or word not in joined:
                return False
        return True

    @staticmethod
    def _applied(
        level: Literal["L2", "L3"], score: float, span: _Span, form: LexiconForm
    ) -> AppliedCorrection:
        after = form.text
        if after.islower() and span.core[:1].isupper():
            after = after[:1].upper() + after[1:]
        return AppliedCorrection(
            level=level,
            score=round(score, 4),
            before=span.before,
            after=span.prefix + " ".join(after.split()) + span.suffix,
            word_start=span.start,
            word_end=span.end,
            probability=span.probability,
        )


def l3_score(heard: str, form: str, language: str) -> float:
    """Level-3 similarity in [0, 1]: rapidfuzz over the phonetic keys, then the spelling.

    The key weighs more (the caller said the right sounds; the recogniser chose a
    spelling), the spelling breaks ties between forms that sound alike.
    """
    key_ratio = fuzz.ratio(phonetic_key(heard, language), phonetic_key(form, language))
    text_ratio = fuzz.ratio(compact(heard), compact(form))
    return (0.65 * key_ratio + 0.35 * text_ratio) / 100.0


def undo(
    original_words: Sequence[HeardWord],
    corrected: CorrectedText,
    only: Sequence[AppliedCorrection] | None = None,
) -> str:
    """Revert corrections using the stored text and corrections, checking them as it goes.

    Args:
        original_words: the heard words the correction ran on.
        corrected: what `HybridCorrector.correct` returned (as stored).
        only: revert just these corrections (a reviewer undoing one); default all.

    Returns:
        The text with those corrections reverted: with all of them, the heard text.

    Raises:
        ValueError: the stored text does not agree with the words and corrections.
    """
    tokens = [w.text.strip() for w in original_words]
    revert = corrected.corrections if only is None else list(only)
    text, at, pieces, word = corrected.text, 0, [], 0
    for c in sorted(corrected.corrections, key=lambda c: c.word_start):
        for expected in [*tokens[word : c.word_start], c.after]:
            at = _expect(text, at, expected)
        pieces.extend(tokens[word : c.word_start])
        pieces.append(c.before if c in revert else c.after)
        word = c.word_end
    for expected in tokens[word:]:
        at = _expect(text, at, expected)
    if at < len(text):
        raise ValueError(f"corrected text has more than the words and corrections: {text!r}")
    pieces.extend(tokens[word:])
    return " ".join(pieces)


def _expect(text: str, at: int, expected: str) -> int:
    """Check ``expected`` stands at ``at`` (after one separating space) and skip it."""
    if at > 0:
        if text[at : at + 1] != " ":
            raise ValueError(f"corrected text disagrees with the stored data at {at}")
        at += 1
    if text[at : at + len(expected)] != expected:
        raise ValueError(f"expected {expected!r} at {at} of the corrected text")
    return at + len(expected)


def _render(tokens: list[str], corrections: list[AppliedCorrection]) -> str:
    pieces: list[str] = []
    word = 0
    for c in corrections:
        pieces.extend(tokens[word : c.word_start])
        pieces.append(c.after)
        word = c.word_end
    pieces.extend(tokens[word:])
    return " ".join(pieces)


def _candidates(same_key: list[LexiconForm], hits: list[LexiconHit]) -> list[LexiconForm]:
    seen: set[LexiconForm] = set()
    out: list[LexiconForm] = []
    for form in [*same_key, *(h.form for h in hits)]:
        if form not in seen:
            seen.add(form)
            out.append(form)
    return out


def _split_edges(token: str) -> tuple[str, str, str]:
    match = _EDGES.match(token)
    assert match is not None  # the pattern matches any string
    return match.group(1), match.group(2), match.group(3)


def _token_at(starts: list[int], offset: int) -> int:
    """Index of the token whose text covers character ``offset``."""
    index = 0
    for i, start in enumerate(starts):
        if start <= offset:
            index = i
    return index
