"""HTML into sections: ``<h1>``-``<h6>`` open them; scripts, styles and navigation go.

Block elements become paragraphs, list items and table rows one line each (cells
joined by ``|``), ``<pre>`` keeps its spacing; ``<title>`` gives the document's title.
The standard library's `HTMLParser` is enough: uploads are manuals and FAQ pages.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from centralita.knowledge.document_model import Section, normalise
from centralita.knowledge.readers.outline import Outline

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
        self.outline = Outline()
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


def read_html(text: str) -> tuple[str | None, list[Section]]:
    """Reads decoded HTML.

    Args:
        text: the page's text.

    Returns:
        The ``<title>``, else the first heading, else None; and the sections.
    """
    reader = _HtmlReader()
    reader.feed(text)
    sections = reader.finish()
    return normalise(reader.title) or reader.outline.first_heading, sections
