"""Export rows as CSV text, one chunk per page, header first.

Transcripts, summaries and contact fields carry what people typed or said, so no cell
may reach a spreadsheet as a formula (OWASP CSV injection). The rule, exactly:

- A cell is *neutralised*, written with a leading `'`, when its first character after
  any spaces is one a spreadsheet starts a formula (or a DDE call) with: `=`, `+`, `-`,
  `@`, a tab, a carriage return, a line feed, NUL, or the full-width `＝ ＋ － ＠`.
- Two shapes are left exact although they start with `+` or `-`, because nothing in
  them but digits can reach a formula: a whole number (`-12.5`, `+56912345678`,
  `-1e-05`: a sign, digits, maybe a decimal point and digits, maybe an exponent), and a
  masked phone (`+56*****4567`: `+`, digits, stars, digits), so that a masked phone and
  an unmasked one are treated alike.
- Anything else that starts with those characters is neutralised, however number-like
  its start: `-2+3`, `+1-1`, `+56 9 1234 5678`, `-1)*cmd|'`, `+HYPERLINK(...)`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Final

from centralita.analytics.exports import ExportRow

COLUMNS: Final = tuple(ExportRow.model_fields)
_TRIGGERS: Final = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
_EXACT: Final = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\+\d+\*+\d+")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.lstrip(" ")[:1] in _TRIGGERS and not _EXACT.fullmatch(text):
        return "'" + text
    return text


def _lines(rows: list[ExportRow] | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if rows is None:
        writer.writerow(COLUMNS)
    else:
        writer.writerows([_cell(getattr(r, c)) for c in COLUMNS] for r in rows)
    return buffer.getvalue()


async def csv_chunks(pages: AsyncIterator[list[ExportRow]]) -> AsyncIterator[str]:
    """The header, then each page's rows as one chunk (RFC 4180 quoting, CRLF)."""
    yield _lines(None)
    async for page in pages:
        yield _lines(page)
