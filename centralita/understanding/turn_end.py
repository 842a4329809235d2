"""Whether what the caller said so far reads like a finished turn.

The turn model hears Spanish mid-sentence pauses as finished ones (P 0.9-0.99, `python
-m bench turns`), so a short silence cannot end a turn on its own. The words can: a
transcript taken at a 200 ms pause that ends on "el", "que" or "my number is" is a
sentence left hanging, and one that promises to pay without the day the agent just
asked for ("puedo pagar...", "I can pay...") has its answer still to come. A finished
one ("sí", "el viernes", "no puedo", "¿quién habla?") ends the turn at once.

Two rules, in this order:
1. the last words: a dangling article, preposition, conjunction, possessive, clitic
   or copula, a filler, or Whisper's trailing "..." mean the sentence goes on;
2. what the agent asked (`expecting`, the slots its last line asked for): the turn is
   over when it gives one of them, or says something closed (yes, no, cannot pay,
   dispute, opt-out, wrong person, a person please, repeat, goodbye) that is not a
   promise still missing its day or amount. Anything else (words the rules do not
   know) waits: a caller made to wait ~1 s loses less than one cut off.
Without `expecting` (a node that asked nothing, a free model) only the first rule runs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from centralita.understanding.model import Intent
from centralita.understanding.nlu import understand
from centralita.understanding.text import NEGATORS, base_language, words

# Words after which a sentence cannot stop (folded: lowercase, no accents). Not "si":
# folded, the "sí" that answers is "si" too, and ends many a turn.
_DANGLING: dict[str, frozenset[str]] = {
    "es": frozenset({
        "el", "la", "los", "las", "un", "una", "unos", "unas", "lo", "al", "del",
        "a", "ante", "con", "contra", "de", "desde", "en", "entre", "hacia", "hasta",
        "para", "por", "segun", "sin", "sobre", "tras",
        "y", "e", "o", "u", "ni", "pero", "que", "porque", "como", "cuando", "aunque",
        "sino", "mientras",
        "mi", "mis", "tu", "tus", "su", "sus", "nuestro", "nuestra", "nuestros", "nuestras",
        "le", "les", "me", "te", "se", "nos", "muy",
        "eh", "em", "emm", "mmm", "este",
    }),
    "en": frozenset({
        "the", "a", "an", "my", "your", "his", "her", "our", "their", "its",
        "to", "of", "in", "on", "at", "for", "with", "from", "by", "about", "into", "than",
        "and", "or", "but", "because", "if", "when",
        "uh", "um", "er", "erm",
    }),
}  # fmt: skip
# Verbs "to be" that end a sentence only after a pronoun: "mi número es..." hangs,
# "eso es" is finished; "my number is..." hangs, "yes it is" is finished.
_COPULAS: dict[str, frozenset[str]] = {
    "es": frozenset({"es", "son", "era", "fue", "seria", "esta", "estan", "soy", "sea"}),
    "en": frozenset({"is", "are", "was", "were", "am", "be", "that"}),
}
_COPULA_ENDS: dict[str, frozenset[str]] = {
    "es": frozenset({"eso", "esto", "asi", "ese", "esa", "si", "no", "ya", "ahi", "aqui"}),
    "en": frozenset({"it", "there", "this", "he", "she", "they", "we", "you", "i", "so", "all"}),
}
_TRAILING_DOTS = re.compile(r"(\.\.\.|…)\W*$")
_QUESTION = re.compile(r"\?\W*$")
# Said in full: an answer that needs nothing after it.
_CLOSED: frozenset[Intent] = frozenset(
    {
        Intent.AFFIRM,
        Intent.DENY,
        Intent.CANNOT_PAY,
        Intent.DISPUTE,
        Intent.OPT_OUT,
        Intent.WRONG_PERSON,
        Intent.HUMAN_REQUEST,
        Intent.REPEAT_REQUEST,
        Intent.GOODBYE,
        Intent.VOICEMAIL,
    }
)


def sounds_finished(
    text: str, *, language: str, now: datetime, expecting: Collection[str] = ()
) -> bool:
    """Whether `text` (the caller's turn so far) reads like a finished turn.

    Args:
        text: The transcript of the turn up to the pause.
        language: "es" or "en" (tags such as "es-CL" work too).
        now: The moment, aware (dates in the answer are read relative to it).
        expecting: The slots the agent's last line asked for ("pay_date", "amount",
            "callback_at"); empty when it asked for none.

    Returns:
        False when the sentence hangs or the answer asked for has not come yet.
    """
    lang = base_language(language)
    said = words(text)
    if not said or _TRAILING_DOTS.search(text.strip()):
        return False
    if _QUESTION.search(text.strip()):
        return True
    if _hangs(said, lang):
        return False
    if not expecting:
        return True
    return _answers(text, lang, now, expecting)


def _hangs(said: list[str], lang: str) -> bool:
    last = said[-1]
    if last in _DANGLING[lang]:
        return True
    if last in _COPULAS[lang]:
        before = said[-2] if len(said) > 1 else ""
        return before not in _COPULA_ENDS[lang]
    return False


def _refuses(said: list[str]) -> bool:
    """Ends on a negated verb: "este mes no puedo", "I can't" (rules that know no intent
    for them still hear that nothing more is coming)."""
    return said[-1] in NEGATORS or (len(said) > 1 and said[-2] in NEGATORS)


def _answers(text: str, lang: str, now: datetime, expecting: Collection[str]) -> bool:
    heard = understand(text, language=lang, now=now, expecting=expecting)
    slots = heard.slots
    given = {
        "pay_date": slots.pay_date is not None,
        "amount": slots.amount is not None,
        "callback_at": slots.callback_at is not None or slots.callback_day is not None,
    }
    if any(given.get(name, False) for name in expecting):
        return True
    intents = {heard.intent, *heard.also}
    if heard.intent is Intent.UNKNOWN and _refuses(words(text)):
        return True
    if Intent.PROMISE_TO_PAY in intents or Intent.CALLBACK_REQUEST in intents:
        return False  # "puedo pagar...", "llámeme...": the day or amount is still to come
    return bool(intents & _CLOSED)
