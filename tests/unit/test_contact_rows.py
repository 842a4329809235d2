"""Per-row contact validation: good rows kept in order, each bad row explained."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.contact_rows import NumberedRow, check_region, check_timezone, to_e164, validate_rows

pytestmark = pytest.mark.unit

MARIA = "+56961234567"
JUAN = "+56972345678"
CARMEN = "+34612345678"


# -- to_e164 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("+56 9 6123 4567", None, MARIA, id="international-spaces"),
        pytest.param("+56-9-6123-4567", "ES", MARIA, id="international-ignores-region"),
        pytest.param("9 6123 4567", "CL", MARIA, id="national-cl-mobile"),
        pytest.param("(2) 2345 6789", "CL", "+56223456789", id="national-cl-landline"),
        pytest.param("612 34 56 78", "ES", CARMEN, id="national-es-mobile"),
        pytest.param("91 123 45 67", "ES", "+34911234567", id="national-es-landline"),
    ],
)
def test_to_e164(raw: str, region: str | None, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        pytest.param("12345", "CL", id="too-short"),
        pytest.param("not a phone", "CL", id="letters"),
        pytest.param("9 6123 4567", None, id="national-without-region"),
        pytest.param("+56 1 2345", None, id="unassigned-range"),
    ],
)
def test_to_e164_rejects(raw: str, region: str | None) -> None:
    with pytest.raises(ValueError, match="invalid phone"):
        to_e164(raw, region)


def test_check_timezone() -> None:
    assert check_timezone("America/Santiago") == "America/Santiago"
    assert check_timezone("Europe/Madrid") == "Europe/Madrid"


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "Not a zone"])
def test_check_timezone_rejects(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        check_timezone(name)


# -- validate_rows -----------------------------------------------------------------------


def test_valid_rows_kept_in_order_as_e164() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "María", "phone": "+56 9 6123 4567", "external_id": "c-1"},
        {"name": "  Juan  ", "phone": "+56 9 7234 5678", "timezone": "America/Santiago"},
        {
            "name": "Carmen",
            "phone": "+34 612 34 56 78",
            "segment": "vip",
            "variables": {"monto_total": 150},
        },
    ]
    accepted, rejected, _ = validate_rows(rows, default_region=None)

    assert rejected == []
    assert [c.name for c in accepted] == ["María", "Juan", "Carmen"]
    assert [c.phones for c in accepted] == [[MARIA], [JUAN], [CARMEN]]
    assert accepted[0].external_id == "c-1"
    assert accepted[1].timezone == "America/Santiago"
    assert accepted[2].segment == "vip"
    assert accepted[2].variables == {"monto_total": 150}


@pytest.mark.parametrize(
    ("region", "phone", "expected"),
    [("CL", "9 6123 4567", MARIA), ("ES", "612 34 56 78", CARMEN)],
)
def test_national_numbers_use_the_default_region(region: str, phone: str, expected: str) -> None:
    accepted, rejected, _ = validate_rows([{"name": "X", "phone": phone}], default_region=region)
    assert rejected == []
    assert accepted[0].phones == [expected]


def test_try_phones_appended_in_order_and_duplicates_collapsed() -> None:
    row = {
        "name": "María",
        "phone": "9 6123 4567",
        "try_phones": ["+56 9 6123 4567", "+34 612 34 56 78", "9 7234 5678", "+56972345678"],
    }
    accepted, rejected, _ = validate_rows([row], default_region="CL")
    assert rejected == []
    assert accepted[0].phones == [MARIA, CARMEN, JUAN]


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        pytest.param({"name": "A", "phone": "12345"}, "invalid phone", id="invalid-phone"),
        pytest.param(
            {"name": "A", "phone": MARIA, "try_phones": ["+56 1 2345"]},
            "invalid phone",
            id="invalid-try-phone",
        ),
        pytest.param(
            {"name": "A", "phone": MARIA, "timezone": "Mars/Olympus"},
            "Mars/Olympus",
            id="unknown-timezone",
        ),
        pytest.param({"phone": MARIA}, "name", id="missing-name"),
        pytest.param({"name": "", "phone": MARIA}, "name", id="empty-name"),
        pytest.param({"name": "   ", "phone": MARIA}, "name is empty", id="blank-name"),
        pytest.param({"name": "A"}, "phone", id="missing-phone"),
        pytest.param({"name": 42, "phone": MARIA}, "name", id="name-not-str"),
        pytest.param({"name": "A", "phone": 56961234567}, "phone", id="phone-not-str"),
        pytest.param({"name": "A", "phone": MARIA, "try_phones": JUAN}, "try_phones", id="tp-str"),
        pytest.param(
            {"name": "A", "phone": MARIA, "variables": ["x"]}, "variables", id="variables-list"
        ),
        pytest.param(
            {"name": "A", "phone": MARIA, "try_phones": [JUAN] * 6}, "try_phones", id="tp-too-many"
        ),
        pytest.param("María,+56961234567", "must be an object, got str", id="string-row"),
        pytest.param(None, "must be an object, got NoneType", id="none-row"),
        pytest.param([MARIA], "must be an object, got list", id="list-row"),
        pytest.param(42, "must be an object, got int", id="int-row"),
    ],
)
def test_bad_row_rejected_with_its_number_and_reason(row: Any, needle: str) -> None:
    good = {"name": "Good", "phone": JUAN}
    other = {"name": "Good", "phone": CARMEN, "external_id": "x"}
    accepted, rejected, _ = validate_rows([good, other, row], "CL")

    assert [c.name for c in accepted] == ["Good", "Good"]
    assert len(rejected) == 1
    assert rejected[0].row == 3
    assert needle in rejected[0].reason


def test_timezone_reason_names_the_problem() -> None:
    _, rejected, _ = validate_rows(
        [{"name": "A", "phone": MARIA, "timezone": "Mars/Olympus"}], default_region=None
    )
    assert rejected[0].reason == "unknown time zone 'Mars/Olympus'"


def test_duplicate_external_id_rejected_the_second_time() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "First", "phone": MARIA, "external_id": "A"},
        {"name": "Other", "phone": JUAN, "external_id": "B"},
        {"name": "Second", "phone": CARMEN, "external_id": "A"},
        {"name": "No id", "phone": "+56 9 8765 4321"},
        {"name": "No id either", "phone": "+56 9 9123 4567"},
    ]
    accepted, rejected, _ = validate_rows(rows, default_region=None)

    assert [c.name for c in accepted] == ["First", "Other", "No id", "No id either"]
    assert len(rejected) == 1
    assert rejected[0].row == 3
    assert rejected[0].reason == "duplicate of row 1 (same external_id 'A')"


def test_a_bad_row_does_not_claim_its_external_id() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "Bad", "phone": "12345", "external_id": "A"},
        {"name": "Good", "phone": MARIA, "external_id": "A"},
    ]
    accepted, rejected, _ = validate_rows(rows, default_region=None)
    assert [c.name for c in accepted] == ["Good"]
    assert [r.row for r in rejected] == [1]


def test_mixed_upload_loses_nothing() -> None:
    rows: list[Any] = [
        {"name": "Ok 1", "phone": "9 6123 4567"},
        {"name": "", "phone": MARIA},
        "just a string",
        {"name": "Ok 2", "phone": "+34 612 34 56 78", "external_id": "e"},
        {"name": "Dup", "phone": JUAN, "external_id": "e"},
        {"name": "Mars", "phone": JUAN, "timezone": "Mars/Olympus"},
        {"name": "Ok 3", "phone": "9 7234 5678", "try_phones": ["9 6123 4567"]},
        {"name": "Bad phone", "phone": "000"},
    ]
    accepted, rejected, _ = validate_rows(rows, default_region="CL")

    assert len(accepted) + len(rejected) == len(rows)
    assert [c.name for c in accepted] == ["Ok 1", "Ok 2", "Ok 3"]
    assert [r.row for r in rejected] == [2, 3, 5, 6, 8]
    assert all(r.reason for r in rejected)
    assert accepted[2].phones == [JUAN, MARIA]


def test_empty_upload() -> None:
    assert validate_rows([], default_region="CL") == ([], [], [])


# -- duplicates within one upload ---------------------------------------------------------


def test_a_repeated_first_phone_is_refused_naming_the_first_row() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "María", "phone": MARIA},
        {"name": "Juan", "phone": JUAN},
        {"name": "María otra vez", "phone": "+56 9 6123 4567"},  # same number, other form
        {"name": "María de nuevo", "phone": "9 6123 4567", "external_id": "m2"},
    ]
    accepted, rejected, _ = validate_rows(rows, default_region="CL")
    assert [c.name for c in accepted] == ["María", "Juan"]
    assert [(r.row, r.reason) for r in rejected] == [
        (3, "duplicate of row 1 (same phone)"),
        (4, "duplicate of row 1 (same phone)"),
    ]


def test_a_shared_fallback_phone_is_not_a_duplicate() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "Ana", "phone": MARIA, "try_phones": [CARMEN]},
        {"name": "Luis", "phone": JUAN, "try_phones": [CARMEN]},
    ]
    accepted, rejected, _ = validate_rows(rows, default_region=None)
    assert [c.name for c in accepted] == ["Ana", "Luis"]
    assert rejected == []


def test_a_rejected_row_does_not_claim_its_phone() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "Mars", "phone": MARIA, "timezone": "Mars/Olympus"},
        {"name": "María", "phone": MARIA},
    ]
    accepted, rejected, _ = validate_rows(rows, default_region=None)
    assert [c.name for c in accepted] == ["María"]
    assert [r.row for r in rejected] == [1]


def test_csv_duplicates_name_the_first_rows_line() -> None:
    rows = [
        NumberedRow(2, {"name": "María", "phone": MARIA, "external_id": "A"}),
        NumberedRow(5, {"name": "Juan", "phone": JUAN}),
        NumberedRow(9, {"name": "Otra", "phone": CARMEN, "external_id": "A"}),
        NumberedRow(10, {"name": "Juan bis", "phone": JUAN}),
    ]
    accepted, rejected, _ = validate_rows(rows, default_region=None)
    assert [c.name for c in accepted] == ["María", "Juan"]
    assert [(r.row, r.reason) for r in rejected] == [
        (9, "duplicate of line 2 (same external_id 'A')"),
        (10, "duplicate of line 5 (same phone)"),
    ]


# -- phone problems in words ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        pytest.param(
            "912345678",
            None,
            "invalid phone '912345678': it has no country code; start it with + and the "
            "country code (+56 9 6123 4567), or set default_region (CL, ES...)",
            id="no-region",
        ),
        pytest.param("+999 1234 5678", None, "unknown country code", id="unknown-country"),
        pytest.param("912345678", "XX", "unknown default_region 'XX'", id="unknown-region"),
        pytest.param("not a phone", "CL", "not a phone number", id="letters"),
        pytest.param("+56 9 1234 5678 9012 3456 7890", None, "too long", id="too-long"),
    ],
)
def test_phone_reasons_say_what_is_wrong(raw: str, region: str | None, reason: str) -> None:
    with pytest.raises(ValueError, match="invalid phone") as raised:
        to_e164(raw, region)
    message = str(raised.value)
    assert reason in message
    assert not re.search(r"\(\d\)", message), message  # phonenumbers' error codes


def test_the_row_reason_for_a_national_number_without_region_names_the_fix() -> None:
    _, rejected, _ = validate_rows([{"name": "A", "phone": "9 6123 4567"}], default_region=None)
    assert "no country code" in rejected[0].reason
    assert "default_region" in rejected[0].reason


def test_check_region() -> None:
    assert check_region("cl") == "CL"
    with pytest.raises(ValueError, match="unknown region 'XX'"):
        check_region("XX")
