"""Text out of an uploaded document, its headings kept: plain text, Markdown, HTML, PDF, DOCX.

A `Document` is a title and `Section`s, each the text under one heading path
(``("Preguntas frecuentes", "¿Dónde puedo pagar?")``), so a chunk can say where it came
from and an answer can be found by its heading. The type comes from the declared media
type, else the file's extension, else the bytes themselves. Two failures, typed so the
API can answer them: `UnsupportedDocument` (a type we do not read: 415) and
`UnreadableDocument` (a corrupt PDF or DOCX, undecodable text, or no text at all, such as
a scanned PDF: 422). Both name the file.

This module is the entry point: it finds the type, decodes text, hands the file to its
reader in `readers/` (one module per format) and normalises what comes back. `Section`,
the errors and `normalise` live in `document_model`, which the readers share, and are
re-exported here.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from centralita.knowledge.document_model import (
    DocumentError,
    Kind,
    Section,
    UnreadableDocument,
    UnsupportedDocument,
    normalise,
)
from centralita.knowledge.readers.docx import read_docx
from centralita.knowledge.readers.html import read_html
from centralita.knowledge.readers.markdown import read_markdown
from centralita.knowledge.readers.pdf import read_pdf

# The model's names are re-exported: callers import all of this from here.
__all__ = [
    "Document",
    "DocumentError",
    "Kind",
    "Section",
    "UnreadableDocument",
    "UnsupportedDocument",
    "normalise",
    "read_document",
]

_MEDIA_TYPES: dict[str, Kind] = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
# Types that say nothing (browsers send them for unknown files): look further.
_GENERIC_MEDIA_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_EXTENSIONS: dict[str, Kind] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}


@dataclass(frozen=True)
class Document:
    """A document's title, its kind, and its sections in reading order."""

    title: str
    kind: Kind
    sections: list[Section] = field(default_factory=list)


def read_document(data: bytes, *, filename: str, media_type: str | None) -> Document:
    """Reads an upload into sections of normalised text.

    Args:
        data: the file's bytes.
        filename: its name as uploaded (named in errors; its extension may give the type).
        media_type: the declared type (``text/markdown; charset=utf-8``), or None.

    Returns:
        The document, with at least one section holding text.

    Raises:
        UnsupportedDocument: the type is not one we read.
        UnreadableDocument: the file is corrupt, undecodable, or holds no text.
    """
    kind, charset = _detect(data, filename, media_type)
    if not data.strip():
        raise UnreadableDocument(filename, "the file is empty")
    stem = PurePath(filename).stem or filename
    if kind == "pdf":
        title, sections = read_pdf(data, filename)
    elif kind == "docx":
        title, sections = read_docx(data, filename)
    else:
        text = _decode(data, filename, charset)
        if kind == "html":
            title, sections = read_html(text)
        elif kind == "markdown":
            title, sections = read_markdown(text)
        else:
            title, sections = None, [Section((), text)]
    sections = [Section(s.heading_path, normalise(s.text)) for s in sections]
    sections = [s for s in sections if s.text]
    if not sections:
        raise UnreadableDocument(filename, f"no text found in this {kind.upper()} file")
    return Document(title=normalise(title or "") or stem, kind=kind, sections=sections)


# -- what the file is ------------------------------------------------------------------


def _detect(data: bytes, filename: str, media_type: str | None) -> tuple[Kind, str | None]:
    """The kind, and a charset the media type declared."""
    base, _, params = (media_type or "").partition(";")
    base = base.strip().lower()
    found = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.IGNORECASE)
    charset = found.group(1) if found else None
    if base in _MEDIA_TYPES:
        return _MEDIA_TYPES[base], charset
    if base not in _GENERIC_MEDIA_TYPES and not base.startswith("text/"):
        raise UnsupportedDocument(filename, f"{base} files are not supported")
    extension = PurePath(filename).suffix.lower()
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension], charset
    return _sniff(data, filename), charset


def _sniff(data: bytes, filename: str) -> Kind:
    head = data[:2048]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
        raise UnsupportedDocument(filename, "a zip archive that is not a Word (.docx) document")
    if head.startswith(b"{\\rtf"):
        raise UnsupportedDocument(filename, "an RTF file: save it as .docx or PDF")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedDocument(filename, "a legacy Word/Excel file: save it as .docx or PDF")
    lowered = head.lower().lstrip(b"\xef\xbb\xbf \t\r\n")
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "html"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedDocument(filename, "a binary file of a type we do not read")
    return "text"


def _decode(data: bytes, filename: str, charset: str | None) -> str:
    """UTF-8 (BOM or not), UTF-16 with its BOM, else Windows-1252 (Spanish Windows files)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = [c for c in (charset, "utf-8-sig", "cp1252") if c]
    for encoding in candidates:
        try:
            text = data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
        if controls > max(8, len(text) // 100):  # decodes, but is not text
            break
        return text
    raise UnreadableDocument(filename, "not readable as text (neither UTF-8 nor Windows-1252)")
