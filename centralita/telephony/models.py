"""Carrier accounts, phone numbers and inbound routes: what is asked for, stored and
answered. Pure; no I/O.

A carrier account is a tenant's own Twilio or Telnyx account: its credentials (the
secrets, `auth_token` and `api_key`, are `SecretStr`: never in a repr or a log line, and
never answered by the API, which shows their last four characters at most), a name, and
the calls per second the carrier allows it. A phone number routes inbound calls: the
number (E.164, held by one tenant at most), the account it belongs to, the agent that
answers and default variables for that agent.

A secret's problems are reported without its value: `CarrierAccountCreate` takes the
secrets unconstrained and `credentials()` checks them, so no validation error can echo
one back (Pydantic's errors carry their input).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from centralita.telephony.numbers import to_e164
from centralita.telephony.signatures import SignatureError, telnyx_public_key

MIN_CALLS_PER_SECOND: Final = 0.1
MAX_CALLS_PER_SECOND: Final = 100.0
MIN_SECRET_CHARS: Final = 16
MAX_SECRET_CHARS: Final = 512
MAX_VARIABLES: Final = 100

# Twilio account SIDs: "AC" and 32 hex digits.
_ACCOUNT_SID: Final = re.compile(r"^AC[0-9a-fA-F]{32}$")
# Tokens, keys and ids travel in headers and URLs: printable ASCII, no spaces.
_PRINTABLE: Final = re.compile(r"^[\x21-\x7e]+$")


class Carrier(StrEnum):
    """The carriers an account may be of."""

    TWILIO = "twilio"
    TELNYX = "telnyx"


# Each carrier's credential fields; the others must be absent from its account.
CARRIER_FIELDS: Final[dict[Carrier, tuple[str, ...]]] = {
    Carrier.TWILIO: ("account_sid", "auth_token"),
    Carrier.TELNYX: ("api_key", "public_key", "connection_id"),
}
SECRET_FIELDS: Final = ("auth_token", "api_key")

AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CallsPerSecond = Annotated[
    float,
    Field(
        ge=MIN_CALLS_PER_SECOND,
        le=MAX_CALLS_PER_SECOND,
        allow_inf_nan=False,
        description="Calls the carrier lets this account start per second "
        f"({MIN_CALLS_PER_SECOND} to {MAX_CALLS_PER_SECOND:g}).",
    ),
]
AgentRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(description="The agent that answers: the tenant's own (GET /agents) or shipped."),
]
VariableName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
VariableValue = (
    Annotated[str, StringConstraints(max_length=1000)]
    | int
    | bool
    | Annotated[float, Field(allow_inf_nan=False)]
)
Variables = Annotated[
    dict[VariableName, VariableValue],
    Field(
        max_length=MAX_VARIABLES,
        description="Default variables for the agent; a caller who is a campaign contact "
        "adds their own.",
    ),
]


# -- accounts -------------------------------------------------------------------------


class FieldProblem(BaseModel):
    """One field of a request that is not right, and why (never its value)."""

    field: str
    message: str


class InvalidAccountError(ValueError):
    """A carrier account's fields do not make an account of its carrier."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class TwilioCredentials(BaseModel):
    """What places and verifies a Twilio account's calls."""

    model_config = ConfigDict(frozen=True)

    carrier: Literal[Carrier.TWILIO] = Carrier.TWILIO
    account_sid: str
    auth_token: SecretStr


class TelnyxCredentials(BaseModel):
    """What places and verifies a Telnyx account's calls."""

    model_config = ConfigDict(frozen=True)

    carrier: Literal[Carrier.TELNYX] = Carrier.TELNYX
    api_key: SecretStr
    public_key: str = Field(description="Base64 Ed25519 key that verifies its webhooks.")
    connection_id: str


Credentials = Annotated[TwilioCredentials | TelnyxCredentials, Field(discriminator="carrier")]


