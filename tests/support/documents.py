"""Real PDF and DOCX files written byte by byte, so tests need no office suite.

`text_pdf` writes a minimal valid PDF 1.4: a catalog, a page tree, the standard
Helvetica font (WinAnsiEncoding, so Spanish accents survive), one content stream per
page drawing its lines with ``BT /F1 12 Tf … Tj T* … ET``, an Info dictionary with the
title, and a cross-reference table with the real byte offsets. `docx` zips the parts
Word itself writes (content types, relationships, document, styles, core properties),
with the style ids a Spanish Word uses ("Ttulo1" for the style named "heading 1").
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_pdf(pages: Sequence[Sequence[str]], *, title: str | None = None) -> bytes:
    """A PDF whose pages hold these lines of text (a page with no lines has no text)."""
    objects: list[bytes] = []  # object n is objects[n - 1]
    n_pages = len(pages)
    page_ids = [4 + 2 * i for i in range(n_pages)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages))
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for page_id, lines in zip(page_ids, pages, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
        )
        drawn = b" T* ".join(_pdf_string(line) + b" Tj" for line in lines)
        stream = b"BT /F1 12 Tf 16 TL 72 720 Td " + drawn + b" ET" if lines else b""
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    info_id = len(objects) + 1
    objects.append(b"<< /Title %s >>" % _pdf_string(title or ""))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, info_id)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


@dataclass(frozen=True)
class Para:
    """A paragraph; `style` is a style id ("Ttulo1", "Ttulo", "Heading2") or None."""

    text: str
    style: str | None = None
    listed: bool = False


@dataclass(frozen=True)
class Table:
    """A table: rows of cell texts."""

    rows: Sequence[Sequence[str]]


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
# Spanish Word's style ids, with the built-in English names Word keeps underneath.
_STYLES = {"Ttulo": "Title", **{f"Ttulo{n}": f"heading {n}" for n in range(1, 7)}}


def _paragraph(para: Para) -> str:
    props = ""
    if para.style or para.listed:
        style = f'<w:pStyle w:val="{para.style}"/>' if para.style else ""
        listed = '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>' if para.listed else ""
        props = f"<w:pPr>{style}{listed}</w:pPr>"
    runs = "".join(
        f'<w:r><w:t xml:space="preserve">{escape(part)}</w:t></w:r>'
        + ("<w:r><w:br/></w:r>" if i < para.text.count("\n") else "")
        for i, part in enumerate(para.text.split("\n"))
    )
    return f"<w:p>{props}{runs}</w:p>"


def docx(blocks: Sequence[Para | Table], *, title: str | None = None, styles: bool = True) -> bytes:
    """A Word document of these paragraphs and tables (``styles=False``: no styles.xml)."""
    body = "".join(
        _paragraph(block)
        if isinstance(block, Para)
        else "<w:tbl>"
        + "".join(
            "<w:tr>" + "".join(f"<w:tc>{_paragraph(Para(cell))}</w:tc>" for cell in row) + "</w:tr>"
            for row in block.rows
        )
        + "</w:tbl>"
        for block in blocks
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<w:document {_W}><w:body>{body}<w:sectPr/></w:body></w:document>"
    )
    style_xml = "".join(
        f'<w:style w:type="paragraph" w:styleId="{sid}"><w:name w:val="{name}"/></w:style>'
        for sid, name in _STYLES.items()
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": document,
    }
    if styles:
        parts["word/styles.xml"] = f'<?xml version="1.0"?><w:styles {_W}>{style_xml}</w:styles>'
    if title is not None:
        parts["docProps/core.xml"] = (
            '<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{escape(title)}</dc:title></cp:coreProperties>"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()
