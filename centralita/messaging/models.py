"""A tenant's WhatsApp senders and the messages they sent: as asked for, stored and
answered. Pure; no I/O.

A sender is the tenant's own business number at a provider: Twilio (`account_sid`,
`auth_token`, `from_number`) or Meta's Cloud API (`phone_number_id`, `access_token`,
`app_secret`, `verify_token`, and optionally an approved `template_name`). Secrets are
`SecretStr`, taken unconstrained and checked by `checked()`, so no validation error can
echo one (Pydantic's errors carry their input); answers show `secret_hint` only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from centralita.telephony.models import FieldProblem
from centralita.telephony.numbers import InvalidNumberError, to_e164

Provider = Literal["twilio", "meta"]
MIN_SECRET_CHARS: Final = 16
MAX_SECRET_CHARS: Final = 512

# Each provider's fields; the other provider's must be absent.
PROVIDER_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "twilio": ("account_sid", "auth_token", "from_number"),
    "meta": ("phone_number_id", "access_token", "app_secret", "verify_token"),
}
OPTIONAL_META_FIELDS: Final = ("template_name", "template_language")
SECRET_FIELDS: Final = ("auth_token", "access_token", "app_secret", "verify_token")
_ACCOUNT_SID: Final = re.compile(r"^AC[0-9a-fA-F]{32}$")
_PRINTABLE: Final = re.compile(r"^[\x21-\x7e]+$")
_DIGITS: Final = re.compile(r"^[0-9]{1,30}$")

SenderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ToolName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$"),
    Field(description="The tenant's tool (HTTP or MCP) that creates a payment link."),
]


class InvalidSenderError(ValueError):
    """A sender's fields do not make a sender of its provider."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class SenderCreate(BaseModel):
    """A tenant's WhatsApp sender. Twilio takes `account_sid`, `auth_token` and
    `from_number` (a WhatsApp-enabled number of the account); Meta takes
    `phone_number_id`, `access_token`, `app_secret` (signs its webhooks) and
    `verify_token` (answers its subscription check), and optionally `template_name` /
    `template_language` (an approved template whose body takes the name and the link).
    Secrets are never answered: `secret_hint` shows the token's last four characters."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    name: SenderName
    payment_link_tool: ToolName | None = None
    account_sid: str | None = Field(default=None, max_length=64, description="Twilio.")
    auth_token: SecretStr | None = Field(default=None, description="Twilio.")
    from_number: str | None = Field(default=None, max_length=40, description="Twilio: E.164.")
    phone_number_id: str | None = Field(default=None, max_length=40, description="Meta.")
    access_token: SecretStr | None = Field(default=None, description="Meta.")
    app_secret: SecretStr | None = Field(default=None, description="Meta.")
    verify_token: SecretStr | None = Field(default=None, description="Meta.")
    template_name: str | None = Field(default=None, max_length=512, description="Meta.")
    template_language: str | None = Field(
        default=None, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", description="Meta, e.g. es or en_US."
    )

    def checked(self) -> SenderCreate:
        """This sender with `from_number` in E.164.

        Raises:
            InvalidSenderError: a field of the provider is missing or malformed, or a
                field of the other provider is present; each problem names its field.
        """
        foreign = [n for p, names in PROVIDER_FIELDS.items() if p != self.provider for n in names]
        if self.provider == "twilio":
            foreign += list(OPTIONAL_META_FIELDS)
        problems = [
            FieldProblem(field=n, message=f"a {self.provider} sender does not take it")
            for n in foreign
            if getattr(self, n) is not None
        ]
        for name in PROVIDER_FIELDS[self.provider]:
            value = getattr(self, name)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            problem = "required" if text is None else _field_problem(name, text)
            if problem is not None:
                problems.append(FieldProblem(field=name, message=problem))
        if problems:
            raise InvalidSenderError(problems)
        if self.from_number is None:
            return self
        return self.model_copy(update={"from_number": to_e164(self.from_number)})

    def secret(self) -> str:
        """The token that sends (Twilio's auth token, Meta's access token)."""
        token = self.auth_token if self.provider == "twilio" else self.access_token
        assert token is not None  # checked() required it
        return token.get_secret_value()


def _field_problem(name: str, text: str) -> str | None:
    """What is wrong with one field; the message never holds the value."""
    if name in SECRET_FIELDS:
        if not MIN_SECRET_CHARS <= len(text) <= MAX_SECRET_CHARS:
            return f"must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters"
        return None if _PRINTABLE.fullmatch(text) else "must be printable ASCII without spaces"
    if name == "account_sid":
        return None if _ACCOUNT_SID.fullmatch(text) else "must be AC followed by 32 hex digits"
    if name == "phone_number_id":
        return None if _DIGITS.fullmatch(text) else "must be the number's id: digits only"
    try:  # from_number
        to_e164(text)
    except InvalidNumberError as exc:
        return str(exc)
    return None


class SenderUpdate(BaseModel):
    """What may change on a sender: its name, its link tool (null: none), and a Meta
    sender's template (null: plain text). Credentials do not change: add a new sender."""

    model_config = ConfigDict(extra="forbid")

    name: SenderName | None = None
    payment_link_tool: ToolName | None = None
    template_name: str | None = Field(default=None, min_length=1, max_length=512)
    template_language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")

    def changes(self, provider: str) -> dict[str, str | None]:
        """The columns to set, by name.

        Raises:
            InvalidSenderError: a null name, or a template for a Twilio sender.
        """
        changes = {name: getattr(self, name) for name in sorted(self.model_fields_set)}
        problems = (
            [FieldProblem(field="name", message="may not be null")]
            if ("name" in changes and changes["name"] is None)
            else []
        )
        if provider == "twilio":
            problems += [
                FieldProblem(field=n, message="a twilio sender does not take it")
                for n in OPTIONAL_META_FIELDS
                if changes.get(n) is not None
            ]
        if problems:
            raise InvalidSenderError(problems)
        return changes


