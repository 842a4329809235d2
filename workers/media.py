"""The media worker process: real conversations, their signalling, and the carrier.

The carrier lives here, not in the orchestrator, so calls and their dial log survive an
orchestrator crash; they are also kept in the database (`carrier_calls`), so a retry
after this process is killed gets an ended call's result, or rings a lost call once
more, never twice. A dialled number is rung, in this order: on the softphone that holds
it (HTTP signalling, `realtime/server/signalling.py`), else on a real phone through Twilio
when an account is configured (`twilio_account_sid`: the call streams back to this
worker's `/carrier/twilio/stream`), else through a SIP trunk when one is set
(`sip_trunk_host`: RTP straight to this worker, `realtime/server/sip_line.py`), else on
the simulated carrier's persona, whose
conversation script makes it a bot softphone. Softphones may also call the agents'
inbound numbers. Every conversation is a real WebRTC call with the agent (STT, flow,
TTS), recorded, and stored in `calls`, `call_turns` and `call_events` when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import uvicorn
from fastapi import APIRouter

from centralita.correction.online import OnlineCorrector
from centralita.kernel.calls import CallOutcome, Dialer, DialRequest, DialResult
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.key_ring import KeyRing
from centralita.kernel.settings import InvalidSettingsError, Settings
from centralita.kernel.temporal import connect_temporal
from centralita.knowledge.embeddings import embedder_for
from centralita.knowledge.retrieval import KnowledgeBase
from centralita.messaging.providers import ProviderEndpoints
from centralita.telephony.models import Credentials, Route
from centralita.telephony.store.accounts import account_credentials, get_account
from centralita.telephony.store.numbers import route_for_number
from realtime.agents.setup import flow_agent_for
from realtime.carrier.dial_store import DialStore
from realtime.carrier.simulated import PersonaBook, SimulatedCarrier, packaged_personas
from realtime.carrier.softphone_dialer import SoftphoneDialer
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.tenant_accounts import AccountDialers
from realtime.carrier.twilio import PhoneLineConfig, TwilioDialer
from realtime.carrier.twilio_rest import TwilioAccount, TwilioCalls
from realtime.conversation_line import CallParties, ConversationLine
from realtime.legs.webrtc import IceServer, restrict_ice_to_loopback
from realtime.providers import stt_choice
from realtime.providers.base import ProviderError, SpeechToText, TextToSpeech
from realtime.providers.espeak import EspeakTTS
from realtime.providers.kokoro import KokoroTTS
from realtime.providers.rendered_lines import CachedVoice
from realtime.providers.stt_choice import ChosenSTT
from realtime.server.app import create_media_app
from realtime.server.carrier_webhooks import twilio_webhook_router
from realtime.server.inbound import (
    InboundDirectory,
    InboundRoute,
    caller_lookup,
    tenant_caller_lookup,
)
from realtime.server.media_streams import media_stream_router
from realtime.server.phone_inbound import RouteLookup, twilio_inbound_router
from realtime.server.signalling import signalling_router
from realtime.server.sip_line import SipLine
from realtime.server.telnyx_inbound import telnyx_inbound_router
from realtime.server.telnyx_webhooks import telnyx_webhook_router
from realtime.session.pricing import Rates
from realtime.session.record import CallRecord
from realtime.session.tenant_dictionary import TenantDictionaries
from realtime.softphone.exchange import SoftphoneExchange
from realtime.store.agent_lookup import TenantAgents
from realtime.store.call_events import call_facts
from realtime.store.calls import save_call_retrying
from realtime.store.live_events import LiveEvents
from realtime.store.payment_links import TenantPaymentLinks
from realtime.store.tenant_tools import TenantTools
from workers.database import database_url
from workers.draining_server import DrainingServer
from workers.human_callback_starter import HumanCallbackStarter
from workers.inbound_opt_outs import InboundOptOuts, connect_once
from workers.media_membership import MediaMembership
from workers.post_call_starter import PostCallStarter

log = logging.getLogger(__name__)


def live_stt(settings: Settings) -> ChosenSTT:
    """The recogniser for live turns that `stt_live` chooses per language (embedded
    faster-whisper by default, or a hosted one), as the settings tune it.

    Raises:
        InvalidSettingsError: a configured model that cannot be served here.
    """
    return stt_choice.live_stt(settings)


def line_voice(settings: Settings) -> TextToSpeech:
    """The voice of agents without their own (`tts_voice`): espeak-ng or Kokoro."""
    if settings.tts_voice == "kokoro":
        return KokoroTTS(threads=settings.tts_threads)
    return EspeakTTS()


def knowledge_base(pool: Pool, settings: Settings) -> KnowledgeBase:
    """The tenants' knowledge bases, questions embedded by the model their documents were
    (`knowledge_embedder`; the local e5 model loads on the first question)."""
    return KnowledgeBase(pool, embedder_for(settings.knowledge_embedder))


def tenant_tools(pool: Pool, settings: Settings) -> TenantTools:
    """The tenants' own tools (HTTP, MCP), bound to each call by its tenant and agent;
    their URLs pass the webhooks' SSRF rules and allow-list."""
    return TenantTools(pool, settings.key_ring(), allow_hosts=settings.webhook_allow_hosts)


