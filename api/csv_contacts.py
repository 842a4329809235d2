"""Contacts from a CSV upload: whatever a spreadsheet exports, turned into contact rows.

Collections teams export from Excel, often a Spanish-locale Excel: `;` as delimiter,
cp1252 text, a BOM, headers like `Teléfono` or `Nombre Completo`. This module turns
such a file into the same row dicts that `POST /campaigns` accepts inline, so one
validator (`api.contact_rows.validate_rows`) judges both.

Rules:
- Decoding: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode text"),
  else cp1252, else latin-1. A file that still looks binary is a `CsvError`.
- Delimiter: sniffed among `,`, `;` and tab.
- A header row is required and must name a name column and a phone column.
- Headers are matched case- and accent-insensitively against the aliases below; every
  other column becomes a dynamic variable keyed by its header as written.
- Rows are numbered by the line of the file they start on, as an editor shows it: the
  header is line 1 (when it is the first line), and fully blank lines (no cell with
  text, e.g. `;;;` from Excel) are skipped as spreadsheet padding but still counted,
  as are the extra lines of a quoted cell that spans several. So "line 7" is the
  seventh line of the file whatever came before it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api.contact_rows import InvalidRow, NumberedRow

DELIMITERS = (",", ";", "\t")

# Aliases in priority order: when two are present the first one listed takes the field
# and the other stays a variable. `nombre_completo` outranks `nombre` because sheets
# that have both use `nombre` for how the agent greets the person ("Hola, Juan").
NAME_ALIASES = ("name", "nombre_completo", "nombre")
PHONE_ALIASES = ("phone", "to_number", "telefono", "celular", "movil")
TRY_PHONES_ALIASES = ("try_phones",)
# `rut` is deliberately absent: it is a national id the agent may read out, and two
# campaigns for the same debtor must not collide on it as an external id.
EXTERNAL_ID_ALIASES = ("external_id", "id", "id_cliente")
SEGMENT_ALIASES = ("segment", "segmento", "tipo_mora", "delinquency_type")
TIMEZONE_ALIASES = ("timezone", "zona_horaria", "tz")

_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": NAME_ALIASES,
    "phone": PHONE_ALIASES,
    "try_phones": TRY_PHONES_ALIASES,
    "external_id": EXTERNAL_ID_ALIASES,
    "segment": SEGMENT_ALIASES,
    "timezone": TIMEZONE_ALIASES,
}
_NUMBERED_PHONE = re.compile(r"^(?:phone|telefono|celular|movil)_?(\d{1,2})$")
_TRY_PHONES_SPLIT = re.compile(r"[|;,]")
_SNIFF_ROWS = 20
# Share of control characters above which decoded text is taken for a binary file.
_BINARY_CONTROL_SHARE = 0.02
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_SNIFF_CHARS = 64 * 1024


class CsvError(ValueError):
    """The file as a whole cannot be read as a contact CSV."""


class CsvTooLargeError(CsvError):
    """The file has more data rows than allowed."""

    def __init__(self, max_rows: int) -> None:
        super().__init__(f"the file has more than {max_rows} contact rows")
        self.max_rows = max_rows


@dataclass(frozen=True)
class CsvRowError:
    """A data row that could not become a contact row (reported, never dropped)."""

    line: int
    reason: str


@dataclass(frozen=True)
class CsvRecord:
    """One data row of the file and the line it starts on."""

    line: int
    row: dict[str, Any] | CsvRowError


@dataclass(frozen=True)
class _Layout:
    """Which column feeds which contact field."""

    headers: list[str]
    fields: dict[str, int]
    extra_phones: list[int]
    variables: list[int]


def parse_contacts_csv(data: bytes, *, max_rows: int) -> list[dict[str, Any] | CsvRowError]:
    """The rows of `read_contacts_csv`, without their line numbers."""
    return [record.row for record in read_contacts_csv(data, max_rows=max_rows)]


def read_contacts_csv(data: bytes, *, max_rows: int) -> list[CsvRecord]:
    """Parse an uploaded CSV into contact row dicts, one record per data row.

    Args:
        data: the raw upload.
        max_rows: the most data rows accepted.

    Returns:
        Each data row in file order with the line it starts on: a dict with the keys
        `ContactIn` takes (only those with a value; `variables` holds every unmapped
        non-empty cell as a string), or a `CsvRowError` for a row that cannot be mapped.

    Raises:
        CsvTooLargeError: more than `max_rows` data rows.
        CsvError: undecodable or binary data, no header, or a header without a name
            and a phone column.
    """
    text = decode_csv_bytes(data)
    delimiter = sniff_delimiter(text)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise CsvError("the file is empty; a header row is required")
    layout = _layout(first[1])
    parsed: list[CsvRecord] = []
    for line, cells in records:
        if len(parsed) == max_rows:
            raise CsvTooLargeError(max_rows)
        parsed.append(CsvRecord(line, _row(layout, cells, line)))
    return parsed


def numbered_rows(records: list[CsvRecord]) -> list[NumberedRow]:
    """The file's rows for validation, each reported by the line it starts on."""
    return [
        NumberedRow(r.line, InvalidRow(r.row.reason) if isinstance(r.row, CsvRowError) else r.row)
        for r in records
    ]


