"""A document's sections cut into chunks small enough to embed, each carrying its heading.

A chunk never crosses a section, so "¿Dónde puedo pagar?" never shares a vector with
"¿Cuánto es con intereses?". Inside a section, text is packed greedily up to `max_chars`
breaking at paragraphs, then lines and sentences, then words; a chunk never ends
mid-word (only a "word" longer than a whole chunk, such as a pasted token, is cut). Each
chunk after a section's first repeats up to `overlap_chars` of the one before, from a
sentence or word start, so an answer split across the seam is still whole in one of
them. The same document always gives the same chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from centralita.knowledge.documents import Document

HEADING_JOINER = " > "

# Abbreviations whose full stop does not end a sentence ("Av. Providencia", "Sr. Pérez").
_ABBREVIATION_LIST = (
    "sr sra srta srs sres dr dra av avda ud uds vd vds n nº no núm num pág pag "
    "tel cía ltda etc ej p.ej aprox mr mrs ms st vs e.g i.e approx dept"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+(?=[¿¡\"“«(\[\-–•*]?\s*[A-ZÁÉÍÓÚÑÜ0-9])")


@dataclass(frozen=True)
class Chunk:
    """One piece of a section: its place in the document, heading path, and text."""

    ordinal: int
    heading: str
    text: str

    @property
    def embedding_text(self) -> str:
        """What is embedded: the heading on its own line above the text."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


@dataclass(frozen=True)
class _Piece:
    """An unbreakable run of text and what separated it from the one before."""

    separator: str
    text: str


def chunk_document(
    doc: Document, *, max_chars: int = 1200, overlap_chars: int = 150
) -> list[Chunk]:
    """Cuts every section of `doc` into chunks of at most `max_chars` characters of text.

    Args:
        doc: the document read by `read_document`.
        max_chars: the longest a chunk's text may be (its heading not counted).
        overlap_chars: how much of a chunk's end the next one in its section repeats.

    Returns:
        The chunks in reading order, numbered from 0; sections without text give none.

    Raises:
        ValueError: `max_chars` is not positive or `overlap_chars` is not below half of it.
    """
    if max_chars < 1 or not 0 <= overlap_chars <= max_chars // 2:
        raise ValueError("need max_chars >= 1 and 0 <= overlap_chars <= max_chars / 2")
    chunks: list[Chunk] = []
    for section in doc.sections:
        heading = HEADING_JOINER.join(h for h in section.heading_path if h)
        for text in _chunk_text(section.text.strip(), max_chars, overlap_chars):
            chunks.append(Chunk(ordinal=len(chunks), heading=heading, text=text))
    return chunks


def _chunk_text(text: str, max_chars: int, overlap_chars: int) -> list[str]:
    if not text:
        return []
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, max_chars):
        joined = current + piece.separator + piece.text if current else piece.text
        if len(joined) <= max_chars:
            current = joined
            continue
        chunks.append(current)
        tail = _tail(current, overlap_chars)
        # The overlap gives way when it and the next piece do not fit together.
        if tail and len(tail) + len(piece.separator) + len(piece.text) <= max_chars:
            current = tail + piece.separator + piece.text
        else:
            current = piece.text
    chunks.append(current)
    return chunks


def _pieces(text: str, max_chars: int) -> list[_Piece]:
    """Paragraphs whole where they fit, else their lines and sentences, else their words."""
    pieces: list[_Piece] = []
    for p_index, paragraph in enumerate(re.split(r"\n\s*\n", text)):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        separator = "\n\n" if p_index and pieces else ""
        if len(paragraph) <= max_chars:
            pieces.append(_Piece(separator, paragraph))
            continue
        for s_index, (sentence_separator, sentence) in enumerate(_sentences(paragraph)):
            sep = separator if s_index == 0 else sentence_separator
            if len(sentence) <= max_chars:
                pieces.append(_Piece(sep, sentence))
                continue
            for w_index, word in enumerate(sentence.split(" ")):
                for c_index in range(0, len(word), max_chars):
                    # Only a single run longer than a whole chunk is ever cut.
                    first = w_index == 0 and c_index == 0
                    pieces.append(
                        _Piece(
                            sep if first else (" " if c_index == 0 else ""),
                            word[c_index : c_index + max_chars],
                        )
                    )
    return pieces


def _sentences(paragraph: str) -> list[tuple[str, str]]:
    """(separator, sentence) pairs: lines first (list items), then sentence ends."""
    found: list[tuple[str, str]] = []
    for l_index, line in enumerate(paragraph.split("\n")):
        if not line.strip():
            continue
        start = 0
        for match in _SENTENCE_END.finditer(line):
            before = line[start : match.start()]
            last_word = before.rsplit(" ", 1)[-1].rstrip(".").lower()
            if before.endswith(".") and last_word in _ABBREVIATIONS:
                continue
            found.append(("\n" if l_index and not start else " ", before))
            start = match.end()
        found.append(("\n" if l_index and not start else " ", line[start:]))
    if found:
        found[0] = ("", found[0][1])
    return found


def _tail(text: str, overlap_chars: int) -> str:
    """The longest end of `text` within `overlap_chars` that starts a sentence, else a word."""
    if overlap_chars <= 0 or not text:
        return ""
    window_start = max(0, len(text) - overlap_chars)
    if window_start == 0:
        return ""  # the whole chunk: repeating all of it would add nothing
    sentence_starts = [
        m.end() for m in re.finditer(r"(?:[.!?…:;]\s+|\n+)", text) if m.end() >= window_start
    ]
    word_starts = [m.end() for m in re.finditer(r"\s+", text) if m.end() >= window_start]
    starts = sentence_starts or word_starts
    return text[starts[0] :].strip() if starts else ""
