"""Words that tell whoever answered that the call is about a debt.

Before the person has proved who they are, anyone may be on the line: a relative, a
colleague, a stranger with a recycled number. Telling them the call is about a debt
is a third-party disclosure (US: FDCPA §805(b), Regulation F §1006.6(d); Chile: Ley
19.496 art. 37, no communication to third parties about a debt). Hiding the
amount and the due date is not enough: "the collections team", "su deuda", "a payment"
already say it. So the validator refuses these words, as well as the sensitive
variables, in everything an agent can say before identity is verified.

The words are matched as whole words (or word stems) on accent-folded, lowercase text,
Spanish and English alike in every agent (a Spanish flow may say "Sofía, de
Collections SpA"). The list is deliberately broad: a false alarm costs the author a
rewording ("un asunto personal" / "a personal business matter" is the usual one); a
miss is a breach of the law.
"""

from __future__ import annotations

import re
import unicodedata

# Word-stem patterns (regular expressions matched between word boundaries).
_TERMS: tuple[str, ...] = (
    # Spanish
    r"deud\w*", r"adeud\w*", r"endeud\w*",  # deuda, deudor, adeuda, endeudado
    r"cobranz\w*", r"cobros?", r"cobrar\w*", r"cobrador\w*", r"cobramos",
    r"moros\w*",  # moroso, morosa, morosidad
    r"cuotas?", r"pagos?", r"pagar\w*", r"pagad[oa]s?", r"pague\w*",
    r"vencid\w*", r"vencimientos?", r"vencio", r"vence",
    r"montos?", r"importes?", r"saldos?", r"acreedor\w*", r"impag\w*",
    r"atrasad[oa]s?", r"atrasos?", r"abonos?", r"abonar\w*",
    r"prestamos?", r"prestamistas?", r"creditos?", r"intereses",
    r"regulariz\w*", r"prejudicial\w*", r"judicial\w*", r"embargos?",
    # English
    r"debts?", r"debtors?", r"indebted\w*", r"collect\w*",
    r"payments?", r"pay", r"pays", r"paying", r"paid", r"payable", r"repay\w*",
    r"balances?", r"overdue", r"past due", r"amount due", r"due date",
    r"owes?", r"owed", r"owing", r"creditors?", r"lenders?", r"loans?", r"credit cards?",
    r"accounts?", r"delinquen\w*", r"arrears", r"outstanding", r"installments?",
    r"instalments?",
)  # fmt: skip
# "mora" is also a common surname ("Sofía Mora"): only the lowercase word counts.
_LOWERCASE_ONLY: tuple[str, ...] = (r"mora",)

_ANY_CASE = re.compile(r"\b(?:" + "|".join(_TERMS) + r")\b")
_LOWER = re.compile(r"\b(?:" + "|".join(_LOWERCASE_ONLY) + r")\b")
# A template's placeholders are checked through their values, not their names.
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

WHY = "a third party would learn the call is about a debt"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def collection_words(text: str) -> list[str]:
    """The collection words a text says, folded ("Cobranza" -> "cobranza"), each once.

    Placeholders (`{empresa}`) are left out: what they say is checked on its own.

    Args:
        text: A line an agent may speak (a template, a greeting, a fallback).

    Returns:
        The words found, in order of appearance; empty when none.
    """
    plain = _fold(_PLACEHOLDER.sub(" ", text))
    found = [(m.start(), m.group(0)) for m in _ANY_CASE.finditer(plain.lower())]
    found += [(m.start(), m.group(0)) for m in _LOWER.finditer(plain)]
    words: list[str] = []
    for _, word in sorted(found):
        if word not in words:
            words.append(word)
    return words
