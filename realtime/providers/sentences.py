"""Sentences, the unit speech is made in: cut from a whole text or from a stream of tokens.

Text-to-speech speaks sentence by sentence, so the first sentence plays while the rest
is synthesised, and an LLM's reply starts playing once its first sentence is complete
rather than after its last token. One set of rules, for Spanish and English, serves
every text the agent says: a flow's rendered lines (`realtime.agents.flows.engine`),
an LLM's streamed reply (`SentenceBuffer`, `realtime.agents.llm.brain`), and whatever
the session speaks (`realtime.session.call_session`, `realtime.session.supervision`).

A sentence ends after ``.``, ``!``, ``?`` or ``…`` (and any closing quotes or brackets)
followed by white space, or straight before a Spanish opening mark ("¿Sí?¿Seguro?"),
and at a line break. ``?`` and ``!`` always end one; a period or an ellipsis only when
what follows starts a sentence (a capital, a digit, an opening mark or quote): not in
numbers ("200.000", "3.5", "1,5"), not after abbreviations ("Sr.", "Dra.", "etc. y
luego") or initials ("J. Pérez"), not in "Bueno... vale". A piece with no letter or
digit in it ("." left between two tokens) is not a sentence of its own.

A stream (`SentenceBuffer`) gives each sentence as soon as its end is settled: at once
after ``?`` or ``!`` and a space; after a period once the next word's first character
shows whether a sentence starts. Fed in any pieces, it gives what `split_sentences`
gives for the whole text.
"""

from __future__ import annotations

import re

# Words that end in a period without ending the sentence (compared lower-case, without
# the period). Spanish first, then English.
ABBREVIATIONS = frozenset(
    {
        # Spanish
        "sr", "sra", "srta", "sres", "sras", "dña", "dr", "dra", "lic", "licda", "ing",
        "arq", "prof", "profa", "av", "avda", "cía", "cia", "ltda", "depto", "dpto", "núm",
        "nro", "nº", "n°", "tel", "teléf", "pág", "pag", "ej", "pp", "vol", "cap", "admón",
        "atte", "ud", "uds", "vd", "vds", "sto", "sta", "gral", "cnel", "ee", "uu", "s.a",
        "s.l", "ee.uu", "etc", "aprox",
        # English ("No." is left out: Spanish "no." ends sentences all the time)
        "mr", "mrs", "ms", "mx", "jr", "st", "vs", "inc", "ltd", "corp", "approx", "dept",
        "e.g", "i.e", "a.m", "p.m", "u.s", "fig",
    }
)  # fmt: skip

# Abbreviations that often close a sentence: a capital after them starts a new one.
_CLOSING_ABBREVIATIONS = frozenset({"etc", "aprox", "approx", "a.m", "p.m", "inc", "ltd", "ltda"})

# A candidate boundary: terminal punctuation, closing quotes/brackets, then spaces or
# straight into a Spanish opening mark ("¿Sí?¿Seguro?").
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’»)\]]*)(\s+|(?=[¿¡]))")
_WORD_BEFORE = re.compile(r"([\w.°º]+)$")
_NEWLINES = re.compile(r"\s*\n\s*\n\s*|\s*\n\s*")
_OPENERS = "¿¡\"'“‘«(["


def split_sentences(text: str) -> list[str]:
    """Cut a whole text into sentences to synthesise one by one (Spanish and English).

    Returns:
        The sentences, stripped, without empty ones (see the module for the rules).
    """
    sentences: list[str] = []
    for block in _NEWLINES.split(text):
        done, rest = _cut(block, final=True)
        sentences.extend(done)
        sentences.append(block[rest:].strip())
    return [s for s in sentences if _has_words(s)]


class SentenceBuffer:
    """Feed a stream's text deltas; take its sentences as soon as each is complete."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, delta: str) -> list[str]:
        """Add a delta; the sentences it completed (often none)."""
        *ended, last = _NEWLINES.split(self._text + delta)
        sentences: list[str] = []
        for block in ended:  # a line break closed these
            done, rest = _cut(block, final=True)
            sentences.extend(done)
            sentences.append(block[rest:].strip())
        done, rest = _cut(last, final=False)
        sentences.extend(done)
        self._text = last[rest:]
        return [s for s in sentences if _has_words(s)]

    def flush(self) -> str | None:
        """The unfinished rest at the end of the stream (None when there is nothing to say)."""
        rest, self._text = self._text.strip(), ""
        return rest if _has_words(rest) else None


def _cut(block: str, *, final: bool) -> tuple[list[str], int]:
    """The settled sentences of one block (no line breaks), and where the rest starts.

    Args:
        block: the text.
        final: nothing more will follow `block`; otherwise a period at its very end
            waits for the next character to say whether a sentence ends there.
    """
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(block):
        punct = match.group(1)
        after = block[match.end() : match.end() + 1]
        period = punct.endswith((".", "…"))
        if not after and (final or period):
            break  # the end of the block: the rest is what is left
        # "?" and "!" always end a sentence; a period only when what follows agrees.
        if period and not _period_ends_sentence(block[start : match.start()], punct, after):
            continue
        if not _has_words(block[start : match.end()]):
            continue  # stray punctuation joins the sentence that follows
        out.append(block[start : match.end()].strip())
        start = match.end()
    return out, start


def _period_ends_sentence(before: str, punct: str, after: str) -> bool:
    """Whether a period (or ellipsis) followed by spaces then ``after`` ends a sentence."""
    if not (after.isupper() or after.isdigit() or after in _OPENERS):
        return False  # "etc. y luego", "Bueno... vale": the sentence goes on
    if punct != ".":
        return True  # "..." / "…" then a capital
    word = _WORD_BEFORE.search(before)
    if word is None:
        return True
    token = word.group(1)
    if len(token) == 1 and token.isalpha():
        return False  # an initial: "J. Pérez"
    lowered = token.lower().rstrip(".")
    if lowered in _CLOSING_ABBREVIATIONS:
        return True  # "etc. Mañana pago": a capital after "etc." starts a sentence
    return lowered not in ABBREVIATIONS  # "Sr. Pérez", "Dra. Soto", "Nº. 5"


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)
