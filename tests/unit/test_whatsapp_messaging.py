"""WhatsApp messaging's pure parts: the providers' status reports and signatures, the
Cloud API's message body, a sender's checks, and the payment link's text."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from centralita.messaging.meta_whatsapp import MetaWhatsApp
from centralita.messaging.models import InvalidSenderError, SenderCreate
from centralita.messaging.payment_links import LinkCreationError, link_of, message_text
from centralita.messaging.sender import OutgoingMessage
from centralita.messaging.status_reports import (
    InvalidReportError,
    advances,
    meta_challenge,
    meta_reports,
    meta_signature,
    twilio_report,
    verify_meta,
)
from centralita.telephony.signatures import verify_twilio

pytestmark = pytest.mark.unit

APP_SECRET = "meta-app-secret-unit-0001"
TOKEN = "twilio-auth-token-unit-0001"


def _meta_body(*statuses: dict[str, object]) -> dict[str, object]:
    value = {"messaging_product": "whatsapp", "statuses": list(statuses)}
    return {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}


def test_meta_signature_is_the_hmac_of_the_raw_body() -> None:
    body = json.dumps(_meta_body({"id": "wamid.1", "status": "sent"})).encode()
    header = meta_signature(APP_SECRET, body)
    assert header.startswith("sha256=")
    assert verify_meta(APP_SECRET, body, header)
    assert verify_meta(APP_SECRET, body, header.upper().replace("SHA256=", "sha256="))
    assert not verify_meta(APP_SECRET, body + b" ", header)
    assert not verify_meta("another-secret", body, header)
    assert not verify_meta(APP_SECRET, body, None)
    assert not verify_meta(APP_SECRET, body, "")


def test_meta_subscription_echoes_the_challenge_only_for_our_token() -> None:
    ok = {"hub.mode": "subscribe", "hub.verify_token": "tok-123", "hub.challenge": "1158201444"}
    assert meta_challenge(ok, "tok-123") == "1158201444"
    assert meta_challenge({**ok, "hub.verify_token": "tok-124"}, "tok-123") is None
    assert meta_challenge({**ok, "hub.mode": "unsubscribe"}, "tok-123") is None
    assert (
        meta_challenge({"hub.mode": "subscribe", "hub.verify_token": "tok-123"}, "tok-123") is None
    )


def test_meta_reports_read_every_status_and_its_error() -> None:
    body = _meta_body(
        {"id": "wamid.A", "status": "delivered", "timestamp": "1764900000", "recipient_id": "569"},
        {
            "id": "wamid.B",
            "status": "failed",
            "timestamp": "1764900001",
            "errors": [{"code": 131047, "title": "Re-engagement message", "message": "24h"}],
        },
    )
    first, second = meta_reports(body)
    assert first.provider_message_id == "wamid.A"
    assert first.status == "delivered"
    assert first.occurred_at == datetime.fromtimestamp(1764900000, UTC)
    assert first.error_code is None
    assert (second.status, second.error_code, second.error_message) == ("failed", "131047", "24h")


def test_meta_reports_leave_out_incoming_messages_and_refuse_what_is_no_webhook() -> None:
    incoming = {"entry": [{"changes": [{"value": {"messages": [{"id": "wamid.in"}]}}]}]}
    assert meta_reports(incoming) == []
    with pytest.raises(InvalidReportError):
        meta_reports({"object": "page"})
    with pytest.raises(InvalidReportError):
        meta_reports(_meta_body({"status": "sent"}))


def test_twilio_report_and_signature_from_twilios_own_validator() -> None:
    url = "https://api.example.com/messaging/twilio/status/abc"
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "undelivered", "ErrorCode": "30008"}
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    assert verify_twilio(TOKEN, url, form, signature)
    assert not verify_twilio(TOKEN, url, {**form, "MessageStatus": "delivered"}, signature)
    report = twilio_report(form)
    assert (report.status, report.error_code) == ("undelivered", "30008")
    with pytest.raises(InvalidReportError):
        twilio_report({"MessageStatus": "sent"})


@pytest.mark.parametrize(
    ("current", "reported", "moves"),
    [
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "sent", False),  # a late `sent` does not undo `delivered`
        ("read", "delivered", False),
        ("accepted", "failed", True),
        ("delivered", "delivered", False),
    ],
)
def test_a_status_only_moves_forward(current: str, reported: str, moves: bool) -> None:
    assert advances(current, reported) is moves


def test_the_cloud_api_body_is_text_with_a_preview_or_the_senders_template() -> None:
    message = OutgoingMessage(to="+56987654321", body="Hola", template_parameters=("María", "u"))
    text = MetaWhatsApp(phone_number_id="1", access_token="t").payload(message)
    assert text == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "56987654321",
        "type": "text",
        "text": {"body": "Hola", "preview_url": True},
    }
    template = MetaWhatsApp(
        phone_number_id="1", access_token="t", template_name="link_pago", template_language="es"
    ).payload(message)
    assert template["type"] == "template"
    assert template["template"]["name"] == "link_pago"
    assert template["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "María"},
        {"type": "text", "text": "u"},
    ]


def test_a_senders_problems_name_their_fields_and_never_echo_a_secret() -> None:
    short = "short-secret"
    body = SenderCreate(
        provider="meta",
        name="x",
        phone_number_id="12ab",
        access_token=SecretStr(short),
        account_sid="AC" + "0" * 32,
    )
    with pytest.raises(InvalidSenderError) as caught:
        body.checked()
    fields = {p.field for p in caught.value.problems}
    assert fields == {
        "account_sid",
        "phone_number_id",
        "access_token",
        "app_secret",
        "verify_token",
    }
    assert short not in str(caught.value)


def test_a_twilio_senders_number_is_kept_in_e164() -> None:
    body = SenderCreate(
        provider="twilio",
        name="x",
        account_sid="AC" + "0" * 32,
        auth_token=SecretStr("t" * 32),
        from_number="+56 2 2999 0001",
    )
    assert body.checked().from_number == "+56229990001"


def test_the_text_is_in_the_calls_language_and_greets_by_name() -> None:
    url = "https://pagos.example/l/abc"
    assert message_text("es-CL", "María", url) == f"Hola María, este es su link de pago: {url}"
    assert message_text("en-US", "Mary", url) == f"Hello Mary, this is your payment link: {url}"
    assert message_text("es", None, url) == f"Hola, este es su link de pago: {url}"


def test_the_link_is_read_from_the_tools_usual_keys() -> None:
    assert link_of({"id": "pl_1", "url": "https://p.example/1"}) == ("pl_1", "https://p.example/1")
    assert link_of({"payment_url": "https://p.example/2"}) == (None, "https://p.example/2")
    with pytest.raises(LinkCreationError):
        link_of({"url": "javascript:alert(1)"})
    with pytest.raises(LinkCreationError):
        link_of({"ok": True})
