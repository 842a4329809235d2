"""Intent classification from phrase lists, robust to speech-recognition errors.

Every phrase in `phrases.py` is folded and compiled once at import. A turn is folded
the same way, then each phrase is looked for: exactly (as whole words), and, for long
phrases only, approximately with `rapidfuzz` so that "no me yamen mas" still opts out.
Short phrases are exact-only because one wrong letter in "ya pagué" gives "ya pago",
the opposite meaning.

Two rules turn phrase hits into an answer. A negation just before a hit, in the same
clause, cancels it ("no puedo pagar" is not a promise; "no, le pago el viernes" is), and
of two overlapping hits the longer wins ("no soy yo" beats the "no" inside it). Then
specific intents beat social ones ("sí, le pago el viernes" is a promise), ties go by
`PRIORITY`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from centralita.understanding.model import Intent
from centralita.understanding.phrases import FILLERS, GENERIC, NEGATABLE, PHRASES, PRIORITY, Where
from centralita.understanding.text import NEGATORS, base_language, fold, strip_accents

# Phrases at least this long are also matched approximately.
_FUZZY_MIN_LEN = 12
_FUZZY_CUTOFF = 88.0
_EXACT_SCORE = 0.95
_ALONE_SCORE = 0.97
# Fuzzy hits score below exact ones: 0.9 at best, 0.79 at the cutoff.
_FUZZY_WEIGHT = 0.9
# When two specific intents are heard, the winner is less certain.
_CONTESTED_FACTOR = 0.85
_CONTRAST = re.compile(r"\b(?:pero|sino|but)\b")
_CONTRAST_BONUS = 0.02
_RANK = {intent: i for i, intent in enumerate(PRIORITY)}
# A word as `fold` keeps it, or a mark that ends a clause (not a separator in a number).
_TOKEN = re.compile(r"([^\W_]+)|[,;:!?¿¡]|\.(?!\d)")


@dataclass(frozen=True, slots=True)
class _Phrase:
    intent: Intent
    where: Where
    text: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase found in a turn.

    Attributes:
        intent: The intent the phrase stands for.
        score: Evidence in [0, 1].
        start: Start offset in the folded turn.
        end: End offset in the folded turn.
    """

    intent: Intent
    score: float
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class IntentResult:
    """The outcome of classifying one turn.

    Attributes:
        intent: The best intent, UNKNOWN when nothing matched.
        confidence: In [0, 1]; 0 for UNKNOWN.
        also: Other intents heard, best first.
    """

    intent: Intent
    confidence: float
    also: list[Intent] = field(default_factory=list)


def _compile(lang: str) -> list[_Phrase]:
    compiled: list[_Phrase] = []
    for intent, by_where in PHRASES[lang].items():
        for where, phrases in by_where.items():
            for phrase in phrases:
                folded = fold(phrase)
                pattern = re.compile(rf"(?<!\w){re.escape(folded)}(?!\w)")
                compiled.append(_Phrase(intent, where, folded, pattern))
    return compiled


_COMPILED: dict[str, list[_Phrase]] = {lang: _compile(lang) for lang in PHRASES}


def _strip_fillers(folded: str) -> str:
    """Drop leading and trailing fillers ("eh como" -> "como")."""
    tokens = folded.split(" ")
    while tokens and tokens[0] in FILLERS:
        tokens.pop(0)
    while tokens and tokens[-1] in FILLERS:
        tokens.pop()
    return " ".join(tokens)


def _cuts_a_word(phrase: str, folded: str, start: int, end: int) -> bool:
    """Whether an approximate hit begins or ends inside a word of the turn, on a short
    word of the phrase.

    A short word's letters turn up inside longer ones: "no le puedo pagar" aligns with
    "bue*no le puedo pagar*", which means the opposite. A long first or last word cut
    short is a misheard letter and is kept ("yamen" for "llamen").
    """
    words = phrase.split(" ")
    starts_inside = start > 0 and folded[start - 1] != " "
    ends_inside = end < len(folded) and folded[end] != " "
    return (starts_inside and len(words[0]) <= 3) or (ends_inside and len(words[-1]) <= 3)


