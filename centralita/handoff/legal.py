"""Words that make a call a matter for a person: a lawyer, a bankruptcy, a formal dispute.

A collections agent must not argue with a caller who says their lawyer handles the
debt, that they are in bankruptcy (Chile's Ley 20.720 liquidación or renegociación,
Spain's concurso de acreedores or Ley de Segunda Oportunidad) or that they formally
dispute it: those go to a person. Matching is on folded text (no accents, lowercase),
whole words, so "abogado" matches "Abogado," and "abogada" but not "abogacía".
"""

from __future__ import annotations

import re
from enum import StrEnum

from centralita.understanding.text import fold


class LegalMatter(StrEnum):
    """Which legal matter a caller raised."""

    LAWYER = "lawyer"
    BANKRUPTCY = "bankruptcy"
    DISPUTE = "dispute"


# Folded phrases (regular expressions over folded text), whole words.
_PHRASES: dict[LegalMatter, tuple[str, ...]] = {
    LegalMatter.LAWYER: (
        r"mi abogad[oa]s?",
        r"(?:un|el|la|los|mis|con|al) abogad[oa]s?",
        r"abogad[oa]s? (?:lo|la|le|se) (?:ve|lleva|maneja)",
        r"demand(?:a|ar|arlos|arles|are|o)",
        r"accion(?:es)? legal(?:es)?",
        r"my (?:lawyer|attorney|solicitor)",
        r"(?:a|the|our) (?:lawyer|attorney|solicitor)",
        r"(?:sue|suing) (?:you|them)",
        r"legal action",
    ),
    LegalMatter.BANKRUPTCY: (
        r"quiebra",
        r"insolvencia",
        r"concurso de acreedores",
        r"segunda oportunidad",
        r"ley (?:de )?20 ?720",
        r"(?:procedimiento|proceso) (?:de )?(?:liquidacion|renegociacion)",
        r"liquidacion voluntaria",
        r"bankrupt(?:cy)?",
        r"chapter (?:7|13|seven|thirteen)",
        r"insolvent|insolvency",
    ),
    LegalMatter.DISPUTE: (
        r"disputo (?:la|esta|esa) deuda",
        r"no reconozco (?:la|esta|esa) deuda",
        r"(?:voy a|vamos a|quiero) (?:reclamar|poner un reclamo|hacer un reclamo)",
        r"(?:sernac|omic|defensor del cliente)",
        r"i (?:formally )?dispute (?:this|the|that) debt",
        r"(?:file|filing|make) a (?:formal )?(?:complaint|dispute)",
        r"cease and desist",
        r"(?:cfpb|consumer financial protection)",
    ),
}
_PATTERNS: dict[LegalMatter, re.Pattern[str]] = {
    matter: re.compile(r"\b(?:" + "|".join(phrases) + r")\b")
    for matter, phrases in _PHRASES.items()
}


def legal_matter(text: str) -> LegalMatter | None:
    """The legal matter the caller raised in `text`, if any (lawyer first, then
    bankruptcy, then a formal dispute)."""
    folded = fold(text)
    if not folded:
        return None
    return next((m for m, pattern in _PATTERNS.items() if pattern.search(folded)), None)