class Sender(BaseModel):
    """A sender as answered: never a secret, only the sending token's last four."""

    id: str
    provider: Provider
    name: str
    payment_link_tool: str | None
    account_sid: str | None = Field(description="Twilio senders.")
    from_number: str | None = Field(description="Twilio senders.")
    phone_number_id: str | None = Field(description="Meta senders.")
    template_name: str | None = Field(description="Meta senders.")
    template_language: str | None = Field(description="Meta senders.")
    secret_hint: str = Field(description="`****` and the auth/access token's last 4.")
    status_callback_path: str = Field(
        description="Where the provider posts delivery statuses, under the API's public "
        "address (Twilio: sent with each message; Meta: set it as the app's webhook)."
    )
    created_at: datetime


class SenderPage(BaseModel):
    """One page of senders and how many there are in all."""

    total: int
    items: list[Sender]


class SenderSecrets(BaseModel):
    """A sender with its secrets opened: for the code that sends and verifies only."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: Provider
    account_sid: str | None
    from_number: str | None
    phone_number_id: str | None
    template_name: str | None
    template_language: str | None
    payment_link_tool: str | None
    secret: SecretStr
    app_secret: SecretStr | None
    verify_token: SecretStr | None


class StatusChange(BaseModel):
    """One status a provider reported for a message."""

    status: str
    error_code: str | None
    error_message: str | None
    occurred_at: datetime
    received_at: datetime


class Message(BaseModel):
    """A message sent, with every status reported for it, oldest first."""

    id: str
    sender_id: str | None
    provider: Provider
    provider_message_id: str
    call_key: str | None
    contact_phone: str
    purpose: str
    link_id: str | None
    link_url: str | None
    body: str
    status: str
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    statuses: list[StatusChange]


class MessagePage(BaseModel):
    """One page of messages, newest first, and how many there are in all."""

    total: int
    items: list[Message]


def status_callback_path(provider: str, sender_id: str) -> str:
    """The API path a sender's provider posts statuses to."""
    if provider == "twilio":
        return f"/messaging/twilio/status/{sender_id}"
    return f"/messaging/meta/webhook/{sender_id}"
