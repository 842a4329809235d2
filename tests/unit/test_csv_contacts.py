"""CSV uploads as spreadsheets really write them: delimiters, encodings, Spanish headers."""

from __future__ import annotations

import codecs
import random
from typing import Any

import pytest

from api.contact_rows import InvalidRow, NumberedRow, validate_rows
from api.csv_contacts import (
    CsvError,
    CsvRowError,
    CsvTooLargeError,
    normalize_header,
    parse_contacts_csv,
    read_contacts_csv,
    sniff_delimiter,
)

pytestmark = pytest.mark.unit

MARIA = "+56961234567"
JUAN = "+56972345678"
CARMEN = "+34612345678"


def parse(text: str, *, max_rows: int = 100, encoding: str = "utf-8") -> list[Any]:
    return parse_contacts_csv(text.encode(encoding), max_rows=max_rows)


def only_dicts(rows: list[Any]) -> list[dict[str, Any]]:
    assert all(isinstance(r, dict) for r in rows), rows
    return rows


# -- delimiters ------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_gives_the_same_rows(delimiter: str) -> None:
    lines = [["name", "phone", "monto_total"], ["María", MARIA, "150000"], ["Juan", JUAN, "99"]]
    text = "\n".join(delimiter.join(cells) for cells in lines) + "\n"
    assert parse(text) == [
        {"name": "María", "phone": MARIA, "variables": {"monto_total": "150000"}},
        {"name": "Juan", "phone": JUAN, "variables": {"monto_total": "99"}},
    ]


def test_semicolon_wins_over_decimal_commas_in_amounts() -> None:
    # Spanish Excel: `;` between columns, `,` inside the amounts.
    text = "nombre;telefono;monto_total\nMaría;+56961234567;150.000,50\nJuan;+56972345678;1,5\n"
    assert sniff_delimiter(text) == ";"
    assert only_dicts(parse(text))[0]["variables"] == {"monto_total": "150.000,50"}


def test_quoted_cells_keep_delimiters_and_newlines() -> None:
    text = 'name,phone,nota\n"Pérez, María",+56961234567,"línea 1\nlínea 2"\nJuan,+56972345678,x\n'
    rows = only_dicts(parse(text))
    assert rows[0]["name"] == "Pérez, María"
    assert rows[0]["variables"] == {"nota": "línea 1\nlínea 2"}
    assert rows[1]["name"] == "Juan"


def test_crlf_line_endings() -> None:
    rows = only_dicts(parse("name;phone\r\nMaría;+56961234567\r\nJuan;+56972345678\r\n"))
    assert [r["phone"] for r in rows] == [MARIA, JUAN]


# -- encodings ------------------------------------------------------------------------


def test_utf8_bom_does_not_stick_to_the_first_header() -> None:
    data = codecs.BOM_UTF8 + "nombre;teléfono\nMaría;+56961234567\n".encode()
    assert parse_contacts_csv(data, max_rows=10) == [{"name": "María", "phone": MARIA}]


def test_cp1252_excel_export_keeps_accents() -> None:
    text = "Nombre;Teléfono;Dirección\nJosé Pérez;+56961234567;Ñuñoa\n"
    rows = parse(text, encoding="cp1252")
    assert rows == [{"name": "José Pérez", "phone": MARIA, "variables": {"Dirección": "Ñuñoa"}}]


def test_cp1252_only_characters_decode() -> None:
    rows = parse("name,phone,nota\nAna,+56961234567,“pagó” 50€\n", encoding="cp1252")
    assert only_dicts(rows)[0]["variables"] == {"nota": "“pagó” 50€"}


def test_utf16_unicode_text_export() -> None:
    data = "name\tphone\nMaría\t+56961234567\n".encode("utf-16")
    assert parse_contacts_csv(data, max_rows=10) == [{"name": "María", "phone": MARIA}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(random.Random(7).randbytes(4096), "binary", id="random-bytes"),
        pytest.param(b"PK\x03\x04" + bytes(200), "Excel workbook", id="xlsx"),
        pytest.param(b"\xd0\xcf\x11\xe0" + bytes(200), "Excel workbook", id="xls"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(64), "binary", id="png"),
        pytest.param(
            bytes(range(1, 9)) * 100 + b"name,phone\n", "binary", id="controls-without-nul"
        ),
    ],
)
def test_binary_files_are_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(CsvError, match=message):
        parse_contacts_csv(data, max_rows=10)


# -- headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Teléfono", "telefono"),
        ("  TELÉFONO 2 ", "telefono_2"),
        ("Zona Horaria", "zona_horaria"),
        ("ID-Cliente", "id_cliente"),
        ("Móvil", "movil"),
        ("Nombre.Completo", "nombre_completo"),
    ],
)
def test_normalize_header(header: str, expected: str) -> None:
    assert normalize_header(header) == expected


