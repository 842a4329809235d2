"""Text out of an uploaded document, its headings kept: plain text, Markdown, HTML, PDF, DOCX.

A `Document` is a title and `Section`s, each the text under one heading path
(``("Preguntas frecuentes", "¿Dónde puedo pagar?")``), so a chunk can say where it came
from and an answer can be found by its heading. The type comes from the declared media
type, else the file's extension, else the bytes themselves. Two failures, typed so the
API can answer them: `UnsupportedDocument` (a type we do not read: 415) and
`UnreadableDocument` (a corrupt PDF or DOCX, undecodable text, or no text at all, such as
a scanned PDF: 422). Both name the file.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Literal
from xml.etree import ElementTree

import pypdf

Kind = Literal["text", "markdown", "html", "pdf", "docx"]

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
_MAX_DOCX_XML_BYTES = 64 * 1024 * 1024  # a zip bomb stops here, a real manual never gets near


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
        title, sections = _read_pdf(data, filename)
    elif kind == "docx":
        title, sections = _read_docx(data, filename)
    else:
        text = _decode(data, filename, charset)
        if kind == "html":
            title, sections = _read_html(text)
        elif kind == "markdown":
            title, sections = _read_markdown(text)
        else:
            title, sections = None, [Section((), text)]
    sections = [Section(s.heading_path, normalise(s.text)) for s in sections]
    sections = [s for s in sections if s.text]
    if not sections:
        raise UnreadableDocument(filename, f"no text found in this {kind.upper()} file")
    return Document(title=normalise(title or "") or stem, kind=kind, sections=sections)


def normalise(text: str) -> str:
    """NFC text, one space between words, lines kept, one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)  # invisible; soft hyphen
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


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


# -- Markdown --------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


