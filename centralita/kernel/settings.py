"""One settings class for every process, read from `CENTRALITA_*` variables and `.env`.

List and mapping settings take JSON from the environment, and the simple ones also a
shorter form: a list as comma-separated items (`127.0.0.1,localhost`), a flat mapping as
comma-separated `key=value` pairs (`stt_per_min=0.006,call_per_min=0.01`). Anything
unreadable is refused with one line naming the variable and the form it expects;
`get_settings` gathers those lines in an `InvalidSettingsError`, which the CLI prints
instead of a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from centralita.kernel.addresses import parse_allow_hosts
from centralita.kernel.durations import parse_schedule
from centralita.kernel.key_ring import KeyRing, KeyRingError
from centralita.kernel.stt_specs import parse_stt_map

ENV_PREFIX = "CENTRALITA_"


def _json(text: str, kind: type, example: str, shorter: str | None) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        value = exc
    if isinstance(value, kind):
        return value
    what = "a JSON list" if kind is list else "a JSON object"
    also = f", or {shorter}" if shorter else ""
    problem = (
        f"not valid JSON ({value.msg} at character {value.pos})"
        if isinstance(value, json.JSONDecodeError)
        else f"got {type(value).__name__}"
    )
    raise ValueError(f"expected {what}, e.g. {example}{also}; {problem}")


def _env_list(example: str, *, items: bool = True) -> Callable[[Any], Any]:
    """Read a list given as a string: JSON, or (with `items`) comma-separated items."""
    shorter = "comma-separated items (a,b)" if items else None

    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return []
        if text.startswith("[") or not items:
            return _json(text, list, example, shorter)
        return [item.strip() for item in text.split(",") if item.strip()]

    return read


def _env_mapping(example: str, *, pairs: bool = True) -> Callable[[Any], Any]:
    """Read a mapping given as a string: JSON, or (with `pairs`) `key=value,key=value`."""
    shorter = "comma-separated key=value pairs" if pairs else None

    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if text.startswith("{") or not pairs:
            return _json(text, dict, example, shorter)
        mapping: dict[str, str] = {}
        for pair in (p for p in text.split(",") if p.strip()):
            key, equals, item = pair.partition("=")
            if not equals or not key.strip():
                raise ValueError(
                    f"expected a JSON object, e.g. {example}, or {shorter}; "
                    f"{pair.strip()!r} is not key=value"
                )
            mapping[key.strip()] = item.strip()
        return mapping

    return read


# NoDecode: the environment's string reaches these validators as it is, instead of
# pydantic-settings' JSON decoding, which failed with a traceback that named no variable.
ListOfHosts = Annotated[
    list[str], NoDecode, BeforeValidator(_env_list('["127.0.0.1", "10.0.0.0/8"]'))
]
PhoneNumbers = Annotated[
    list[str], NoDecode, BeforeValidator(_env_list('["+56229990000", "+34910000000"]'))
]
IceServers = Annotated[
    list[dict[str, Any]],
    NoDecode,
    BeforeValidator(
        _env_list(
            '[{"urls": ["turn:turn.example:3478"], "username": "u", "credential": "p"}]',
            items=False,
        )
    ),
]
InboundNumbers = Annotated[
    dict[str, dict[str, Any]],
    NoDecode,
    BeforeValidator(_env_mapping('{"+56229990000": {"agent": "cobranza-temprana"}}', pairs=False)),
]
FloatsByName = Annotated[dict[str, float], NoDecode, BeforeValidator(_env_mapping('{"es": 20}'))]
PricesByUnit = Annotated[
    dict[str, float], NoDecode, BeforeValidator(_env_mapping('{"stt_per_min": 0.006}'))
]
Headers = Annotated[dict[str, str], NoDecode, BeforeValidator(_env_mapping('{"x-api-key": "..."}'))]
SttModels = Annotated[
    dict[str, str], NoDecode, BeforeValidator(_env_mapping('{"es": "base", "en": "tiny.en"}'))
]


# Settings whose values may hold a secret (a key, a password in a URL, TURN credentials).
_SECRET_BEARING = frozenset(
    {
        "admin_api_key",
        "database_url",
        "otlp_headers",
        "ice_servers",
        "twilio_auth_token",
        "sip_trunk_password",
        "encryption_keys",
    }
)


class InvalidSettingsError(ValueError):
    """Settings that cannot be read: one line per problem, naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def settings_problems(error: ValidationError | SettingsError) -> list[str]:
    """One line per unreadable setting: `CENTRALITA_NAME: what is wrong (got 'value')`."""
    if isinstance(error, SettingsError):
        named = re.search(r'field "(\w+)"', str(error))
        variable = ENV_PREFIX + named.group(1).upper() if named else "a setting"
        cause = error.__cause__ or error
        return [f"{variable}: could not be read ({cause})"]
    problems = []
    for problem in error.errors(include_url=False, include_context=False):
        name, *inner = [str(part) for part in problem["loc"]] or ["settings"]
        variable = ENV_PREFIX + name.upper()
        where = f" [{'.'.join(inner)}]" if inner else ""
        message = str(problem["msg"]).removeprefix("Value error, ")
        got = problem.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        if name in _SECRET_BEARING:
            shown = ""  # never echo a secret into a terminal or a log
        problems.append(f"{variable}{where}: {message}{shown}")
    return problems