def test_spanish_headers_map_to_fields_and_the_rest_are_variables() -> None:
    text = (
        "ID Cliente;Nombre Completo;nombre;Celular;RUT;Segmento;Zona Horaria;"
        "monto_total;fecha_limite\n"
        "C-1;María José Pérez;María;9 6123 4567;12.345.678-5;mora_temprana;"
        "America/Santiago;150000;2025-03-31\n"
    )
    assert parse(text) == [
        {
            "external_id": "C-1",
            "name": "María José Pérez",
            "phone": "9 6123 4567",
            "segment": "mora_temprana",
            "timezone": "America/Santiago",
            "variables": {
                "nombre": "María",
                "RUT": "12.345.678-5",
                "monto_total": "150000",
                "fecha_limite": "2025-03-31",
            },
        }
    ]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("name,to_number", "phone"),
        ("name,telefono", "phone"),
        ("name,movil", "phone"),
        ("name,phone,external_id", "external_id"),
        ("name,phone,id", "external_id"),
        ("name,phone,tipo_mora", "segment"),
        ("name,phone,delinquency_type", "segment"),
        ("name,phone,tz", "timezone"),
    ],
)
def test_english_and_spanish_aliases(header: str, field: str) -> None:
    width = header.count(",") + 1
    values = ["Ana", MARIA, "v"][:width]
    (row,) = only_dicts(parse(f"{header}\n{','.join(values)}\n"))
    assert row[field] == values[-1]
    assert "variables" not in row


def test_rut_stays_a_variable_not_the_external_id() -> None:
    (row,) = only_dicts(parse("name,phone,RUT\nAna,+56961234567,1-9\n"))
    assert "external_id" not in row
    assert row["variables"] == {"RUT": "1-9"}


def test_name_wins_over_nombre_which_stays_a_variable() -> None:
    (row,) = only_dicts(parse("nombre,name,phone\nAna,Ana Soto,+56961234567\n"))
    assert row["name"] == "Ana Soto"
    assert row["variables"] == {"nombre": "Ana"}


def test_numbers_stay_strings_and_empty_cells_are_omitted() -> None:
    (row,) = only_dicts(parse("name,phone,monto,cuotas,nota\nAna,+56961234567,007,,\n"))
    assert row["variables"] == {"monto": "007"}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("nombre,monto\nAna,1\n", id="no-phone-column"),
        pytest.param("telefono,monto\n+56961234567,1\n", id="no-name-column"),
        pytest.param("Ana,+56961234567\nJuan,+56972345678\n", id="no-header"),
    ],
)
def test_a_header_naming_name_and_phone_is_required(text: str) -> None:
    with pytest.raises(CsvError, match="header"):
        parse(text)


def test_the_same_column_twice_is_an_error() -> None:
    with pytest.raises(CsvError, match="twice"):
        parse("name,Teléfono,telefono\nAna,+56961234567,+56972345678\n")


@pytest.mark.parametrize("text", ["", "   \n\n", "\ufeff"])
def test_empty_file_is_an_error(text: str) -> None:
    with pytest.raises(CsvError, match="empty"):
        parse(text)


def test_header_only_has_no_rows() -> None:
    assert parse("name;phone;monto_total\n") == []


# -- extra phones ---------------------------------------------------------------------


def test_try_phones_column_split_on_pipes_semicolons_and_commas() -> None:
    text = 'name,phone,try_phones\nAna,+56961234567,"+56972345678| +56987654321;+56911112222"\n'
    (row,) = only_dicts(parse(text))
    assert row["try_phones"] == ["+56972345678", "+56987654321", "+56911112222"]


def test_numbered_phone_columns_are_tried_in_number_order() -> None:
    text = "nombre;teléfono_3;teléfono;Teléfono2\nAna;+56933333333;+56911111111;+56922222222\n"
    (row,) = only_dicts(parse(text))
    assert row["phone"] == "+56911111111"
    assert row["try_phones"] == ["+56922222222", "+56933333333"]


@pytest.mark.parametrize("header", ["name,phone1,phone_2", "name,phone_2,phone1"])
def test_numbered_columns_without_a_plain_phone(header: str) -> None:
    first, second = (MARIA, JUAN) if header.endswith("phone_2") else (JUAN, MARIA)
    (row,) = only_dicts(parse(f"{header}\nAna,{first},{second}\n"))
    assert (row["phone"], row["try_phones"]) == (MARIA, [JUAN])


def test_a_blank_first_phone_lets_the_next_one_lead() -> None:
    (row,) = only_dicts(parse(f"name,phone,phone2\nAna,,{JUAN}\n"))
    assert row["phone"] == JUAN
    assert "try_phones" not in row