class _Outline:
    """Sections under a stack of headings, filled as a reader walks a document."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.first_heading: str | None = None
        self._path: list[tuple[int, str]] = []
        self._lines: list[str] = []

    def heading(self, level: int, text: str) -> None:
        text = normalise(text)
        if not text:
            return
        self.flush()
        self.first_heading = self.first_heading or text
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        self._path.append((level, text))

    def add(self, line: str) -> None:
        self._lines.append(line)

    def flush(self) -> None:
        text = "\n".join(self._lines).strip()
        if text:
            self.sections.append(Section(tuple(t for _, t in self._path), text))
        self._lines = []


def _read_markdown(text: str) -> tuple[str | None, list[Section]]:
    title: str | None = None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].strip() == "---" and "---" in (s.strip() for s in lines[1:]):
        end = next(i for i, s in enumerate(lines[1:], 1) if s.strip() == "---")
        for meta in lines[1:end]:  # YAML front matter: only its title matters
            key, _, value = meta.partition(":")
            if key.strip().lower() == "title":
                title = value.strip().strip("\"'")
        lines = lines[end + 1 :]
    outline, fenced = _Outline(), False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            outline.add(line)
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if atx := _ATX.match(line):
            outline.heading(len(atx.group(1)), _inline_markdown(atx.group(2)))
        elif line.strip() and re.fullmatch(r" {0,3}(=+|-+) *", following):
            outline.heading(1 if "=" in following else 2, _inline_markdown(line))
        elif re.fullmatch(r" {0,3}(=+|-+) *", line) and i > 0 and lines[i - 1].strip():
            continue  # the underline of a setext heading
        elif _TABLE_RULE.match(line):
            continue
        elif _RULE.match(line):
            outline.add("")
        else:
            outline.add(_inline_markdown(line))
    outline.flush()
    return title or outline.first_heading, outline.sections


def _inline_markdown(line: str) -> str:
    """Markup off; link targets kept, since "pague en www.…" is the answer."""
    line = re.sub(r"^\s{0,3}>\s?", "", line)
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(
        r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)",
        lambda m: m.group(1) if m.group(2) in m.group(1) else f"{m.group(1)} ({m.group(2)})",
        line,
    )
    line = re.sub(r"^(\s*)[*+]\s+", r"\1- ", line)
    line = re.sub(r"(\*\*|__|`)(.+?)\1", r"\2", line)
    line = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", line)
    if line.strip().startswith("|"):
        line = " | ".join(c.strip() for c in line.strip().strip("|").split("|"))
    return line


# -- HTML ------------------------------------------------------------------------------

_SKIPPED = frozenset({"script", "style", "nav", "noscript", "template", "svg"})
_BLOCK_NAMES = (
    "p div section article main aside header footer ul ol table dl blockquote pre figure "
    "figcaption form fieldset address details summary"
)
_BLOCKS = frozenset(_BLOCK_NAMES.split())
_LINES = frozenset({"li", "tr", "dt", "dd"})  # one line each, not a paragraph each


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outline = _Outline()
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None
        self._pre = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self._skip:
            self._in_title = True
        elif tag in _SKIPPED:
            self._skip += 1
        elif self._skip:
            return
        elif re.fullmatch(r"h[1-6]", tag):
            self._block()
            self._heading = (int(tag[1]), [])
        elif tag == "br":
            self._parts.append("\n")
        elif tag in ("td", "th"):
            self._parts.append(" | ")
        elif tag in _LINES:
            self._block(line=True)
            self._parts.append("- " if tag == "li" else "")
        elif tag in _BLOCKS:
            self._block()
            if tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif self._skip:
            return
        elif self._heading and tag == f"h{self._heading[0]}":
            level, words = self._heading
            self._heading = None
            self.outline.heading(level, "".join(words))
        elif tag in _LINES:
            self._block(line=True)
        elif tag in _BLOCKS:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            self._block()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._skip:
            return
        elif self._heading:
            self._heading[1].append(data)
        else:
            self._parts.append(data if self._pre else re.sub(r"\s+", " ", data))

    def _block(self, *, line: bool = False) -> None:
        """What the ending block held: a paragraph, or a line (a list item, a table row)."""
        lines = "".join(self._parts).split("\n")
        text = "\n".join(re.sub(r"^[ |]+|[ |]+$", "", x) for x in lines).strip()
        self._parts = []
        if text and text != "-":
            self.outline.add(text)
        if not line:
            self.outline.add("")

    def finish(self) -> list[Section]:
        self.close()
        self._block()
        self.outline.flush()
        return self.outline.sections


def _read_html(text: str) -> tuple[str | None, list[Section]]:
    reader = _HtmlReader()
    reader.feed(text)
    sections = reader.finish()
    return normalise(reader.title) or reader.outline.first_heading, sections


# -- PDF -------------------------------------------------------------------------------


def _read_pdf(data: bytes, filename: str) -> tuple[str | None, list[Section]]:
    """Each page's text, pages as paragraphs; a PDF keeps no headings we could trust."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")  # most "protected" PDFs open with the empty password
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    # A corrupt PDF can fail anywhere in pypdf, with any exception: all mean "unreadable".
    except Exception as exc:
        raise UnreadableDocument(filename, f"not a readable PDF ({exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise UnreadableDocument(filename, "the PDF has no text layer (a scan?); OCR it first")
    return (str(title) if title else None), [Section((), text)]


# -- DOCX ------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_ID = re.compile(r"(?:heading|t[ií]?tulo|encabezado)\s*([1-6])", re.IGNORECASE)
_TITLE_ID = re.compile(r"(?:title|t[ií]?tulo)", re.IGNORECASE)


def _read_docx(data: bytes, filename: str) -> tuple[str | None, list[Section]]:
    """Body paragraphs and tables in order; Title and Heading 1-6 styles open sections."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = _xml(archive, "word/document.xml", filename)
            styles = _xml(archive, "word/styles.xml", filename, required=False)
            core = _xml(archive, "docProps/core.xml", filename, required=False)
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError, EOFError) as exc:
        raise UnreadableDocument(filename, f"not a readable DOCX ({exc})") from exc
    levels = _style_levels(styles)
    outline = _Outline()
    root = body.find(f"{_W}body")
    for element in _blocks(root if root is not None else body):
        if element.tag == f"{_W}tbl":
            for row in element.iter(f"{_W}tr"):
                cells = [" ".join(_text(p) for p in c.iter(f"{_W}p")) for c in row.iter(f"{_W}tc")]
                outline.add(" | ".join(c.strip() for c in cells if c.strip()))
            outline.add("")
            continue
        text = _text(element)
        style = element.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(f"{_W}val", "") if style is not None else ""
        level = levels.get(style_id, _level_from_id(style_id))
        outline_level = element.find(f"{_W}pPr/{_W}outlineLvl")
        if level is None and outline_level is not None:
            level = int(outline_level.get(f"{_W}val", "9")) + 1
        if level is not None and level <= 6:
            outline.heading(level, text)
        elif text.strip():
            listed = element.find(f"{_W}pPr/{_W}numPr") is not None
            outline.add(("- " if listed else "") + text)
            outline.add("")
    outline.flush()
    title = None
    if core is not None:
        found = core.find("{http://purl.org/dc/elements/1.1/}title")
        title = found.text if found is not None and found.text else None
    return title or outline.first_heading, outline.sections


def _xml(
    archive: zipfile.ZipFile, name: str, filename: str, *, required: bool = True
) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
    except KeyError:
        if required:
            raise UnreadableDocument(filename, f"not a Word document (no {name})") from None
        return ElementTree.Element("missing")
    if info.file_size > _MAX_DOCX_XML_BYTES:
        raise UnreadableDocument(filename, f"{name} is too large to read")
    # Word's own XML from the upload: expat (2.4+) refuses entity bombs and ElementTree
    # never fetches external entities, which is what defusedxml would add.
    return ElementTree.fromstring(archive.read(info))  # noqa: S314


def _style_levels(styles: ElementTree.Element) -> dict[str, int | None]:
    """Style id -> heading level (0 for Title), by the style's built-in English name,
    which Word keeps whatever the language of its menus ("Ttulo1" is "heading 1")."""
    levels: dict[str, int | None] = {}
    for style in styles.iter(f"{_W}style"):
        style_id = style.get(f"{_W}styleId", "")
        name_element = style.find(f"{_W}name")
        name = (name_element.get(f"{_W}val", "") if name_element is not None else "").lower()
        if found := re.fullmatch(r"heading ([1-6])", name):
            levels[style_id] = int(found.group(1))
        elif name == "title":
            levels[style_id] = 0
    return levels


def _level_from_id(style_id: str) -> int | None:
    """Without styles.xml: the id alone ("Heading2", "Ttulo2", "Título", "Title")."""
    if found := _HEADING_ID.fullmatch(style_id):
        return int(found.group(1))
    return 0 if _TITLE_ID.fullmatch(style_id) else None


def _blocks(parent: ElementTree.Element) -> list[ElementTree.Element]:
    """Paragraphs and tables in order, looking inside content controls."""
    found: list[ElementTree.Element] = []
    for child in parent:
        if child.tag in (f"{_W}p", f"{_W}tbl"):
            found.append(child)
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                found.extend(_blocks(content))
    return found


def _text(paragraph: ElementTree.Element) -> str:
    parts: list[str] = []
    for node in paragraph.iter():
        if node.tag == f"{_W}t" and node.text:
            parts.append(node.text)
        elif node.tag == f"{_W}tab":
            parts.append(" ")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            parts.append("\n")
        elif node.tag == f"{_W}noBreakHyphen":
            parts.append("-")
    return "".join(parts)
