"""DOCX into sections, from Word's XML directly (no python-docx dependency).

Body paragraphs and tables are read in order, looking inside content controls; the
Title and Heading 1-6 styles (or an outline level) open sections, found by the style's
built-in English name so a Spanish Word's "Título 1" counts. Each XML part is capped in
size, so a zip bomb is refused before it is inflated.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from centralita.knowledge.document_model import Section, UnreadableDocument
from centralita.knowledge.readers.outline import Outline

_MAX_DOCX_XML_BYTES = 64 * 1024 * 1024  # a zip bomb stops here, a real manual never gets near
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_ID = re.compile(r"(?:heading|t[ií]?tulo|encabezado)\s*([1-6])", re.IGNORECASE)
_TITLE_ID = re.compile(r"(?:title|t[ií]?tulo)", re.IGNORECASE)


def read_docx(data: bytes, filename: str) -> tuple[str | None, list[Section]]:
    """Body paragraphs and tables in order; Title and Heading 1-6 styles open sections.

    Args:
        data: the file's bytes (a zip holding ``word/document.xml``).
        filename: named in errors.

    Returns:
        The core properties' title, else the first heading, else None; and the sections.

    Raises:
        UnreadableDocument: not a zip, no ``word/document.xml``, broken or oversized XML.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = _xml(archive, "word/document.xml", filename)
            styles = _xml(archive, "word/styles.xml", filename, required=False)
            core = _xml(archive, "docProps/core.xml", filename, required=False)
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError, EOFError) as exc:
        raise UnreadableDocument(filename, f"not a readable DOCX ({exc})") from exc
    levels = _style_levels(styles)
    outline = Outline()
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
