"""One reader per upload format, each turning a file into a title and `Section`s.

- `markdown`, `html`: decoded text in; headings (ATX/setext, ``<h1>``-``<h6>``) open
  sections, through the shared `outline.Outline`.
- `pdf`: each page's text as one untitled section (a PDF keeps no headings we trust).
- `docx`: Word's XML read directly; Title and Heading 1-6 styles open sections.

Each returns ``(title or None, sections)``; `centralita.knowledge.documents` picks the
reader, normalises the sections' text and drops empty ones. Readers import only
`centralita.knowledge.document_model`, never `documents`, which imports them.
"""
