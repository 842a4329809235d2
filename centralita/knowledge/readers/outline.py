"""`Outline`: sections under a stack of headings, shared by the Markdown, HTML and DOCX
readers, which all walk a document top to bottom meeting headings of levels 1-6."""

from __future__ import annotations

from centralita.knowledge.document_model import Section, normalise


class Outline:
    """Sections under a stack of headings, filled as a reader walks a document."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.first_heading: str | None = None
        self._path: list[tuple[int, str]] = []
        self._lines: list[str] = []

    def heading(self, level: int, text: str) -> None:
        """Closes the section so far and opens one under this heading.

        Args:
            level: 1-6 (0 for a document title); it replaces headings at or below it.
            text: the heading's text; an empty one is ignored.
        """
        text = normalise(text)
        if not text:
            return
        self.flush()
        self.first_heading = self.first_heading or text
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        self._path.append((level, text))

    def add(self, line: str) -> None:
        """Adds a line of text under the current heading (``""`` for a paragraph break)."""
        self._lines.append(line)

    def flush(self) -> None:
        """Closes the section so far, if it holds any text."""
        text = "\n".join(self._lines).strip()
        if text:
            self.sections.append(Section(tuple(t for _, t in self._path), text))
        self._lines = []