def _find(phrase: _Phrase, folded: str, core: str) -> Hit | None:
    if phrase.where is Where.ALONE:
        return Hit(phrase.intent, _ALONE_SCORE, 0, len(folded)) if core == phrase.text else None
    if phrase.where is Where.START:
        # Offsets are taken in `core`, which only lost leading fillers of `folded`.
        offset = max(folded.find(core), 0)
        match = phrase.pattern.match(core)
        if match is None:
            return None
        return Hit(phrase.intent, _EXACT_SCORE, offset, offset + match.end())
    match = phrase.pattern.search(folded)
    if match is not None:
        return Hit(phrase.intent, _EXACT_SCORE, match.start(), match.end())
    # A turn shorter than the phrase would be found *inside* it ("no sé" in "no se
    # encuentra disponible"): approximate matching only goes the other way.
    if len(phrase.text) < _FUZZY_MIN_LEN or len(folded) < len(phrase.text) - 2:
        return None
    if len(folded) <= len(phrase.text) + 4:
        # About the phrase's length: the whole turn is the candidate, and a plain ratio
        # forgives a dropped letter that partial alignment would charge twice.
        whole = fuzz.ratio(phrase.text, folded, score_cutoff=_FUZZY_CUTOFF)
        if whole:
            return Hit(phrase.intent, _FUZZY_WEIGHT * whole / 100.0, 0, len(folded))
    aligned = fuzz.partial_ratio_alignment(phrase.text, folded, score_cutoff=_FUZZY_CUTOFF)
    if aligned is None or _cuts_a_word(phrase.text, folded, aligned.dest_start, aligned.dest_end):
        return None
    score = _FUZZY_WEIGHT * aligned.score / 100.0
    return Hit(phrase.intent, score, aligned.dest_start, aligned.dest_end)


def _clause_starts(text: str) -> set[int]:
    """The indexes of the folded words that open a clause: after a comma, a full stop or
    a question mark in the transcript ("No, le pago el viernes": the "no" answers the
    question, it does not negate the promise). A separator inside a number ("200.000")
    is not one.
    """
    lowered = strip_accents(text).lower().replace("'", "").replace("’", "")
    starts: set[int] = set()
    count = 0
    for token in _TOKEN.finditer(lowered):
        if token.group(1) is not None:
            count += 1
        else:
            starts.add(count)
    return starts


def _negated(folded: str, hit: Hit, clause_starts: set[int]) -> bool:
    """A negator in the two words before the hit, within its clause."""
    before = _CONTRAST.split(folded[: hit.start])[-1].split()
    index = len(folded[: hit.start].split())
    opened = max((i for i in clause_starts if i <= index), default=0)
    before = before[max(0, len(before) - (index - opened)) :]
    return any(word in NEGATORS for word in before[-2:])


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.start < b.end and b.start < a.end


def find_hits(text: str, language: str) -> list[Hit]:
    """All phrase hits in a turn that survive negation and overlap, strongest first.

    Args:
        text: The transcript of one turn.
        language: "es" or "en".

    Returns:
        At most one hit per intent (its best), strongest first.
    """
    folded = fold(text)
    if not folded:
        return []
    core = _strip_fillers(folded)
    clause_starts = _clause_starts(text)
    hits: list[Hit] = []
    for phrase in _COMPILED[base_language(language)]:
        hit = _find(phrase, folded, core)
        if hit is None:
            continue
        # A phrase that is a negation itself ("no puedo pagar") is not turned around by
        # another one: "no, no puedo" says it twice.
        negatable = hit.intent in NEGATABLE and phrase.text.split(" ")[0] not in NEGATORS
        if negatable and _negated(folded, hit, clause_starts):
            continue
        if _CONTRAST.search(folded, 0, hit.start):
            # What follows "pero" is the speaker's point: "no puedo pagar todo, pero le
            # puedo abonar cien mil" is a (partial) promise.
            hit = Hit(hit.intent, min(1.0, hit.score + _CONTRAST_BONUS), hit.start, hit.end)
        hits.append(hit)
    # A longer phrase is a more specific reading of the same words.
    hits.sort(key=lambda h: (h.end - h.start, h.score), reverse=True)
    kept: list[Hit] = []
    for hit in hits:
        if not any(_overlaps(hit, k) and k.intent != hit.intent for k in kept):
            kept.append(hit)
    best: dict[Intent, Hit] = {}
    for hit in kept:
        if hit.intent not in best or hit.score > best[hit.intent].score:
            best[hit.intent] = hit
    return sorted(
        best.values(),
        key=lambda h: (h.intent not in GENERIC, h.score, -_RANK[h.intent]),
        reverse=True,
    )


def classify(text: str, language: str) -> IntentResult:
    """The intent of a turn, its confidence and the other intents heard.

    Args:
        text: The transcript of one turn.
        language: "es" or "en".

    Returns:
        The classification; UNKNOWN with confidence 0 when no phrase matched.
    """
    hits = find_hits(text, language)
    if not hits:
        return IntentResult(Intent.UNKNOWN, 0.0)
    top = hits[0]
    confidence = top.score
    if any(h.intent not in GENERIC for h in hits[1:]) and top.intent not in GENERIC:
        confidence *= _CONTESTED_FACTOR
    return IntentResult(top.intent, round(confidence, 3), [h.intent for h in hits[1:]])