def payment_links(pool: Pool, settings: Settings) -> TenantPaymentLinks:
    """`send_payment_link` by WhatsApp, bound to each call whose tenant has a sender:
    the providers' APIs and the API's public address (Twilio's status callbacks) from
    the settings."""
    endpoints = ProviderEndpoints.from_settings(settings)
    return TenantPaymentLinks(pool, settings.key_ring(), endpoints=endpoints)


def conversation_line(
    settings: Settings,
    pool: Pool | None = None,
    *,
    stt: SpeechToText | None = None,
    tts: TextToSpeech | None = None,
    bot_tts: TextToSpeech | None = None,
    live: LiveEvents | None = None,
    post_call: PostCallStarter | None = None,
    opt_outs: InboundOptOuts | None = None,
    human_callbacks: HumanCallbackStarter | None = None,
    keep_finished: int = 0,
) -> ConversationLine:
    """The embedded voice stack: faster-whisper, the shipped flows, espeak-ng voices.

    `stt`, `tts` and `bot_tts` replace the recogniser, the agent's voice and the bot
    softphones' voice (a benchmark's scripted ones). The line keeps nothing of an ended
    call (each is stored when it ends) unless `keep_finished` asks for the records of
    the last few (tests read them).
    """
    restrict_ice_to_loopback(settings.webrtc_loopback_only)

    async def store(
        request: DialRequest, record: CallRecord, result: DialResult, parties: CallParties
    ) -> None:
        if pool is not None:
            if live is not None:
                # The call's last live events (its last turn_completed) take their
                # places in the webhook outbox before the call_ended that storing records.
                await live.flush()
            # Retried while Postgres is unreachable (a restart): nothing else holds
            # the call's record, and the dial's result waits for it meanwhile.
            await save_call_retrying(
                pool,
                request,
                record,
                result,
                direction=parties.direction,
                from_number=parties.from_number,
            )
            inbound = parties.direction == "inbound"
            if opt_outs is not None and inbound and result.outcome is CallOutcome.OPT_OUT:
                await opt_outs.tell_campaigns(request.idempotency_key, parties.from_number)
            if post_call is not None and inbound:
                await post_call.start(request.idempotency_key)

    def opened(request: DialRequest, parties: CallParties) -> None:
        if live is not None:
            live.open_call(
                request.idempotency_key, call_facts(request, parties.direction, parties.from_number)
            )

    return ConversationLine(
        # The call's tenant's stored agent, else the shipped one, when there is a database.
        # (and the tenant's knowledge base, for agents that answer questions from it)
        agent_for=(
            TenantAgents(
                pool,
                knowledge=knowledge_base(pool, settings),
                tools=tenant_tools(pool, settings),
                payment_links=payment_links(pool, settings),
                callbacks=human_callbacks.start if human_callbacks is not None else None,
            ).setup_for_call
            if pool is not None
            else flow_agent_for
        ),
        stt=stt or live_stt(settings),
        tts=tts or line_voice(settings),
        bot_tts=bot_tts or EspeakTTS(speed_wpm=140),  # see tests/e2e/test_conversations.py
        corrector=OnlineCorrector(),
        # The tenant's approved pairs on top of the defaults, when there is a database.
        corrector_for=TenantDictionaries(pool).for_call if pool is not None else None,
        ice_servers=[IceServer.model_validate(s) for s in settings.ice_servers],
        rates=Rates.model_validate(settings.rates),
        on_call_ended=store,
        recordings_dir=settings.effective_recordings_dir if settings.record_calls else None,
        on_event=live.publish if live is not None else None,
        on_call_opened=opened,
        keep_finished=keep_finished,
    )


