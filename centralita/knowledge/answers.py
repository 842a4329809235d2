"""An off-script question answered from the search's hits: one or two sentences, or "not found".

The answer is extractive: sentences of the tenant's own documents, never generated text,
so the agent cannot say what the documents do not (a collections agent that invents a
payment place or a discount misleads a debtor, and the law holds the tenant to it). The
sentences picked share the most content words with the question; the hit's heading
counts as context (an FAQ's heading is the question it answers), and among equals the
earlier sentence wins (a section opens with its answer). A sentence that introduces a
list ("Tiene cinco formas de pagar:") is spoken with the items' labels. The text is
cleaned of Markdown and table pipes and cut to what a caller can follow (`MAX_CHARS`).

"Not found" (``found=False``, empty text) when the best hit is not similar enough to the
question (`MIN_SIMILARITY`, the e5 model's own scale, calibrated by `bench/knowledge_eval`
on the example question set) or when the question's content words are too little covered
by the hits (`MIN_COVERAGE`: "¿puedo pagar con bitcoin?" is near the payment section, but
the documents never say "bitcoin"). The agent then says `not_found_line` and offers a
callback or a person.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from centralita.knowledge.chunking import HEADING_JOINER
from centralita.knowledge.search_store import KnowledgeHit

MAX_CHARS: Final = 300
"""About 20 seconds of speech: longer and a caller on the phone loses the thread."""
MIN_SIMILARITY: Final = 0.83
"""Best cosine similarity below this: nothing relevant. Calibrated by bench/knowledge_eval:
the example set's answerable questions reach 0.81-0.91, its unanswerable ones 0.82-0.87,
so similarity alone separates little; together with `MIN_COVERAGE` it turns away half the
unanswerable questions for about one answerable question in nine."""
MIN_COVERAGE: Final = 0.4
# Sentence and hit scoring (weights of matched question words are IDF-like, ~0.1-3); a
# sweep on the example set gives fact shares within 2 of 88 across wide ranges of these.
FIRST_BONUS: Final = 1.0
"""A section's first sentence, per matched heading word: FAQs open with the answer."""
HEADING_WEIGHT: Final = 0.5
"""A hit's heading words that match the question, in choosing the hit."""
RANK_PRIOR: Final = 4.0
"""The search's order, in choosing the hit: 4 / (1 + rank)."""
CONCRETE_BONUS: Final = 0.3
"""A matching sentence with figures (amounts, hours, codes): what callers ask for."""
HEADING_ASKED_BONUS: Final = 3.0
"""A hit whose heading the question says in full ("Oiga, ¿dónde puedo pagar la cuota?"
under "¿Dónde puedo pagar?"): an FAQ's own question, asked; it outweighs a rarer word
("cuota") that another section happens to share."""
"""Share of the question's content words that the hits must contain (after stop words)."""

_NOT_FOUND: Final = {
    "es": (
        "No tengo esa información ahora mismo. "
        "¿Quiere que le llame un ejecutivo o que le transfiera con una persona?"
    ),
    "en": (
        "I don't have that information right now. "
        "Would you like an agent to call you back, or shall I transfer you to a person?"
    ),
}

