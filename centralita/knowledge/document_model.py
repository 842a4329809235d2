"""What a document reader produces, and how it fails: `Section`, the errors, `normalise`.

These live apart from `documents` (the entry point, `read_document`) so that the format
readers in `readers/` can build sections, raise the typed errors and normalise headings
without importing `documents`, which imports them: no cycle. `documents` re-exports
everything here, so callers keep importing from `centralita.knowledge.documents`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "markdown", "html", "pdf", "docx"]


class DocumentError(Exception):
    """A document we cannot take; the message names the file."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


class UnsupportedDocument(DocumentError):  # noqa: N818 - the API's vocabulary (415)
    """A type we do not read (an image, a spreadsheet, a legacy .doc)."""


class UnreadableDocument(DocumentError):  # noqa: N818 - the API's vocabulary (422)
    """A type we read, but this file is corrupt, undecodable, or has no text."""


@dataclass(frozen=True)
class Section:
    """The text under one heading path (``()`` before the first heading)."""

    heading_path: tuple[str, ...]
    text: str


def normalise(text: str) -> str:
    """NFC text, one space between words, lines kept, one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)  # invisible; soft hyphen
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
