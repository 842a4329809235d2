"""PDF into one section of text, pages as paragraphs, through `pypdf`.

A PDF keeps no headings we could trust (a bold line may be a heading or a warning), so
its text goes in untitled; the metadata's title names the document. A PDF without a
text layer (a scan) is unreadable here: it needs OCR first.
"""

from __future__ import annotations

import io

import pypdf

from centralita.knowledge.document_model import Section, UnreadableDocument


def read_pdf(data: bytes, filename: str) -> tuple[str | None, list[Section]]:
    """Each page's text, pages as paragraphs; a PDF keeps no headings we could trust.

    Args:
        data: the file's bytes.
        filename: named in errors.

    Returns:
        The metadata's title or None, and one section holding every page's text.

    Raises:
        UnreadableDocument: the PDF is corrupt, locked, or has no text layer.
    """
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