class Settings(BaseSettings):
    """Configuration of Centralita.

    Leave `database_url` and `temporal_address` unset to get the embedded stack
    (`centralita dev up` starts Postgres and Temporal itself); set them to use servers
    you run.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        default=Path(".centralita"),
        description="Folder for the embedded stack's state (Postgres data, Temporal db, logs).",
    )
    database_url: str | None = Field(
        default=None, description="Postgres URL; unset means the embedded pgserver."
    )
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)

    temporal_address: str | None = Field(
        default=None, description="host:port of a Temporal frontend; unset means embedded."
    )
    temporal_namespace: str = "default"
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    temporal_ui_base_url: str | None = Field(
        default=None,
        description="The UI of your own Temporal (links in the API and the demo point there).",
    )
    task_queue: str = "centralita-orchestrator"
    post_call_task_queue: str = Field(
        default="centralita-post-call",
        description="Where post-call workflows run (their worker loads Whisper).",
    )
    post_call: bool = Field(
        default=True, description="Start a post-call workflow after every answered call."
    )
    post_call_summary_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible endpoint for call summaries; unset: extractive.",
    )
    post_call_summary_model: str = "gpt-4o-mini"
    post_call_summary_api_key_env: str = Field(
        default="OPENAI_API_KEY", description="The environment variable holding its key."
    )
    analysis_version: int = Field(
        default=1,
        ge=1,
        description="The version new post-call analyses get; raise it with a re-analysis.",
    )
    post_call_retranscribe: Literal["always", "low_confidence", "never"] = Field(
        default="always",
        description="Re-transcribe every recording, only low-confidence ones, or none.",
    )
    retention_live_events_days: int = Field(
        default=30, ge=1, description="Days the granular live call events are kept."
    )
    retention_deleted_days: int = Field(
        default=7,
        ge=0,
        description="Days a soft-deleted call (with its recording) stays before the purge "
        "removes it for good.",
    )
    retention_calls_days: int | None = Field(
        default=None, ge=1, description="Days any call is kept (unset: kept until deleted)."
    )
    retention_webhook_days: int = Field(
        default=30,
        ge=1,
        description="Days settled webhook deliveries (with their attempt log) and the "
        "dispatched events behind them are kept.",
    )
    retention_actions_days: int = Field(
        default=90,
        ge=1,
        description="Days the log of tenant tool calls and the WhatsApp messages sent "
        "(with their delivery statuses) are kept; a purged call's go with it.",
    )
    search_attributes: bool = Field(
        default=True,
        description="Tag workflows with CampaignId/ContactId/AttemptNumber/Outcome (the "
        "embedded stack registers them; register them on your own Temporal or set false).",
    )

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    media_host: str = "127.0.0.1"
    media_port: int = Field(default=8100, ge=1, le=65535)

    media_placement: bool = Field(
        default=True,
        description="Place each campaign call on a registered media worker with room, on "
        "that worker's own task queue (false: the orchestrator dials carrier_url).",
    )
    media_worker_id: str | None = Field(
        default=None,
        description="This media worker's id in placement; unset: host, pid and a random "
        "part (a restarted worker is a new one).",
    )
    media_max_calls: int = Field(
        default=4, ge=1, le=1000, description="Calls this media worker holds at once."
    )
    media_task_queue_prefix: str = Field(
        default="centralita-media",
        description="A media worker polls <prefix>-<worker id> for the calls placed on it.",
    )
    media_advertised_url: str | None = Field(
        default=None,
        description="This media worker's HTTP address as the other processes reach it; "
        "unset: http://media_host:media_port (the hostname for 0.0.0.0).",
    )
    media_drain_timeout_s: float = Field(
        default=600.0,
        ge=0,
        description="After SIGTERM a media worker takes no new call and waits this long "
        "for its calls in progress to end before it hangs them up and exits.",
    )

    operator_away_after_s: float = Field(
        default=30.0,
        ge=1,
        description="An available operator whose page stopped following the queue this "
        "long is made offline (pages keep their stream alive every half of it, at most "
        "15 s).",
    )
    human_callback_sweep_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the orchestrator starts the workflows of human callbacks "
        "stored while Temporal could not be reached (once at start-up, then this often).",
    )

    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest campaign request (JSON or CSV)."
    )
    max_contacts_per_campaign: int = Field(default=100_000, ge=1)
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body on every route but campaign creation, which "
        "takes up to max_upload_bytes (413 above either).",
    )

    admin_api_key: SecretStr | None = Field(
        default=None,
        description="The key for /admin (tenants and their API keys), at least 24 "
        "characters; unset: the admin API is off (the CLI still manages keys).",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="AES-256-GCM keys for Temporal payloads and stored secrets: "
        "comma-separated key_id:base64 (32 bytes each; `centralita keys new ID` makes "
        "one); the first encrypts, all decrypt. Unset: a development ring is created "
        "under `home`.",
    )

    campaign_create_per_minute: float = Field(
        default=30.0, gt=0, description="Campaigns a tenant may create a minute (refill)."
    )
    campaign_create_burst: int = Field(
        default=30, ge=1, description="Campaigns a tenant may create at once (bucket size)."
    )
    csv_upload_per_minute: float = Field(
        default=10.0, gt=0, description="CSV uploads a tenant may send a minute (refill)."
    )
    csv_upload_burst: int = Field(
        default=10, ge=1, description="CSV uploads a tenant may send at once (bucket size)."
    )

    knowledge_embedder: str = Field(
        default="local",
        pattern=r"^(local|openai:\S.*)$",
        description="What embeds knowledge documents and questions: 'local' "
        "(multilingual-e5-small in the process) or 'openai:<model>'. Changing it needs a "
        "re-index of each document (POST /knowledge/documents/{id}/reindex).",
    )
    knowledge_max_document_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest knowledge document upload."
    )
    knowledge_max_documents: int = Field(
        default=1000, ge=1, description="Knowledge documents a tenant may hold."
    )

    carrier_url: str | None = Field(
        default=None,
        description="Carrier service the orchestrator dials through; unset means the media "
        "worker's own (http://media_host:media_port), which hosts the simulated carrier.",
    )
    carrier_personas: Path | None = Field(
        default=None,
        description="JSON file of simulated-carrier personas; unset means the packaged demo set.",
    )

    twilio_account_sid: str | None = Field(
        default=None,
        description="Ring real phones through this Twilio account (with twilio_auth_token, "
        "phone_public_base and phone_from_numbers); unset keeps the simulated carrier.",
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, description="The Twilio account's auth token (signs its callbacks too)."
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com", description="Twilio's REST API (tests: a local fake)."
    )
    telnyx_api_base: str = Field(
        default="https://api.telnyx.com", description="Telnyx's REST API (tests: a local fake)."
    )
    whatsapp_meta_api_base: str = Field(
        default="https://graph.facebook.com",
        description="Meta's Graph API, for WhatsApp Cloud API messages (tests: a local fake).",
    )
    whatsapp_meta_api_version: str = Field(
        default="v21.0", pattern=r"^v[0-9]+\.[0-9]+$", description="The Graph API version."
    )
    api_public_base: str | None = Field(
        default=None,
        description="The API's address as providers reach it, e.g. https://api.example.com: "
        "Twilio's WhatsApp status callbacks are sent there (unset: no status callbacks).",
    )
    phone_public_base: str | None = Field(
        default=None,
        description="The media worker's address as the carrier reaches it, e.g. "
        "https://media.example.com; media streams and callbacks hang off it.",
    )
    phone_from_numbers: PhoneNumbers = Field(
        default_factory=list,
        description='Caller IDs to ring from, e.g. ["+56229990000", "+34910000000"]; a call '
        "takes one with the callee's country code when there is one.",
    )
    phone_ring_timeout_s: int = Field(
        default=25, ge=15, le=120, description="How long a phone rings before `no_answer`."
    )
    phone_transfer_to: str | None = Field(
        default=None,
        description="Where the agent hands a phone call when it transfers (E.164); unset: "
        "a transfer ends the call.",
    )
    phone_transfer_mode: Literal["warm", "cold"] = Field(
        default="warm",
        description="warm: the person is rung and briefed first, then the caller joins "
        "them (a person who does not answer leaves the caller with the agent); cold: "
        "the caller is put straight through.",
    )
    phone_calls_per_second: float = Field(
        default=1.0,
        ge=0.01,
        le=1000,
        description="Calls placed a second on the carrier account at most (Twilio: 1 by "
        "default); dials beyond it wait their turn.",
    )

    sip_trunk_host: str | None = Field(
        default=None,
        description="Ring phones through this SIP trunk or PBX (its IP address); unset: no "
        "SIP. Its INVITEs are also taken in, from sip_trunk_sources.",
    )
    sip_trunk_port: int = Field(default=5060, ge=1, le=65535, description="The trunk's SIP port.")
    sip_trunk_domain: str | None = Field(
        default=None, description="The host in the trunk's URIs (the trunk's address if unset)."
    )
    sip_trunk_username: str | None = Field(
        default=None, description="Digest user for trunks that authenticate by credentials."
    )
    sip_trunk_password: SecretStr | None = Field(
        default=None, description="Digest password (never logged)."
    )
    sip_trunk_sources: ListOfHosts = Field(
        default_factory=list,
        description='Where inbound INVITEs may come from, e.g. ["203.0.113.10", '
        '"10.0.0.0/8"]; unset: the trunk\'s address only. Others get 403.',
    )
    sip_trunk_inbound_digest: bool = Field(
        default=False, description="Also challenge inbound INVITEs for the trunk's credentials."
    )
    sip_trunk_dial_plus: bool = Field(
        default=True,
        description="Dial numbers in E.164 with their + (false: digits only, as some "
        "trunks want them).",
    )
    sip_register: bool = Field(
        default=False,
        description="REGISTER with the trunk as sip_trunk_username at its domain (or host) "
        "and keep the registration refreshed: for providers that send calls only to "
        "registered users.",
    )
    sip_listen: str = Field(
        default="0.0.0.0:5060", description="host:port the SIP user agent listens on (UDP)."
    )
    sip_advertised_address: str | None = Field(
        default=None,
        description="The address written in SIP headers and SDP: the public one behind NAT "
        "or Docker (the listen host if unset).",
    )
    sip_rtp_ports: str = Field(
        default="20000-20999",
        description="UDP port range for RTP (publish it in Docker; open it in the firewall).",
    )

    webrtc_loopback_only: bool = Field(
        default=True,
        description="Gather WebRTC candidates on 127.0.0.1 only (development and tests); "
        "set false in production, with STUN/TURN in ice_servers.",
    )
    ice_servers: IceServers = Field(
        default_factory=list,
        description='STUN/TURN servers, e.g. [{"urls": ["turn:turn.example:3478"], '
        '"username": "u", "credential": "p"}]; none by default.',
    )
    recordings_dir: Path | None = Field(
        default=None, description="Where call recordings go; unset means HOME/recordings."
    )
    record_calls: bool = Field(
        default=True, description="Record each conversation (caller left, agent right) as WAV."
    )
    inbound_numbers: InboundNumbers = Field(
        default_factory=dict,
        description='Agents answering inbound numbers, e.g. {"+56229990000": {"agent": '
        '"cobranza-temprana", "variables": {"empresa": "Banco Sur"}}}; a caller who is a '
        "campaign contact adds their own variables.",
    )
    softphone_ring_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a softphone rings before `no_answer`."
    )
    stt_cpu_threads: int = Field(default=2, ge=1, description="Threads of the embedded STT.")
    stt_encoder_windows: FloatsByName = Field(
        default_factory=lambda: {"es": 20.0},
        description="Per language, the seconds of audio Whisper's encoder reads for a short "
        'live utterance (e.g. {"es": 20}); others read the full 30 s. 20 halves a Spanish '
        "turn's recognition time; {} turns it off.",
    )
    tts_voice: Literal["espeak", "kokoro"] = Field(
        default="espeak",
        description="The line's voice, for agents without a voice of their own: espeak-ng "
        "(robotic, fastest) or kokoro (Kokoro-82M, natural, local; es: ef_dora, en: "
        "af_heart). An agent's `voice:` block overrides it.",
    )
    tts_threads: int = Field(
        default=1, ge=1, description="onnxruntime threads of the Kokoro voice (cores shared)."
    )
    stt_live: SttModels = Field(
        default_factory=lambda: {"es": "base", "en": "tiny.en"},
        description="Per language (or * for the rest), the live recogniser: a shipped model "
        "(tiny.en, base), a CTranslate2 model folder (/abs, ./rel, ~/...), a faster-whisper "
        "model name (small, large-v3, distil-large-v3: see stt_download) or openai:<model> "
        '(hosted, e.g. openai:whisper-1). E.g. {"es": "base", "en": "tiny.en"} or '
        "es=base,en=openai:whisper-1. Languages not listed use base.",
    )
    stt_offline: SttModels = Field(
        default_factory=dict,
        description="Per language, the post-call re-transcription recogniser (same forms as "
        'stt_live), e.g. {"es": "large-v3"}; a language not listed uses its live model '
        "with beam search.",
    )
    stt_download: bool = Field(
        default=False,
        description="Let faster-whisper model names in stt_live/stt_offline download from "
        "Hugging Face when not cached; false: only the local cache is used, and a missing "
        "model stops the worker with its name.",
    )
    stt_openai_base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible transcription API for openai:<model> "
        "specs (e.g. a self-hosted Whisper large-v3 server at http://stt.internal:8000/v1); "
        "unset: OpenAI's.",
    )
    stt_openai_api_key_env: str = Field(
        default="OPENAI_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The environment variable holding the hosted STT's API key.",
    )
    stt_openai_timeout_s: float = Field(
        default=8.0, gt=0, le=120, description="Deadline of one live hosted transcription."
    )
    stt_openai_retries: int = Field(
        default=2, ge=0, le=5, description="Retries of a hosted transcription (429, 5xx, timeouts)."
    )
    rates: PricesByUnit = Field(
        default_factory=dict,
        description="Per-unit prices: stt_per_min, tts_per_1k_chars, llm_per_1k_tokens, "
        "call_per_min (zero when unset).",
    )

    webhook_allow_hosts: ListOfHosts = Field(
        default_factory=list,
        description="Hosts, IPs or CIDRs webhooks may reach although internal (loopback, "
        'private ranges), e.g. ["127.0.0.1", "localhost"] for local development; none by '
        "default. Everything else internal is refused at registration and delivery.",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="HTTP timeout of one webhook attempt."
    )
    webhook_schedule: str = Field(
        default="0s,5s,5m,30m,2h,5h,10h,1d",
        description="Delays before attempts 1, 2, ... (units s, m, h, d); the last step "
        "repeats. Each non-zero delay moves by up to ±10% (jitter).",
    )
    webhook_max_attempts: int = Field(
        default=14,  # centralita.webhooks.retry_schedule.DEFAULT_MAX_ATTEMPTS
        ge=1,
        description="Attempts before a delivery fails (14: the schedule's 7 steps, then 7 "
        "daily tries, about 7 days 18 h in all); failed deliveries can be replayed.",
    )
    webhook_task_queue: str = Field(
        default="centralita-webhooks", description="Where webhook deliveries run."
    )
    webhook_poll_s: float = Field(
        default=5.0,
        gt=0,
        description="How often the dispatcher reads the event outbox without a NOTIFY.",
    )

    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP endpoint for traces, e.g. http://localhost:4318."
    )
    otlp_headers: Headers = Field(default_factory=dict)
    service_name: str = "centralita"
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("admin_api_key")
    @classmethod
    def _long_admin_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("admin_api_key must be at least 24 characters")
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _readable_key_ring(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                KeyRing.parse(value.get_secret_value())
            except KeyRingError as exc:  # its message never echoes key material
                raise ValueError(str(exc)) from None
        return value

    @field_validator("webhook_schedule")
    @classmethod
    def _readable_webhook_schedule(cls, value: str) -> str:
        parse_schedule(value)  # raises ValueError with what is wrong
        return value

    @field_validator("webhook_allow_hosts")
    @classmethod
    def _readable_allow_hosts(cls, value: list[str]) -> list[str]:
        parse_allow_hosts(value)  # a malformed CIDR is refused at start, not at delivery
        return value

    @field_validator("stt_live", "stt_offline")
    @classmethod
    def _readable_stt_models(cls, value: dict[str, str]) -> dict[str, str]:
        parse_stt_map(value)  # raises ValueError naming the language and the bad value
        return value

    @field_validator("stt_encoder_windows")
    @classmethod
    def _usable_encoder_windows(cls, value: dict[str, float]) -> dict[str, float]:
        for language, seconds in value.items():
            if not 5.0 <= seconds <= 30.0:
                raise ValueError(
                    f"the encoder window for {language!r} must be 5-30 s, not {seconds}"
                )
        return value

    @property
    def embedded_postgres(self) -> bool:
        """Whether the embedded pgserver provides the database."""
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        """Whether the embedded Temporal dev server provides orchestration."""
        return self.temporal_address is None

    @property
    def effective_temporal_address(self) -> str:
        """The Temporal frontend to connect to, configured or embedded."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_ui_url(self) -> str:
        """Where operators open the Temporal UI: configured, or the embedded server's."""
        if self.temporal_ui_base_url:
            return self.temporal_ui_base_url.rstrip("/")
        return f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def temporal_ui_namespace_url(self) -> str:
        """The Temporal UI page of this namespace (workflow links hang off it)."""
        return f"{self.temporal_ui_url}/namespaces/{self.temporal_namespace}"

    @property
    def webhook_retry_schedule(self) -> tuple[timedelta, ...]:
        """`webhook_schedule`, parsed."""
        return parse_schedule(self.webhook_schedule)

    def key_ring(self) -> KeyRing:
        """The configured key ring, or the embedded stack's development ring."""
        if self.encryption_keys is not None:
            return KeyRing.parse(self.encryption_keys.get_secret_value())
        return KeyRing.development(self.home)

    @property
    def effective_recordings_dir(self) -> Path:
        """Where call recordings are written."""
        return self.recordings_dir or self.home / "recordings"

    @property
    def effective_carrier_url(self) -> str:
        """Where dials go: the configured carrier, or the media worker."""
        return self.carrier_url or f"http://{self.media_host}:{self.media_port}"

    @property
    def api_url(self) -> str:
        """Base URL of the API as seen from this machine."""
        host = "127.0.0.1" if self.api_host in {"0.0.0.0", "::"} else self.api_host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal in a URL
        return f"http://{host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process (never at import time).

    Raises:
        InvalidSettingsError: a variable (or `.env` line) cannot be read; one line each.
    """
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        raise InvalidSettingsError(settings_problems(exc)) from exc
