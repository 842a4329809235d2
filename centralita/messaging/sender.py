"""What sending one WhatsApp message takes and gives, whatever the provider.

A provider adapter implements `WhatsAppSender.send`; a refusal comes back as
`SendError` carrying the provider's own code and message (never a credential), and
`retryable` for the failures worth another try (a timeout, 429, 5xx).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    """One text to one person.

    Attributes:
        to: the person's number, E.164.
        body: the text, as sent when no template is used.
        template_parameters: the values of a template's body placeholders, in order (Meta
            senders with a template: the business may open a conversation only with one).
        status_callback: where the provider should post this message's delivery
            statuses (Twilio takes it per message; Meta's webhook is set in its app).
    """

    to: str
    body: str
    template_parameters: tuple[str, ...] = ()
    status_callback: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """The provider took the message: its id and first status (`queued`, `accepted`)."""

    provider_message_id: str
    status: str
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


class SendError(Exception):
    """The provider refused or could not be reached.

    Attributes:
        code: the provider's error code (`21211`, `131030`, `190`) or ours
            (`unreachable`, `bad_response`).
        http_status: the provider's answer's status (None: no answer).
        retryable: a timeout, 408, 429 or 5xx: another try may work.
    """

    def __init__(
        self, code: str, message: str, *, http_status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.retryable = retryable


class WhatsAppSender(Protocol):
    """Sends WhatsApp messages from one business number."""

    @property
    def provider(self) -> str:
        """The provider's name (`twilio`, `meta`)."""
        ...

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Hand the message to the provider.

        Raises:
            SendError: refused, or the provider did not answer.
        """
        ...


def is_retryable_status(status: int) -> bool:
    """408, 429 and 5xx may pass on another try; other 4xx will not."""
    return status in (408, 429) or status >= 500
