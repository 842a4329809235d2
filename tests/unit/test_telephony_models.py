"""Carrier accounts and phone numbers: what is accepted, what is refused and how, and
that a secret never shows in a repr, a dump or an error."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from centralita.telephony.models import (
    Carrier,
    CarrierAccountCreate,
    InvalidAccountError,
    PhoneNumberCreate,
    PhoneNumberRouting,
    Route,
    TelnyxCredentials,
    TwilioCredentials,
)
from centralita.telephony.numbers import InvalidNumberError, to_e164

pytestmark = pytest.mark.unit

AUTH_TOKEN = "f3c9b0a1d2e4f5a6b7c8d9e0a1b2c3d4"
API_KEY = "KEY0123456789ABCDEF_secretpartXYZ"
PUBLIC_KEY = base64.b64encode(bytes(range(32))).decode()
SID = "AC" + "0123456789abcdef" * 2


def twilio(**overrides: Any) -> dict[str, Any]:
    return {
        "carrier": "twilio",
        "name": "Twilio principal",
        "account_sid": SID,
        "auth_token": AUTH_TOKEN,
        **overrides,
    }


def telnyx(**overrides: Any) -> dict[str, Any]:
    return {
        "carrier": "telnyx",
        "name": "Telnyx",
        "api_key": API_KEY,
        "public_key": PUBLIC_KEY,
        "connection_id": "1494404757140276705",
        **overrides,
    }


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidAccountError) as caught:
        CarrierAccountCreate.model_validate(data).credentials()
    for secret in (AUTH_TOKEN, API_KEY):
        assert secret not in str(caught.value)
    return {p.field: p.message for p in caught.value.problems}


def test_a_twilio_account() -> None:
    account = CarrierAccountCreate.model_validate(twilio())
    assert account.calls_per_second == 1.0
    credentials = account.credentials()
    assert isinstance(credentials, TwilioCredentials)
    assert credentials.carrier is Carrier.TWILIO
    assert credentials.account_sid == SID
    assert credentials.auth_token.get_secret_value() == AUTH_TOKEN


def test_a_telnyx_account() -> None:
    account = CarrierAccountCreate.model_validate(telnyx(calls_per_second=2.5))
    assert account.calls_per_second == 2.5
    credentials = account.credentials()
    assert isinstance(credentials, TelnyxCredentials)
    assert credentials.api_key.get_secret_value() == API_KEY
    assert credentials.public_key == PUBLIC_KEY
    assert credentials.connection_id == "1494404757140276705"


def test_secrets_never_show_in_reprs_or_dumps() -> None:
    for data in (twilio(), telnyx()):
        account = CarrierAccountCreate.model_validate(data)
        credentials = account.credentials()
        for shown in (
            repr(account),
            str(account),
            account.model_dump_json(),
            repr(credentials),
            credentials.model_dump_json(),
            str(credentials.model_dump()),
        ):
            assert AUTH_TOKEN not in shown
            assert API_KEY not in shown


def test_missing_fields_are_named() -> None:
    assert _problems({"carrier": "twilio", "name": "x"}) == {
        "account_sid": "required",
        "auth_token": "required",
    }
    assert _problems({"carrier": "telnyx", "name": "x", "api_key": API_KEY}) == {
        "public_key": "required",
        "connection_id": "required",
    }


def test_the_other_carriers_fields_are_refused() -> None:
    problems = _problems(twilio(api_key=API_KEY, connection_id="1"))
    assert problems == {
        "api_key": "a twilio account does not take it",
        "connection_id": "a twilio account does not take it",
    }
    assert _problems(telnyx(auth_token=AUTH_TOKEN)) == {
        "auth_token": "a telnyx account does not take it"
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"account_sid": "AC123"}, "account_sid", "AC followed by 32 hex digits"),
        ({"account_sid": "XX" + "0" * 32}, "account_sid", "AC followed by 32 hex digits"),
        ({"auth_token": "short"}, "auth_token", "16 to 512 characters"),
        ({"auth_token": "x" * 513}, "auth_token", "16 to 512 characters"),
        ({"auth_token": "with a space inside it!"}, "auth_token", "without spaces"),
    ],
)
def test_bad_twilio_fields(overrides: dict[str, Any], field: str, message: str) -> None:
    problems = _problems(twilio(**overrides))
    assert list(problems) == [field]
    assert message in problems[field]
    if field == "auth_token":
        assert overrides[field] not in problems[field]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"public_key": "not base64!"}, "public_key", "not base64"),
        ({"public_key": base64.b64encode(bytes(16)).decode()}, "public_key", "is 16 bytes"),
        ({"api_key": "k" * 10}, "api_key", "16 to 512 characters"),
        ({"connection_id": "has space"}, "connection_id", "without spaces"),
    ],
)
def test_bad_telnyx_fields(overrides: dict[str, Any], field: str, message: str) -> None:
    problems = _problems(telnyx(**overrides))
    assert list(problems) == [field]
    assert message in problems[field]


@pytest.mark.parametrize("value", [0, 0.09, 100.5, float("inf"), float("nan"), -1])
def test_calls_per_second_is_bounded(value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        CarrierAccountCreate.model_validate(twilio(calls_per_second=value))
    assert [e["loc"] for e in caught.value.errors()] == [("calls_per_second",)]


@pytest.mark.parametrize("value", [0.1, 1, 100])
def test_calls_per_second_bounds_are_inclusive(value: float) -> None:
    assert CarrierAccountCreate.model_validate(twilio(calls_per_second=value)).calls_per_second


def test_an_unknown_carrier_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        CarrierAccountCreate.model_validate(twilio(carrier="vonage"))
    [error] = caught.value.errors()
    assert error["loc"] == ("carrier",)
    assert "'twilio' or 'telnyx'" in error["msg"]
    assert AUTH_TOKEN not in str(error.get("input"))  # the input is the carrier alone


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        CarrierAccountCreate.model_validate(twilio(name="   "))
    assert [e["loc"] for e in caught.value.errors()] == [("name",)]


# -- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+56229990000", "+56229990000"),
        ("+56 2 2999 0000", "+56229990000"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("  +34 912 345 678 ", "+34912345678"),
    ],
)
def test_numbers_read_into_e164(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("56229990000", "international form"),
        ("022999000", "international form"),
        ("+", "not a phone number"),
        ("+abc", "not a phone number"),
        ("+5622", "not a valid number"),
        ("+999123456789", "not a phone number"),
    ],
)
def test_bad_numbers(raw: str, message: str) -> None:
    with pytest.raises(InvalidNumberError, match=message):
        to_e164(raw)


def routing(**overrides: Any) -> dict[str, Any]:
    return {
        "number": "+56 2 2999 0000",
        "carrier_account_id": str(uuid.uuid4()),
        "agent": "cobranza-temprana",
        **overrides,
    }


def test_a_phone_number() -> None:
    created = PhoneNumberCreate.model_validate(
        routing(variables={"empresa": "Banco Sur", "monto": 120000, "vip": True, "tasa": 1.5})
    )
    assert created.number == "+56229990000"
    assert created.variables == {"empresa": "Banco Sur", "monto": 120000, "vip": True, "tasa": 1.5}
    assert PhoneNumberCreate.model_validate(routing()).variables == {}


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"number": "229990000"}, ("number",)),
        ({"number": "+5622"}, ("number",)),
        ({"carrier_account_id": "not-a-uuid"}, ("carrier_account_id",)),
        ({"agent": ""}, ("agent",)),
        ({"variables": {"": "x"}}, ("variables", "")),  # the key is the loc
        ({"variables": {"x": {"nested": 1}}}, ("variables", "x")),
        ({"variables": {f"v{i}": i for i in range(101)}}, ("variables",)),
    ],
)
def test_bad_phone_numbers_name_the_field(overrides: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        PhoneNumberCreate.model_validate(routing(**overrides))
    assert {e["loc"][: len(loc)] for e in caught.value.errors()} == {loc}


def test_a_routing_change_has_no_number() -> None:
    change = PhoneNumberRouting.model_validate(
        {k: v for k, v in routing().items() if k != "number"}
    )
    assert change.agent == "cobranza-temprana"


def test_a_routes_credentials_stay_secret() -> None:
    route = Route(
        number="+56229990000",
        tenant_id=str(uuid.uuid4()),
        agent="cobranza-temprana",
        variables={},
        account_id=str(uuid.uuid4()),
        account_name="Twilio principal",
        calls_per_second=1.0,
        credentials=TwilioCredentials(account_sid=SID, auth_token=AUTH_TOKEN),
    )
    assert AUTH_TOKEN not in repr(route)
    assert AUTH_TOKEN not in route.model_dump_json()
    assert isinstance(route.credentials, TwilioCredentials)
    assert route.credentials.auth_token.get_secret_value() == AUTH_TOKEN