def simulated_carrier(settings: Settings, line: ConversationLine) -> SimulatedCarrier:
    """The simulated carrier playing the configured personas (the packaged demo set if unset)."""
    book = PersonaBook.load(settings.carrier_personas or packaged_personas())
    # It keeps nothing of an ended call: the carrier service in front of it (the dial
    # store, or its own memory without a database) answers for ended calls.
    return SimulatedCarrier(book.personas, line=line, keep_finished=0)


def twilio_dialer(
    settings: Settings, line: ConversationLine, broker: StreamBroker
) -> TwilioDialer | None:
    """The dialer ringing real phones through the configured Twilio account, if any.

    Raises:
        InvalidSettingsError: an account is named but something it needs is missing.
    """
    if settings.twilio_account_sid is None:
        return None
    needed = {
        "CENTRALITA_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "CENTRALITA_PHONE_PUBLIC_BASE": settings.phone_public_base,
        "CENTRALITA_PHONE_FROM_NUMBERS": settings.phone_from_numbers,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing or settings.twilio_auth_token is None or settings.phone_public_base is None:
        raise InvalidSettingsError(
            [f"{name} is required with CENTRALITA_TWILIO_ACCOUNT_SID" for name in missing]
        )
    account = TwilioAccount(
        settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base
    )
    config = PhoneLineConfig(
        public_base=settings.phone_public_base,
        from_numbers=tuple(settings.phone_from_numbers),
        ring_timeout_s=settings.phone_ring_timeout_s,
        calls_per_second=settings.phone_calls_per_second,
        transfer_to=settings.phone_transfer_to,
        transfer_mode=settings.phone_transfer_mode,
    )
    return TwilioDialer(TwilioCalls(account), config, line, broker)


def phone_routes(pool: Pool, keys: KeyRing) -> RouteLookup:
    """Who answers a dialled phone number, from the routing table (any tenant's); `keys`
    opens the account's stored secret."""

    async def lookup(number: str) -> Route | None:
        async with pool.connection() as conn:
            return await route_for_number(conn, keys, number)

    return lookup


def tenant_dialers(
    settings: Settings,
    pool: Pool | None,
    line: ConversationLine,
    broker: StreamBroker,
    carrier: Dialer,
) -> AccountDialers | None:
    """Calls placed on the tenants' own carrier accounts (their campaigns name one), the
    others on `carrier`; None without a database or a public address to stream to."""
    if pool is None or settings.phone_public_base is None:
        return None
    keys = settings.key_ring()

    async def credentials(tenant_id: str, account_id: str) -> tuple[Credentials, float] | None:
        async with pool.connection() as conn:
            secrets = await account_credentials(conn, keys, tenant_id, account_id)
            account = await get_account(conn, tenant_id, account_id)
        if secrets is None or account is None:
            return None
        return secrets, account.calls_per_second

    config = PhoneLineConfig(
        public_base=settings.phone_public_base,
        from_numbers=tuple(settings.phone_from_numbers),
        ring_timeout_s=settings.phone_ring_timeout_s,
        calls_per_second=settings.phone_calls_per_second,
        transfer_to=settings.phone_transfer_to,
        transfer_mode=settings.phone_transfer_mode,
    )
    return AccountDialers(
        credentials,
        line,
        broker,
        config,
        twilio_api_base=settings.twilio_api_base,
        telnyx_api_base=settings.telnyx_api_base,
        fallback=carrier,
    )


@dataclass
class MediaParts:
    """What the media app is made of: the dialer behind `/carrier`, the signalling, and
    the carriers' media stream and webhook routes."""

    dialer: SoftphoneDialer
    signalling: APIRouter
    live: LiveEvents | None = None  # flushed and closed at shutdown
    carrier_routes: list[APIRouter] = field(default_factory=list)
    phone: TwilioDialer | None = None  # closed at shutdown
    sip: SipLine | None = None  # started with the server, closed at shutdown
    line: ConversationLine | None = None  # its calls in progress are the worker's load


def media_parts(
    settings: Settings,
    pool: Pool | None = None,
    *,
    stt: SpeechToText | None = None,
    tts: TextToSpeech | None = None,
    bot_tts: TextToSpeech | None = None,
) -> MediaParts:
    """Softphones first, then the simulated carrier, over one conversation line."""
    live = LiveEvents(pool) if pool is not None else None
    temporal = connect_once(lambda: connect_temporal(settings))
    post_call = (
        PostCallStarter(temporal, settings.post_call_task_queue)
        if pool is not None and settings.post_call
        else None
    )
    line = conversation_line(
        settings,
        pool,
        stt=stt,
        tts=tts,
        bot_tts=bot_tts,
        live=live,
        post_call=post_call,
        opt_outs=InboundOptOuts(temporal, pool) if pool is not None else None,
        # A person's callback, when nobody took a handed-off call in time: its durable
        # workflow runs on the orchestrator's queue.
        human_callbacks=(
            HumanCallbackStarter(temporal, settings.task_queue) if pool is not None else None
        ),
    )
    exchange = SoftphoneExchange()
    broker = StreamBroker()
    phone = twilio_dialer(settings, line, broker)
    # The ring is read once, here: the lookups open the tenants' stored carrier secrets.
    numbers = phone_routes(pool, settings.key_ring()) if pool is not None else None
    sip = SipLine.from_settings(
        settings,
        line,
        routes=numbers,
        caller_variables=tenant_caller_lookup(pool) if pool is not None else None,
    )
    carrier: Dialer = phone or sip or simulated_carrier(settings, line)
    accounts = tenant_dialers(settings, pool, line, broker, carrier)
    dialer = SoftphoneDialer(
        exchange,
        line,
        fallback=accounts or carrier,
        ring_timeout_s=settings.softphone_ring_timeout_s,
    )
    routes = {n: InboundRoute.model_validate(r) for n, r in settings.inbound_numbers.items()}
    directory = InboundDirectory(routes, caller_lookup(pool) if pool is not None else None)
    carrier_routes = [media_stream_router(broker)]
    if accounts is not None:
        carrier_routes.append(twilio_webhook_router(accounts.twilio_dialer))
        carrier_routes.append(telnyx_webhook_router(accounts.telnyx_dialer))
    elif phone is not None:
        carrier_routes.append(twilio_webhook_router(phone))
    if pool is not None and numbers is not None and settings.phone_public_base is not None:
        # Calls to the tenants' routed numbers (their own carrier accounts).
        inbound = twilio_inbound_router(
            line, broker, numbers, settings.phone_public_base, tenant_caller_lookup(pool)
        )
        carrier_routes.append(inbound)
        carrier_routes.append(
            telnyx_inbound_router(
                line,
                broker,
                numbers,
                settings.phone_public_base,
                tenant_caller_lookup(pool),
            )
        )
    signalling = signalling_router(line, exchange, directory)
    return MediaParts(dialer, signalling, live, carrier_routes, phone, sip, line)


async def _warm_up(stt: ChosenSTT, voice: TextToSpeech | None) -> None:
    try:
        await stt.warm_up()
    except ProviderError as exc:  # calls will report it; the carrier keeps serving
        log.error("speech models could not be loaded: %s", exc)
    inner = voice.inner if isinstance(voice, CachedVoice) else voice
    if isinstance(inner, KokoroTTS):  # a neural voice's first run is several times slower
        try:
            await inner.warm_up("es")
            await inner.warm_up("en")
        except ProviderError as exc:
            log.error("the Kokoro voice could not be loaded: %s", exc)


async def run_media(
    settings: Settings, *, host: str | None = None, port: int | None = None
) -> None:
    """Serve the media worker until SIGINT/SIGTERM, then drain its calls and stop."""
    pool = await open_pool(database_url(settings), min_size=0, max_size=4)
    line_stt = live_stt(settings)
    parts = media_parts(settings, pool, stt=line_stt)
    line = parts.line
    membership = MediaMembership.for_settings(
        settings,
        pool,
        port=port,
        load=(lambda: line.calls_in_progress) if line is not None else (lambda: 0),
    )
    config = uvicorn.Config(
        create_media_app(
            parts.dialer,
            signalling=parts.signalling,
            dial_store=DialStore(pool),
            admin_api_key=settings.admin_api_key,
            routers=parts.carrier_routes,
        ),
        host=host or settings.media_host,
        port=port or settings.media_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Long-polling dialers would hold a graceful shutdown for their whole poll.
        timeout_graceful_shutdown=3,
    )
    # Load the speech models while the server starts, so the first call's first turn
    # does not pay for them (joining the base model and loading: about a second).
    warming = asyncio.create_task(_warm_up(line_stt, line.tts if line is not None else None))
    if parts.sip is not None:
        await parts.sip.start()
        membership.on_drain.append(parts.sip.stop_taking_calls)
    if settings.media_placement:
        membership.start()
    try:
        await DrainingServer(config, membership.drain).serve()
    finally:
        warming.cancel()
        if parts.sip is not None:
            await parts.sip.aclose()
        if parts.live is not None:
            await parts.live.close()
        if parts.phone is not None:
            await parts.phone.calls.aclose()
        await pool.close()
