"""Export rows as CSV text, one chunk per page, header first.

Cells a spreadsheet would run as a formula (starting with `=`, `@`, a tab or a carriage
return, or `+`/`-` not followed by a number) get a leading `'`: transcripts and
summaries carry what callers said. Phone numbers (`+56...`) and negative numbers are
left as they are, so the data stays exact.
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
_NUMBER: Final = re.compile(r"[+-][\d .()-]*")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (
        text[:1] in ("+", "-") and not _NUMBER.fullmatch(text)
    ):
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