# Function words and the fillers of a spoken question, folded (no accents): they match
# any text and say nothing about what is asked.
_STOP_LIST: Final = """
    a al algo alguien alguna alguno algun ante antes aqui asi aun bien cada como con contra
    cual cuales cuando de del desde donde dos el ella ellas ellos en entonces entre era es esa
    esas ese eso esos esta estan estar estas este esto estos fue ha hay hace hacer han hasta
    la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os he tu te su otra
    otro para
    pero poco por porque puedo puede pueden podeis podemos podria que quien se sea ser si sin
    sobre son su sus tambien tan tanto te tengo tiene tienen tener todo todos tu tus un una
    uno unos unas usted ustedes vos y ya yo oiga alo hola oye mire bueno pues vale senor
    senora senorita entonces cosa decir dice digo quiero quisiera saber favor gracias ahi ahora
    hoy osea tipo cierto verdad harto igual nomas ya mismo ir da dar estoy hago cuanto
    cuanta cuantos cuantas
    about after again all also am an and any are as at be been but by can could did do does
    for from get got had has have he her here him his how i if in into is it its just know
    me my no not now of on or our please so some than that the their them then there these
    they this to too us was we well were what when where which who why will with would you
    your yes hello hi hey okay ok im ive id dont cant want like tell thanks thank re ve ll
"""
_STOP_WORDS: Final = frozenset(_STOP_LIST.split())
# Stop words everywhere else, but what tells one FAQ question from another ("¿dónde
# puedo pagar?" and "¿cuándo puedo pagar?") when a heading is matched.
_INTERROGATIVE_LIST: Final = """
    donde cuando cuanto cuanta cuantos cuantas como quien cual where when how who which why
"""
_INTERROGATIVES: Final = frozenset(_INTERROGATIVE_LIST.split())
_WORD: Final = re.compile(r"[a-z0-9]+")
_SUFFIX: Final = re.compile(
    r"(?:amente|mente|aciones|acion|ciones|cion|ando|iendo|ing|ed|es|(?<!s)s)$"
)
_BULLET: Final = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+(?=[¿¡\"“«(]?[A-ZÁÉÍÓÚÑÜ0-9])")
_ABBREVIATION_LIST: Final = "sr sra dr dra av avda n nº no num tel etc ej mr mrs st vs"
_ABBREVIATIONS: Final = frozenset(_ABBREVIATION_LIST.split())


@dataclass(frozen=True)
class KnowledgeSource:
    """Where an answer's sentences come from: stored with the turn, shown to operators."""

    document_id: str
    title: str
    heading: str | None
    chunk_id: int


@dataclass(frozen=True)
class KnowledgeAnswer:
    """What the agent says: ``text`` from ``sources``, or ``found=False`` and no text."""

    found: bool
    text: str
    sources: tuple[KnowledgeSource, ...] = ()


@dataclass(frozen=True)
class _Unit:
    """A speakable piece of a chunk: a sentence, a list item, or a table row."""

    position: int
    text: str
    kind: str  # "sentence", "item" or "row"
    stems: frozenset[str]


def not_found_line(language: str) -> str:
    """What the agent says when the documents have no answer: it offers a callback or a person.

    Args:
        language: the call's language ("es", "es-CL", "en-GB", ...); Spanish unless English.
    """
    return _NOT_FOUND["en" if language.lower().startswith("en") else "es"]


def fold(text: str) -> str:
    """Lower case, no accents: how words are compared (a transcript often has no accents)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def content_stems(text: str) -> frozenset[str]:
    """The text's content words, folded and crudely stemmed ("pagos", "pagar" -> "pag").

    The stemmer only strips plural, verb and derivation endings: enough for a question's
    "pagar" to meet a document's "pago" in Spanish or "payments" to meet "payment".
    """
    stems = set()
    for word in _WORD.findall(fold(text)):
        if word in _STOP_WORDS or len(word) < 2:
            continue
        stem = word if word.isdigit() else _SUFFIX.sub("", word)
        # Spanish verbs and genders: "pagar"/"pago"/"paga", "cuota"/"cuotas".
        if len(stem) > 3 and not stem.isdigit():
            stem = re.sub(r"(?:ar|er|ir|a|e|o)$", "", stem)
        stems.add(stem or word)
    return frozenset(stems)


def matched(question: frozenset[str], text: frozenset[str]) -> frozenset[str]:
    """The question's stems found in the text's: equal, or one a prefix of the other (4+)."""
    found = set()
    for q in question:
        for t in text:
            if q == t or (min(len(q), len(t)) >= 4 and (q.startswith(t) or t.startswith(q))):
                found.add(q)
                break
    return frozenset(found)


def strip_markdown(text: str) -> str:
    """Text as it is spoken: no emphasis, links, code marks, heading marks or quotes."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images: their alt text
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links: their words
    text = re.sub(r"(\*\*|__|\*|_|`+|~~)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"^\s{0,3}(?:#{1,6}|>)\s*", "", text, flags=re.M)
    return text.replace("`", "")


def _units(text: str) -> list[_Unit]:
    """The chunk's sentences, list items and table rows, in order, wrapped lines rejoined."""
    blocks: list[tuple[str, str]] = []  # (kind, text)
    for paragraph in re.split(r"\n\s*\n", strip_markdown(text)):
        for line in paragraph.split("\n"):
            line = line.strip()
            if not line or re.fullmatch(r"[|:\-\s]+", line):
                continue  # blank, or a Markdown table's rule
            if "|" in line:
                cells = [c.strip() for c in line.strip("|").split("|") if c.strip()]
                blocks.append(("row", ": ".join(cells[:2]) + "".join(f", {c}" for c in cells[2:])))
            elif _BULLET.match(line):
                blocks.append(("item", _BULLET.sub("", line)))
            elif blocks and blocks[-1][0] != "row" and not blocks[-1][1].endswith("\n"):
                # A hard-wrapped line continues the sentence or item above it.
                blocks[-1] = (blocks[-1][0], f"{blocks[-1][1]} {line}")
            else:
                blocks.append(("sentence", line))
        if blocks:
            blocks[-1] = (blocks[-1][0], blocks[-1][1] + "\n")  # a paragraph ends here
    units: list[_Unit] = []
    for kind, block in blocks:
        pieces = _sentences(block.strip()) if kind == "sentence" else [block.strip()]
        for piece in pieces:
            units.append(_Unit(len(units), piece, kind, content_stems(piece)))
    return units


def _list_after(units: Sequence[_Unit], intro: _Unit) -> list[_Unit]:
    """The items or table rows that follow a sentence ending in a colon."""
    if not intro.text.endswith(":"):
        return []
    following: list[_Unit] = []
    for unit in units[intro.position + 1 :]:
        if unit.kind == "sentence" or (following and unit.kind != following[0].kind):
            break
        following.append(unit)
    return following


def _sentences(text: str) -> list[str]:
    found: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()]
        if before.rsplit(" ", 1)[-1].rstrip(".").lower() in _ABBREVIATIONS:
            continue
        found.append(before)
        start = match.end()
    found.append(text[start:])
    # A bare "Sí." or "No." says nothing alone: it opens the sentence after it.
    merged: list[str] = []
    for sentence in found:
        if merged and len(merged[-1]) < 12:
            merged[-1] = f"{merged[-1]} {sentence}"
        else:
            merged.append(sentence)
    return merged


def _label(item: str) -> str:
    """A list item's label: the words before its colon, else its first clause."""
    head, colon, _ = item.partition(":")
    if colon and len(head) <= 40:
        return head.strip()
    clause = re.split(r"[,;(]", item, maxsplit=1)[0].strip().rstrip(".")
    return clause if len(clause) <= 60 else clause[:60].rsplit(" ", 1)[0]


def _spoken(units: list[_Unit], picked: list[_Unit], asked: frozenset[str]) -> str:
    """The picked units in document order; a list's introduction brings its list.

    The list is the item that matches the question, when one does ("¿puedo pagar por
    Bizum?": the item that says Bizum), else every item's label or every table row.
    """
    parts: list[str] = []
    for unit in sorted(picked, key=lambda u: u.position):
        text = unit.text
        members = _list_after(units, unit)
        if members:
            hits = [m for m in members if matched(asked, m.stems) - matched(asked, unit.stems)]
            if hits:
                spoken = [_end(hits[0].text)]
            elif members[0].kind == "row":
                spoken = [m.text for m in members[1:] or members]  # the first is the header
                spoken = ["; ".join(spoken) + "."]
            else:
                spoken = [", ".join(_label(m.text) for m in members) + "."]
            text = f"{text} {' '.join(spoken)}"
        parts.append(_end(text))
    return _cap(" ".join(parts))


def _end(text: str) -> str:
    """The text ending as a sentence does."""
    return text if text[-1:] in ".!?…" else text.rstrip(",;: ") + "."


def _cap(text: str) -> str:
    """The text cut at a sentence or clause end within `MAX_CHARS`, else at a word."""
    if len(text) <= MAX_CHARS:
        return text
    head = text[:MAX_CHARS]
    for pattern in (r"[.!?…](?=\s)", r"[;:,](?=\s)"):
        ends = [m.end() for m in re.finditer(pattern, head) if m.end() >= MAX_CHARS // 2]
        if ends:
            return head[: ends[-1]].rstrip(",;: ") + ("" if pattern.startswith("[.") else ".")
    return head.rsplit(" ", 1)[0].rstrip(",;: ") + "…"


def _weights(asked: frozenset[str], units: Sequence[_Unit]) -> dict[str, float]:
    """Each question word's weight: rarer among the hits' sentences, more telling.

    In a collections company's documents "pagar" and "deuda" are in every other sentence;
    "Servipag" or "transferencia" say which sentence answers.
    """
    total = len(units)
    weights = {}
    for stem in asked:
        present = sum(1 for u in units if matched(frozenset({stem}), u.stems))
        weights[stem] = math.log((total + 1) / (present + 1)) + 0.1
    return weights


def _asks_heading(question: str, heading: str) -> bool:
    """Whether the question says every word of the heading that counts (two or more of
    them, its question word included): the caller asked the FAQ's own question."""
    words = _with_interrogatives(heading)
    return len(words) >= 2 and matched(words, _with_interrogatives(question)) == words


def _with_interrogatives(text: str) -> frozenset[str]:
    return content_stems(text) | {w for w in _WORD.findall(fold(text)) if w in _INTERROGATIVES}


def _best_hit(
    question: str, asked: frozenset[str], hits: Sequence[KnowledgeHit], max_sentences: int
) -> tuple[KnowledgeHit, list[_Unit], list[_Unit]] | None:
    """The hit that answers best, its units, and the units to speak."""
    units_of = [_units(h.text) for h in hits]
    weights = _weights(asked, [u for units in units_of for u in units])

    def weight(stems: frozenset[str]) -> float:
        return sum(weights[s] for s in matched(asked, stems))

    def unit_weight(units: Sequence[_Unit], unit: _Unit) -> float:
        # An introduction is worth what its list says; its concrete facts (figures,
        # addresses, codes) are what a caller asks for.
        members = _list_after(units, unit)
        stems = unit.stems.union(*(m.stems for m in members))
        concrete = any(c.isdigit() for c in unit.text + "".join(m.text for m in members))
        return weight(stems) + (CONCRETE_BONUS if concrete and weight(stems) else 0.0)

    best: tuple[float, int] | None = None
    scores_of: list[list[float]] = []
    for rank, (hit, units) in enumerate(zip(hits, units_of, strict=True)):
        last_heading = (hit.heading or "").split(HEADING_JOINER)[-1]
        heading = weight(content_stems(last_heading))
        said = HEADING_ASKED_BONUS if _asks_heading(question, last_heading) else 0.0
        # A section opens with its answer: its first sentence leans ahead, more so
        # when the section's heading is the question asked.
        scores = [
            unit_weight(units, u) + (FIRST_BONUS * min(heading, 1.0) if u.position == 0 else 0.0)
            for u in units
        ]
        scores_of.append(scores)
        if not units:
            continue
        # Search order is a prior: among hits that match the words alike, trust it.
        score = HEADING_WEIGHT * heading + said + max(scores) + RANK_PRIOR / (1 + rank)
        if best is None or score > best[0]:
            best = (score, rank)
    if best is None:
        return None
    rank = best[1]
    units, scores = units_of[rank], scores_of[rank]
    order = sorted(range(len(units)), key=lambda i: (-scores[i], i))
    picked = [units[i] for i in order if scores[i] > 0][:max_sentences] or units[:1]
    if _list_after(units, picked[0]):
        picked = picked[:1]  # its list's labels take the second sentence's place
    return hits[rank], units, picked


def answer_from_hits(
    question: str, hits: Sequence[KnowledgeHit], *, language: str, max_sentences: int = 2
) -> KnowledgeAnswer:
    """One or two sentences from the hit that best answers the question, or not found.

    Args:
        question: the caller's question as transcribed.
        hits: the search's hits, best first (`KnowledgeBase.search`).
        language: the call's language (reserved for language-specific wording; the
            sentences themselves come in the documents' language).
        max_sentences: the most sentences (or list items, or table rows) spoken.

    Returns:
        ``found=True`` with the text and its source, or ``found=False`` with no text when
        nothing relevant was found (the agent then says `not_found_line`).
    """
    del language  # the documents' words are spoken as written
    asked = content_stems(question)
    similarities = [h.similarity for h in hits if h.similarity is not None]
    if not hits or not asked or not similarities or max(similarities) < MIN_SIMILARITY:
        return KnowledgeAnswer(found=False, text="")
    everything = frozenset().union(*(content_stems(f"{h.heading or ''} {h.text}") for h in hits))
    if len(matched(asked, everything)) / len(asked) < MIN_COVERAGE:
        return KnowledgeAnswer(found=False, text="")
    chosen = _best_hit(question, asked, hits, max_sentences)
    if chosen is None:
        return KnowledgeAnswer(found=False, text="")
    hit, units, picked = chosen
    source = KnowledgeSource(
        document_id=hit.document_id, title=hit.title, heading=hit.heading, chunk_id=hit.chunk_id
    )
    return KnowledgeAnswer(found=True, text=_spoken(units, picked, asked), sources=(source,))
