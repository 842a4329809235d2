"""Which adapter sends for a stored sender, and where the providers are reached."""

from __future__ import annotations

from dataclasses import dataclass

from centralita.kernel.settings import Settings
from centralita.messaging.meta_whatsapp import MetaWhatsApp
from centralita.messaging.models import SenderSecrets, status_callback_path
from centralita.messaging.sender import WhatsAppSender
from centralita.messaging.twilio_whatsapp import TwilioWhatsApp


@dataclass(frozen=True)
class ProviderEndpoints:
    """The providers' APIs (tests: local fakes) and our API's public address, where
    Twilio posts statuses (None: no status callback is asked for)."""

    twilio_api_base: str = "https://api.twilio.com"
    meta_api_base: str = "https://graph.facebook.com"
    meta_api_version: str = "v21.0"
    api_public_base: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderEndpoints:
        """The endpoints the settings name."""
        return cls(
            twilio_api_base=settings.twilio_api_base,
            meta_api_base=settings.whatsapp_meta_api_base,
            meta_api_version=settings.whatsapp_meta_api_version,
            api_public_base=settings.api_public_base,
        )

    def status_callback(self, sender: SenderSecrets) -> str | None:
        """The URL Twilio should post this sender's statuses to (None: not configured;
        Meta's webhook is set in the app's dashboard instead)."""
        if self.api_public_base is None or sender.provider != "twilio":
            return None
        return self.api_public_base.rstrip("/") + status_callback_path("twilio", sender.id)


def sender_for(sender: SenderSecrets, endpoints: ProviderEndpoints) -> WhatsAppSender:
    """The adapter that sends from `sender`."""
    if sender.provider == "twilio":
        assert sender.account_sid is not None
        assert sender.from_number is not None
        return TwilioWhatsApp(
            account_sid=sender.account_sid,
            auth_token=sender.secret.get_secret_value(),
            from_number=sender.from_number,
            api_base=endpoints.twilio_api_base,
        )
    assert sender.phone_number_id is not None
    return MetaWhatsApp(
        phone_number_id=sender.phone_number_id,
        access_token=sender.secret.get_secret_value(),
        api_base=endpoints.meta_api_base,
        api_version=endpoints.meta_api_version,
        template_name=sender.template_name,
        template_language=sender.template_language or "es",
    )
