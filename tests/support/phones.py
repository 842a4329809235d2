"""The media worker ringing phones through a local fake Twilio, for the phone tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from realtime.carrier.simulated import Persona
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.twilio import PhoneLineConfig, TwilioDialer
from realtime.carrier.twilio_rest import TwilioAccount, TwilioCalls
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.server.carrier_webhooks import twilio_webhook_router
from realtime.server.media_streams import media_stream_router
from realtime.softphone.script import BotScript
from tests.support.fakes.phone_caller import PhoneCaller, PhoneCallReport
from tests.support.fakes.twilio_server import FakeCall, FakeTwilio
from tests.support.servers import free_port, serving

FROM_NUMBER = "+56229990000"
# The callers speak slower than over WebRTC (140 wpm): the phone's 8 kHz band costs
# Whisper base the consonants espeak-ng already blurs ("doscientos" is heard as "no
# siento" at 140 wpm, as "loscientos", which the live dictionary corrects, at 120).
CALLER_WPM = 120


@dataclass
class Phones:
    """The media worker's Twilio dialer, the fake Twilio, and what the callers reported."""

    dialer: TwilioDialer
    twilio: FakeTwilio
    line: ConversationLine
    media_base: str
    reports: dict[str, PhoneCallReport] = field(default_factory=dict)

    def calls_to(self, number: str) -> list[FakeCall]:
        """The fake account's calls to `number`, in order."""
        return [c for c in self.twilio.calls if c.to == number]


@asynccontextmanager
async def twilio_phones(
    personas: list[Persona],
    line: ConversationLine,
    *,
    ring_timeout_s: int = 15,
    calls_per_second: float = 100.0,
    **line_options: Any,
) -> AsyncIterator[Phones]:
    """A fake Twilio playing `personas`, and the media worker's routes ringing through it
    (`line_options`: more `PhoneLineConfig` fields)."""
    reports: dict[str, PhoneCallReport] = {}
    bot_tts = EspeakTTS(speed_wpm=CALLER_WPM)

    async def media_caller(
        url: str, parameters: dict[str, str], script: BotScript, call: FakeCall
    ) -> PhoneCallReport:
        caller = PhoneCaller(
            script,
            bot_tts,
            dialect="twilio",
            parameters=parameters,
            call_sid=call.sid,
            account_sid=twilio.account_sid,
        )
        report = await caller.run(url)
        reports[parameters.get("call_key", call.sid)] = report
        return report

    twilio = FakeTwilio(personas, bot_tts=bot_tts, media_caller=media_caller)
    media_port = free_port()
    media_base = f"http://127.0.0.1:{media_port}"
    async with serving(twilio.app) as twilio_base:
        account = TwilioAccount(twilio.account_sid, SecretStr(twilio.auth_token), twilio_base)
        broker = StreamBroker()
        config = PhoneLineConfig(
            public_base=media_base,
            from_numbers=(FROM_NUMBER,),
            ring_timeout_s=ring_timeout_s,
            calls_per_second=calls_per_second,
            **line_options,  # transfer_to, transfer_mode...
        )
        dialer = TwilioDialer(TwilioCalls(account), config, line, broker)
        app = create_media_app(
            None, routers=[media_stream_router(broker), twilio_webhook_router(dialer)]
        )
        try:
            async with serving(app, media_port):
                yield Phones(dialer, twilio, line, media_base, reports)
        finally:
            await dialer.calls.aclose()
            await twilio.aclose()
