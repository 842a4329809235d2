"""What the caller's words so far say about whether the turn is over.

The turn model hears Spanish mid-sentence pauses as finished ones (P 0.9-0.99, `python
-m bench turns`), so a short silence cannot end a turn on its own. The words can: a
transcript taken at a 200 ms pause that ends on "el", "que" or "my number is" is a
sentence left hanging, and one that promises to pay without the day the agent just
asked for ("puedo pagar...", "I can pay...") has its answer still to come. Three
answers (`Ending`), in this order:

- HANGING: the last word is a dangling article, preposition, conjunction, possessive,
  clitic, copula or filler; or a promise (a callback) gives none of the slots asked for.
  The turn waits for more, up to the longest wait.
- FINISHED: a question; every slot the agent's last line asked for (`expecting`), or
  the day when it asked for an amount and a day; or a
  closed answer (yes, no, cannot pay, dispute, opt-out, wrong person, a person please,
  repeat, goodbye, "no puedo"). The turn ends at once.
- OPEN: anything else (a part of what was asked, words the rules do not know, Whisper's
  trailing "..."): the turn ends after the usual 500 ms silence, as it did before, so a
  caller who gives the amount, pauses, and gives the day is not cut at the comma.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import datetime
from enum import StrEnum

from centralita.understanding.model import Intent, Slots
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
# Verbs of paying that end a sentence before its amount or day ("I could send...").
_PAYING = frozenset(
    {"pagar", "abonar", "depositar", "transferir", "pay", "send", "transfer", "deposit"}
)
_AFTER_A_STOP = re.compile(r"[.!?]\s+[^\s.!?]+(\s+[^\s.!?]+)?[\W]*$")
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


class Ending(StrEnum):
    """What the words so far say about the turn."""

    FINISHED = "finished"  # over: end it now
    OPEN = "open"  # may be over: end it after the usual silence (500 ms)
    HANGING = "hanging"  # goes on: wait for more, up to the longest wait


def turn_ending(
    text: str, *, language: str, now: datetime, expecting: Collection[str] = ()
) -> Ending:
    """What `text` (the caller's turn up to a pause) says about the turn's end.

    Args:
        text: The transcript of the turn up to the pause.
        language: "es" or "en" (tags such as "es-CL" work too).
        now: The moment, aware (dates in the answer are read relative to it).
        expecting: The slots the agent's last line asked for ("pay_date", "amount",
            "callback_at"); empty when it asked for none.

    Returns:
        HANGING when the sentence hangs or a promise still lacks what was asked;
        FINISHED for a question, every slot asked for, or a closed answer; else OPEN.
    """
    lang = base_language(language)
    said, stripped = words(text), text.strip()
    if not said:
        return Ending.OPEN
    if _hangs(said, lang):
        # After a full stop, a lone "y" is more often Whisper hearing the breath or the
        # line after the sentence ("Sí, correcto. Y") than the caller going on.
        return Ending.OPEN if _AFTER_A_STOP.search(stripped) else Ending.HANGING
    if _TRAILING_DOTS.search(stripped):
        return Ending.OPEN  # Whisper heard the voice trail off; it does after "no..." too
    if _QUESTION.search(stripped):
        return Ending.FINISHED
    heard = understand(text, language=lang, now=now, expecting=expecting)
    intents = {heard.intent, *heard.also}
    asked = {name for name in expecting if name in _GIVEN}
    given = {name for name in asked if _GIVEN[name](heard.slots)}
    if asked and (given == asked or given & _ENOUGH):
        return Ending.FINISHED
    promises = intents & {Intent.PROMISE_TO_PAY, Intent.CALLBACK_REQUEST} or said[-1] in _PAYING
    if asked and not given and promises:
        return Ending.HANGING  # "puedo pagar...", "llámeme...": what was asked is to come
    if intents & _CLOSED or (heard.intent is Intent.UNKNOWN and _refuses(said)):
        return Ending.FINISHED
    return Ending.OPEN


# A day ends the answer to "¿cuánto y cuándo?" (the amount defaults to the debt, and
# callers say it first: "doscientos mil, el viernes"); an amount alone may not.
_ENOUGH = frozenset({"pay_date", "callback_at"})
_GIVEN: dict[str, Callable[[Slots], bool]] = {
    "pay_date": lambda slots: slots.pay_date is not None,
    "amount": lambda slots: slots.amount is not None,
    "callback_at": lambda slots: slots.callback_at is not None or slots.callback_day is not None,
}


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