def decode_csv_bytes(data: bytes) -> str:
    """Decode an upload as text, the way spreadsheets write it.

    Raises:
        CsvError: a workbook or other binary file, or empty data.
    """
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvError("this is an Excel workbook, not a CSV; save it as CSV and upload that")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_utf16(data)
    elif b"\x00" in data:
        raise CsvError("the file is binary (it contains NUL bytes), not a CSV")
    else:
        text = _decode_8bit(data)
    if _looks_binary(text):
        raise CsvError("the file is binary or in an unknown encoding, not a CSV")
    if not text.strip():
        raise CsvError("the file is empty; a header row is required")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter among `,` `;` and tab that splits the first lines most consistently.

    `csv.Sniffer` guesses wrong on Spanish exports (`;` between columns, `,` inside
    decimal amounts), so each candidate is scored on the header's column count and on
    how many of the next lines have that same count.
    """
    sample = "\n".join(text[:_SNIFF_CHARS].splitlines()[: _SNIFF_ROWS + 1])

    def score(delimiter: str) -> tuple[int, int]:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(r)]
        if not rows or len(rows[0]) < 2:
            return (0, 0)
        width = len(rows[0])
        return (sum(1 for r in rows[1:] if len(r) == width), width)

    return max(DELIMITERS, key=score)


def normalize_header(header: str) -> str:
    """A header as compared with the aliases: no accents, lower case, `_` for spaces."""
    decomposed = unicodedata.normalize("NFKD", header.strip())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s\-.]+", "_", plain.lower()).strip("_")


def _decode_utf16(data: bytes) -> str:
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise CsvError(f"the file claims UTF-16 but is not valid UTF-16: {exc}") from exc


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # What Excel on Windows writes for "CSV" in Spanish and other Western locales.
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 decodes anything.
        return data.decode("latin-1")


def _looks_binary(text: str) -> bool:
    controls = len(_CONTROL_CHARS.findall(text))
    return controls > max(1, len(text) * _BINARY_CONTROL_SHARE)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line each starts on; fully blank ones left out.

    Quoted newlines stay inside cells; the reader's `line_num` counts physical lines
    (blank ones too), so a record starts on the line after the previous one ended.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    ended = 0
    try:
        for cells in reader:
            start, ended = ended + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                yield start, cells
    except csv.Error as exc:
        raise CsvError(f"malformed CSV near line {reader.line_num}: {exc}") from exc


def _layout(header: list[str]) -> _Layout:
    headers = [h.strip().lstrip("\ufeff").strip() for h in header]
    keys = [normalize_header(h) for h in headers]
    _check_unique(headers, keys)
    fields: dict[str, int] = {}
    for field, aliases in _FIELD_ALIASES.items():
        for alias in aliases:
            if alias in keys:
                fields[field] = keys.index(alias)
                break
    extra_phones = _numbered_phone_columns(keys, taken=set(fields.values()))
    if "phone" not in fields and extra_phones:
        # `phone1`, `phone2` with no plain `phone`: the first numbered one is dialled first.
        fields["phone"] = extra_phones.pop(0)
    _require(fields, "name", NAME_ALIASES)
    _require(fields, "phone", PHONE_ALIASES)
    used = set(fields.values()) | set(extra_phones)
    variables = [i for i, h in enumerate(headers) if i not in used and h]
    return _Layout(headers=headers, fields=fields, extra_phones=extra_phones, variables=variables)


def _check_unique(headers: list[str], keys: list[str]) -> None:
    # Compared as normalised: `Teléfono` and `telefono` would be one column to a reader.
    first: dict[str, str] = {}
    for header, key in zip(headers, keys, strict=True):
        if key and key in first:
            raise CsvError(f"columns {first[key]!r} and {header!r} are the same column twice")
        first.setdefault(key, header)


def _numbered_phone_columns(keys: list[str], *, taken: set[int]) -> list[int]:
    numbered = [
        (int(match.group(1)), index)
        for index, key in enumerate(keys)
        if index not in taken and (match := _NUMBERED_PHONE.match(key))
    ]
    return [index for _, index in sorted(numbered)]


def _require(fields: dict[str, int], field: str, aliases: tuple[str, ...]) -> None:
    if field not in fields:
        raise CsvError(
            f"no {field} column: the first line must be a header naming one of {', '.join(aliases)}"
        )


def _row(layout: _Layout, cells: list[str], number: int) -> dict[str, Any] | CsvRowError:
    width = len(layout.headers)
    if any(cell.strip() for cell in cells[width:]):
        # Empty trailing cells are tolerated: Excel adds them after a trailing delimiter.
        return CsvRowError(number, f"{len(cells)} cells but the header has {width} columns")
    values = [cell.strip() for cell in cells[:width]] + [""] * max(0, width - len(cells))
    nameless = [i + 1 for i, h in enumerate(layout.headers) if not h and values[i]]
    if nameless:
        return CsvRowError(number, f"a value in column {nameless[0]}, which has no header")
    return _contact(layout, values)


def _contact(layout: _Layout, values: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        field: values[index]
        for field, index in layout.fields.items()
        if field != "try_phones" and values[index]
    }
    phones = _phones(layout, values)
    if phones:
        # A blank first phone with a later one filled in: the first filled one leads.
        row["phone"], extra = phones[0], phones[1:]
        if extra:
            row["try_phones"] = extra
    variables = {layout.headers[i]: values[i] for i in layout.variables if values[i]}
    if variables:
        row["variables"] = variables
    return row


def _phones(layout: _Layout, values: list[str]) -> list[str]:
    phones = [values[layout.fields["phone"]]]
    if "try_phones" in layout.fields:
        phones += _TRY_PHONES_SPLIT.split(values[layout.fields["try_phones"]])
    phones += [values[i] for i in layout.extra_phones]
    return [p.strip() for p in phones if p.strip()]