def test_a_row_with_no_phone_reaches_validation_without_one() -> None:
    rows = parse("name,phone\nAna,\n")
    assert rows == [{"name": "Ana"}]
    accepted, rejected, _ = validate_rows(rows, None)
    assert accepted == []
    assert "phone" in rejected[0].reason


# -- rows -------------------------------------------------------------------------------


def test_ragged_row_is_reported_with_its_number_and_others_kept() -> None:
    text = f"name,phone\nAna,{MARIA}\nJuan,{JUAN},extra\nLuis,{JUAN}\n"
    rows = parse(text)
    assert rows[1] == CsvRowError(3, "3 cells but the header has 2 columns")
    assert [r["name"] for r in rows if isinstance(r, dict)] == ["Ana", "Luis"]


def test_trailing_empty_cells_from_excel_are_not_ragged() -> None:
    assert parse(f"name;phone;\nAna;{MARIA};;\n") == [{"name": "Ana", "phone": MARIA}]


def test_short_rows_are_padded() -> None:
    assert parse(f"name,phone,monto\nAna,{MARIA}\n") == [{"name": "Ana", "phone": MARIA}]


def test_a_value_under_a_blank_header_is_reported() -> None:
    rows = parse(f"name,,phone\nAna,?,{MARIA}\nJuan,,{JUAN}\n")
    assert rows[0] == CsvRowError(2, "a value in column 2, which has no header")
    assert rows[1] == {"name": "Juan", "phone": JUAN}


def test_blank_lines_are_skipped_but_counted() -> None:
    text = f"name;phone\n\nAna;{MARIA}\n;;\n   \nJuan;{JUAN};x\n"
    records = read_contacts_csv(text.encode(), max_rows=10)
    assert [r.line for r in records] == [3, 6]
    assert records[1].row == CsvRowError(6, "3 cells but the header has 2 columns")


def test_rejections_name_the_file_line_through_validate_rows() -> None:
    text = f"name,phone\nAna,{MARIA}\n\nBad,123\nJuan,{JUAN},x\n\n\nLuis,{CARMEN}\n"
    records = read_contacts_csv(text.encode(), max_rows=10)
    rows = [
        NumberedRow(r.line, InvalidRow(r.row.reason) if isinstance(r.row, CsvRowError) else r.row)
        for r in records
    ]
    accepted, rejected, _ = validate_rows(rows, None)
    assert [c.name for c in accepted] == ["Ana", "Luis"]
    assert [r.row for r in rejected] == [4, 5]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        pytest.param(f"name,phone\nAna,{MARIA}\nLuis,{JUAN}\n", [2, 3], id="plain"),
        pytest.param(f"name,phone\r\n\r\nAna,{MARIA}\r\n\r\nLuis,{JUAN}\r\n", [3, 5], id="crlf"),
        pytest.param(f"name;phone\n;;\n;;\nAna;{MARIA}\n", [4], id="excel-padding"),
        pytest.param(
            f'name,phone,nota\nAna,{MARIA},"uno\ndos\ntres"\nLuis,{JUAN},x\n',
            [2, 5],
            id="quoted-cell-spans-three-lines",
        ),
        pytest.param(f"\nname,phone\nAna,{MARIA}\n", [3], id="blank-line-before-header"),
        pytest.param(f"name,phone\nAna,{MARIA}", [2], id="no-final-newline"),
    ],
)
def test_each_row_is_numbered_by_the_file_line_it_starts_on(text: str, lines: list[int]) -> None:
    assert [r.line for r in read_contacts_csv(text.encode(), max_rows=10)] == lines


def test_parse_keeps_the_rows_of_read_in_order() -> None:
    text = f"name,phone\n\nAna,{MARIA}\nJuan,{JUAN},x\n"
    records = read_contacts_csv(text.encode(), max_rows=10)
    assert parse(text) == [r.row for r in records]


def test_more_rows_than_allowed_is_too_large() -> None:
    text = "name,phone\n" + "".join(f"N{i},{MARIA}\n" for i in range(11))
    assert len(parse(text, max_rows=11)) == 11
    with pytest.raises(CsvTooLargeError, match="more than 10") as raised:
        parse(text, max_rows=10)
    assert raised.value.max_rows == 10
    assert isinstance(raised.value, CsvError)


def test_five_thousand_rows_parse_whole() -> None:
    header = "ID Cliente;Nombre;Teléfono;Teléfono 2;RUT;monto_total;fecha_limite;Segmento\n"
    body = "".join(
        f"C{i};Persona {i};+5696{i:07d};+5697{i:07d};{i}-K;{i * 1000};2025-03-31;temprana\n"
        for i in range(5000)
    )
    data = (header + body).encode("cp1252")
    rows = parse_contacts_csv(data, max_rows=5000)
    assert len(rows) == 5000
    assert only_dicts(rows)[4999]["variables"]["monto_total"] == "4999000"
    # How fast: `python -m bench intake` (a figure, not a timed assertion).
