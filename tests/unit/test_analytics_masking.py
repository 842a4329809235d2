"""Masking of export fields, the CSV formula guard and export cursors: pure functions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from centralita.analytics.cursor import BadCursorError, Cursor
from centralita.analytics.export_csv import _cell
from centralita.analytics.masking import (
    mask_email,
    mask_identifier,
    mask_name,
    mask_national_id,
    mask_text,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "masked"),
    [("12.345.678-5", "**.***.**8-5"), ("12345678Z", "*******8Z"), ("X1234567L", "*******7L")],
)
def test_national_ids_keep_their_last_two(value: str, masked: str) -> None:
    assert mask_national_id(value) == masked


def test_names_and_emails() -> None:
    assert mask_name("María José  Pérez") == "M**** J*** P****"
    assert mask_email("juan.perez@gmail.com") == "j***@gmail.com"
    assert mask_email("no-at-sign") == "**********"


def test_identifiers_are_masked_only_when_personal() -> None:
    assert mask_identifier("C-001") == "C-001"
    assert mask_identifier("123456") == "123456"  # a CRM's own number stays readable
    assert mask_identifier("12.345.678-5") == "**.***.**8-5"
    assert mask_identifier("ana@example.com") == "a***@example.com"


def test_text_masks_known_values_and_written_forms() -> None:
    text = (
        "Ana Rojas (RUT 9.876.543-2, DNI 12345678Z) dio ana@x.cl y el +56 9 6123 4567; "
        "banana y 150.000 pesos el 15/03."
    )
    out = mask_text(text, [("name", "Ana Rojas")])
    assert out == (
        "[name] (RUT [id], DNI [id]) dio [email] y el [phone]; banana y 150.000 pesos el 15/03."
    )
    # A value the analysis found, as transcribed (spoken digits no pattern catches).
    said = "mi rut es doce millones guion cinco"
    assert mask_text(said, [("id", "doce millones guion cinco")]) == "mi rut es [id]"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("@cmd", "'@cmd"),
        ("+56961234567", "+56961234567"),
        ("-12.5", "-12.5"),
        ("+56*****4567", "+56*****4567"),
        ("-cmd|calc", "'-cmd|calc"),
        (None, ""),
        (True, "true"),
        (2.5, "2.5"),
    ],
)
def test_csv_cells_never_run_as_formulas(value: object, cell: str) -> None:
    assert _cell(value) == cell


def test_cursor_round_trip_and_garbage() -> None:
    cursor = Cursor(datetime(2025, 3, 1, 12, tzinfo=UTC), uuid.uuid4())
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "nonsense", "W10", Cursor.encode(cursor)[:-3] + "!!!"):
        with pytest.raises(BadCursorError):
            Cursor.decode(bad)