class CarrierAccountCreate(BaseModel):
    """A tenant's own carrier account. Twilio takes `account_sid` and `auth_token`;
    Telnyx takes `api_key`, `public_key` and `connection_id`. The secrets (`auth_token`,
    `api_key`) are never shown again: answers carry their last four characters."""

    carrier: Carrier
    name: AccountName
    calls_per_second: CallsPerSecond = 1.0
    account_sid: str | None = Field(
        default=None, max_length=64, description="Twilio: the account SID (AC + 32 hex)."
    )
    auth_token: SecretStr | None = Field(
        default=None, description="Twilio: the auth token; it also verifies Twilio's webhooks."
    )
    api_key: SecretStr | None = Field(default=None, description="Telnyx: the API v2 key.")
    public_key: str | None = Field(
        default=None,
        max_length=200,
        description="Telnyx: the account's public key (base64), which verifies its webhooks.",
    )
    connection_id: str | None = Field(
        default=None, max_length=128, description="Telnyx: the Call Control connection id."
    )

    def credentials(self) -> TwilioCredentials | TelnyxCredentials:
        """The account's credentials, checked.

        Raises:
            InvalidAccountError: a field of the carrier is missing or malformed, or a
                field of the other carrier is present; each problem names its field.
        """
        problems = [
            FieldProblem(field=name, message=f"a {self.carrier} account does not take it")
            for carrier, names in CARRIER_FIELDS.items()
            if carrier != self.carrier
            for name in names
            if getattr(self, name) is not None
        ]
        for name in CARRIER_FIELDS[self.carrier]:
            value = getattr(self, name)
            if value is None:
                problems.append(FieldProblem(field=name, message="required"))
                continue
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            problem = _field_problem(name, text)
            if problem is not None:
                problems.append(FieldProblem(field=name, message=problem))
        if problems:
            raise InvalidAccountError(problems)
        if self.carrier == Carrier.TWILIO:
            assert self.account_sid is not None
            assert self.auth_token is not None
            return TwilioCredentials(account_sid=self.account_sid, auth_token=self.auth_token)
        assert self.api_key is not None
        assert self.public_key is not None
        assert self.connection_id is not None
        return TelnyxCredentials(
            api_key=self.api_key,
            public_key=self.public_key.strip(),
            connection_id=self.connection_id,
        )


def _field_problem(name: str, text: str) -> str | None:
    """What is wrong with one credential field; the message never holds the value."""
    if name in SECRET_FIELDS:
        if not MIN_SECRET_CHARS <= len(text) <= MAX_SECRET_CHARS:
            return f"must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters"
        if not _PRINTABLE.fullmatch(text):
            return "must be printable ASCII without spaces"
        return None
    if name == "account_sid":
        return None if _ACCOUNT_SID.fullmatch(text) else "must be AC followed by 32 hex digits"
    if name == "public_key":
        try:
            telnyx_public_key(text)
        except SignatureError as exc:
            return str(exc)
        return None
    if not _PRINTABLE.fullmatch(text):  # connection_id
        return "must be printable ASCII without spaces"
    return None


class CarrierAccount(BaseModel):
    """A carrier account as answered: never a secret, only its last four characters."""

    id: str
    carrier: Carrier
    name: str
    calls_per_second: float
    account_sid: str | None = Field(description="Twilio accounts.")
    auth_token_hint: str | None = Field(description="Twilio: `****` and the token's last 4.")
    connection_id: str | None = Field(description="Telnyx accounts.")
    public_key: str | None = Field(description="Telnyx accounts.")
    api_key_hint: str | None = Field(description="Telnyx: `****` and the key's last 4.")
    phone_numbers: int = Field(description="How many of the tenant's numbers use it.")
    created_at: datetime


class CarrierAccountPage(BaseModel):
    """One page of carrier accounts and how many there are in all."""

    total: int
    items: list[CarrierAccount]


# -- numbers --------------------------------------------------------------------------


class PhoneNumberRouting(BaseModel):
    """Where a number's inbound calls go: replaced whole by a PUT."""

    carrier_account_id: uuid.UUID = Field(description="One of the tenant's carrier accounts.")
    agent: AgentRef
    variables: Variables = Field(default_factory=dict)


class PhoneNumberCreate(PhoneNumberRouting):
    """A number the tenant holds at its carrier, and where its inbound calls go."""

    number: str = Field(
        max_length=40, description="E.164 (+ and the country code); held by one tenant only."
    )

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        return to_e164(value)


class PhoneNumber(BaseModel):
    """A routed number as answered."""

    number: str
    carrier_account_id: str
    carrier: Carrier
    agent: str
    variables: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class PhoneNumberPage(BaseModel):
    """One page of numbers and how many there are in all."""

    total: int
    items: list[PhoneNumber]


class Route(BaseModel):
    """Who answers a dialled number: found by the number alone (the media worker's
    inbound webhook, before any tenant is known), with what verifies the carrier's
    request and places the call."""

    model_config = ConfigDict(frozen=True)

    number: str
    tenant_id: str
    agent: str
    variables: dict[str, Any]
    account_id: str
    account_name: str
    calls_per_second: float
    credentials: Credentials
