"""Sentiment of one turn from weighted keyword lists, with intensifiers and negation.

A lexicon is crude, but it is fast, explainable to a supervisor ("he said 'ya les
dije' and swore") and good enough to spot the turns that matter in a collection call:
the caller losing patience, the caller lost, the caller pleased.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from centralita.understanding.model import Sentiment, SentimentScore
from centralita.understanding.text import NEGATORS, base_language, fold

# Phrase -> weight. Negative weights are frustration, positive are satisfaction.
_FRUSTRATED: Mapping[str, Mapping[str, float]] = {
    "es": {
        "ya les dije": -0.6, "ya le dije": -0.6, "ya te dije": -0.6, "se lo dije": -0.4,
        "que lata": -0.5, "harto": -0.5, "harta": -0.5, "estoy harto": -0.7,
        "estoy harta": -0.7, "molesto": -0.4, "molesta": -0.4, "molestando": -0.5,
        "siempre llaman": -0.5, "llaman todos los dias": -0.6, "todos los dias llaman": -0.6,
        "otra vez": -0.3, "de nuevo": -0.2, "cansado": -0.4, "cansada": -0.4,
        "aburrido": -0.4, "aburrida": -0.4, "enojado": -0.6, "enojada": -0.6,
        "rabia": -0.6, "acoso": -0.8, "abuso": -0.6, "denunciar": -0.7, "sernac": -0.6,
        "abogado": -0.4, "ladrones": -0.9, "sinverguenzas": -0.9, "estafa": -0.7,
        "weon": -0.8, "huevon": -0.8, "conchetumare": -1.0, "ctm": -1.0, "mierda": -0.9,
        "puta": -0.8, "chucha": -0.7, "idiota": -0.9, "imbecil": -1.0, "estupido": -0.9,
        "estupida": -0.9, "carajo": -0.8, "joder": -0.8, "gilipollas": -1.0, "cono": -0.6,
        "hostia": -0.5, "maldito": -0.8, "malditos": -0.8, "por la chucha": -0.9,
        "no me moleste": -0.6, "dejen de molestar": -0.7, "que no entienden": -0.6,
        "no sirve": -0.5, "pesimo": -0.7, "horrible": -0.6, "mal servicio": -0.6,
        "insoportable": -0.8, "no puede ser": -0.4, "increible": -0.2, "basta": -0.6,
    },
    "en": {
        "i already told you": -0.6, "told you already": -0.6, "fed up": -0.7,
        "sick of": -0.7, "annoyed": -0.5, "annoying": -0.5, "angry": -0.6, "furious": -0.9,
        "harassment": -0.8, "harassing": -0.8, "always calling": -0.5, "every day": -0.3,
        "again": -0.2, "ridiculous": -0.6, "unbelievable": -0.4, "scam": -0.7,
        "thieves": -0.9, "lawyer": -0.4, "sue": -0.6, "damn": -0.7, "shit": -0.9,
        "fuck": -1.0, "fucking": -1.0, "idiot": -0.9, "stupid": -0.8, "useless": -0.6,
        "terrible": -0.6, "awful": -0.6, "enough": -0.4, "leave me alone": -0.7,
        "tired of": -0.6, "frustrated": -0.6, "upset": -0.5,
    },
}  # fmt: skip
_CONFUSED: Mapping[str, Mapping[str, float]] = {
    "es": {
        "no entiendo": 0.6, "no entendi": 0.6, "no le entiendo": 0.6, "como": 0.2,
        "que cosa": 0.5, "que es eso": 0.5, "de que me habla": 0.7, "de que se trata": 0.5,
        "no se de que": 0.7, "que deuda": 0.6, "cual deuda": 0.6, "quien es": 0.3,
        "no comprendo": 0.6, "me perdi": 0.6, "que significa": 0.5, "no se": 0.3,
        "explique": 0.4, "expliqueme": 0.5, "confundido": 0.7, "confundida": 0.7,
    },
    "en": {
        "dont understand": 0.6, "didnt understand": 0.6, "what do you mean": 0.6,
        "what is this about": 0.6, "what debt": 0.6, "confused": 0.7, "what": 0.2,
        "im lost": 0.6, "i dont know what": 0.6, "explain": 0.4, "not sure": 0.3,
    },
}  # fmt: skip
_POSITIVE: Mapping[str, Mapping[str, float]] = {
    "es": {
        "gracias": 0.4, "muchas gracias": 0.6, "perfecto": 0.5, "claro": 0.3, "bueno": 0.2,
        "excelente": 0.6, "genial": 0.6, "de acuerdo": 0.3, "muy amable": 0.6,
        "se agradece": 0.5, "buena onda": 0.5, "bacan": 0.5, "estupendo": 0.6, "vale": 0.2,
        "encantado": 0.5, "feliz": 0.5, "me parece bien": 0.5, "sin problema": 0.4,
        "dale": 0.2, "ya po": 0.1, "amable": 0.4, "tranquilo": 0.2,
    },
    "en": {
        "thank you": 0.5, "thanks": 0.4, "perfect": 0.5, "great": 0.5, "sure": 0.2,
        "of course": 0.3, "excellent": 0.6, "awesome": 0.6, "sounds good": 0.5, "good": 0.2,
        "no problem": 0.4, "appreciate": 0.5, "helpful": 0.5, "kind": 0.3, "happy": 0.4,
    },
}  # fmt: skip
_INTENSIFIERS: frozenset[str] = frozenset(
    {"muy", "tan", "super", "demasiado", "re", "bien", "tremendamente", "realmente",
     "really", "so", "very", "extremely", "totally", "too", "absolutamente", "mega"}
)  # fmt: skip
_INTENSITY = 1.5
# A negated emotion word is softened and turned ("no estoy molesto" is mildly positive).
_NEGATION_FLIP = -0.5
# Confusion weighs on the score too, lightly: a lost caller is not a happy one.
_CONFUSION_WEIGHT = -0.3
_FRUSTRATED_BELOW = -0.3
_POSITIVE_ABOVE = 0.3
_ALERT_BELOW = -0.5
_CONFUSED_AT = 0.5

_Lexicon = list[tuple[re.Pattern[str], str, float]]


def _compile(lang: str) -> _Lexicon:
    entries: _Lexicon = []
    for kind, table in (("f", _FRUSTRATED), ("c", _CONFUSED), ("p", _POSITIVE)):
        for phrase, weight in table[lang].items():
            entries.append((re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)"), kind, weight))
    # Longest first: "estoy harto" is scored instead of the "harto" inside it.
    entries.sort(key=lambda e: len(e[0].pattern), reverse=True)
    return entries


_LEXICONS: dict[str, _Lexicon] = {lang: _compile(lang) for lang in ("es", "en")}


def _modifier(folded: str, start: int, phrase_is_negation: bool) -> float:
    """Intensifier and negation effect of the two words before a hit."""
    before = folded[:start].split()[-2:]
    factor = _INTENSITY if any(w in _INTENSIFIERS for w in before) else 1.0
    if not phrase_is_negation and any(w in NEGATORS for w in before):
        factor *= _NEGATION_FLIP
    return factor


def score_sentiment(text: str, language: str) -> SentimentScore:
    """Score the mood of one turn.

    Args:
        text: The transcript of one turn.
        language: "es" or "en".

    Returns:
        The score in [-1, 1], its label and whether supervisors should be alerted.
    """
    folded = fold(text)
    taken = [False] * len(folded)
    valence = 0.0
    confusion = 0.0
    for pattern, kind, weight in _LEXICONS[base_language(language)]:
        for m in pattern.finditer(folded):
            if any(taken[m.start() : m.end()]):
                continue
            taken[m.start() : m.end()] = [True] * (m.end() - m.start())
            # Phrases that carry their own "no" ("no entiendo") are not negated by it.
            factor = _modifier(folded, m.start(), m.group(0).startswith("no "))
            if kind == "c":
                confusion += weight * abs(factor)
            else:
                valence += weight * factor
    score = max(-1.0, min(1.0, valence + _CONFUSION_WEIGHT * min(confusion, 1.0)))
    if score < _FRUSTRATED_BELOW and valence < 0:
        label = Sentiment.FRUSTRATED
    elif confusion >= _CONFUSED_AT or (confusion > 0 and valence == 0 and _is_short(folded)):
        label = Sentiment.CONFUSED
    elif score > _POSITIVE_ABOVE:
        label = Sentiment.POSITIVE
    else:
        label = Sentiment.NEUTRAL
    return SentimentScore(score=round(score, 3), label=label, alert=score < _ALERT_BELOW)


def _is_short(folded: str) -> bool:
    """A turn of one or two words: "¿cómo?" alone is confusion, inside a sentence not."""
    return len(folded.split()) <= 2
