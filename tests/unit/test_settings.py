"""Settings: `CENTRALITA_*` variables, `.env`, embedded defaults and derived URLs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from centralita.kernel.settings import InvalidSettingsError, Settings, get_settings
from centralita.webhooks.retry_schedule import DEFAULT_MAX_ATTEMPTS

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No CENTRALITA_* variable or `.env` of the developer's may leak into a test."""
    for name in list(os.environ):
        # pydantic-settings matches names case-insensitively by default.
        if name.upper().startswith("CENTRALITA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # an empty folder: no `.env` to read
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults_are_the_embedded_stack() -> None:
    settings = Settings()
    assert settings.database_url is None
    assert settings.temporal_address is None
    assert settings.embedded_postgres
    assert settings.embedded_temporal
    assert settings.effective_temporal_address == "127.0.0.1:7233"
    assert settings.log_level == "INFO"
    assert settings.api_url == "http://127.0.0.1:8000"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", "postgresql://db.example/centralita")
    monkeypatch.setenv("CENTRALITA_TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("CENTRALITA_API_PORT", "9000")
    monkeypatch.setenv("CENTRALITA_OTLP_HEADERS", '{"authorization": "Bearer t"}')
    monkeypatch.setenv("CENTRALITA_CARRIER_PERSONAS", "/srv/personas.json")

    settings = Settings()

    assert settings.database_url == "postgresql://db.example/centralita"
    assert settings.temporal_address == "temporal.example:7233"
    assert not settings.embedded_postgres
    assert not settings.embedded_temporal
    assert settings.api_port == 9000
    assert settings.otlp_headers == {"authorization": "Bearer t"}
    assert settings.carrier_personas == Path("/srv/personas.json")


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("API_PORT", "9999")
    settings = Settings()
    assert settings.database_url is None
    assert settings.api_port == 8000


def test_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "CENTRALITA_TEMPORAL_ADDRESS=temporal.internal:7233\n"
        "CENTRALITA_TEMPORAL_NAMESPACE=cobranzas\n"
        "CENTRALITA_LOG_LEVEL=debug\n"
        "UNRELATED=1\n",
        encoding="utf-8",
    )
    settings = Settings()
    assert settings.temporal_address == "temporal.internal:7233"
    assert settings.temporal_namespace == "cobranzas"
    assert settings.log_level == "DEBUG"
    assert settings.embedded_postgres


def test_environment_beats_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CENTRALITA_API_PORT=8001\n", encoding="utf-8")
    monkeypatch.setenv("CENTRALITA_API_PORT", "8002")
    assert Settings().api_port == 8002


def test_dotenv_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CENTRALITA_API_PORT=8001\n", encoding="utf-8")
    assert Settings(_env_file=None).api_port == 8000


def test_get_settings_is_cached_and_reads_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_API_PORT", "8100")
    first = get_settings()
    monkeypatch.setenv("CENTRALITA_API_PORT", "8200")
    assert get_settings() is first
    assert first.api_port == 8100
    get_settings.cache_clear()
    assert get_settings().api_port == 8200


def test_effective_temporal_address() -> None:
    assert Settings(temporal_port=7300).effective_temporal_address == "127.0.0.1:7300"
    configured = Settings(temporal_address="temporal:7233", temporal_port=7300)
    assert configured.effective_temporal_address == "temporal:7233"


def test_temporal_ui_namespace_url() -> None:
    settings = Settings(temporal_ui_port=8333, temporal_namespace="cobranzas")
    assert settings.temporal_ui_url == "http://127.0.0.1:8333"
    assert settings.temporal_ui_namespace_url == "http://127.0.0.1:8333/namespaces/cobranzas"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("::", "http://127.0.0.1:8080"),
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("api.internal", "http://api.internal:8080"),
    ],
)
def test_api_url(host: str, expected: str) -> None:
    assert Settings(api_host=host, api_port=8080).api_url == expected


@pytest.mark.parametrize("level", ["debug", "Warning", "ERROR", "critical"])
def test_log_level_normalised(level: str) -> None:
    assert Settings(log_level=level).log_level == level.upper()


@pytest.mark.parametrize("level", ["VERBOSE", "", "TRACE", "warn"])
def test_invalid_log_level(level: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="log_level"):
        Settings(log_level=level)


def test_invalid_log_level_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_LOG_LEVEL", "loud")
    with pytest.raises(pydantic.ValidationError, match="unknown log level"):
        Settings()


@pytest.mark.parametrize("field", ["api_port", "media_port", "temporal_port", "temporal_ui_port"])
@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_port_out_of_range(monkeypatch: pytest.MonkeyPatch, field: str, port: str) -> None:
    monkeypatch.setenv(f"CENTRALITA_{field.upper()}", port)
    with pytest.raises(pydantic.ValidationError, match=field):
        Settings()


@pytest.mark.parametrize("port", ["1", "65535"])
def test_port_bounds_accepted(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("CENTRALITA_API_PORT", port)
    assert Settings().api_port == int(port)


def test_non_numeric_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_API_PORT", "http")
    with pytest.raises(pydantic.ValidationError, match="api_port"):
        Settings()


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_NOT_A_SETTING", "x")
    assert not hasattr(Settings(), "not_a_setting")


# -- lists and mappings from the environment: JSON, or the short form; else one clear line


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1"]),  # once a raw traceback (issue 16)
        ("127.0.0.1, localhost,,10.0.0.0/8 ", ["127.0.0.1", "localhost", "10.0.0.0/8"]),
        ('["127.0.0.1", "::1"]', ["127.0.0.1", "::1"]),
        ("", []),
        ("[]", []),
    ],
)
def test_a_list_setting_takes_json_or_comma_separated_items(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CENTRALITA_WEBHOOK_ALLOW_HOSTS", raw)
    assert get_settings().webhook_allow_hosts == expected


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        (
            "CENTRALITA_RATES",
            "stt_per_min=0.006, call_per_min=0.01",
            {"stt_per_min": 0.006, "call_per_min": 0.01},
        ),
        ("CENTRALITA_RATES", '{"stt_per_min": 0.5}', {"stt_per_min": 0.5}),
        ("CENTRALITA_STT_ENCODER_WINDOWS", "es=20,en=30", {"es": 20.0, "en": 30.0}),
        (
            "CENTRALITA_OTLP_HEADERS",
            "x-api-key=abc==,x-tenant=ops",
            {"x-api-key": "abc==", "x-tenant": "ops"},
        ),
    ],
)
def test_a_flat_mapping_setting_takes_json_or_key_value_pairs(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, expected: dict[str, object]
) -> None:
    monkeypatch.setenv(variable, raw)
    settings = get_settings()
    assert getattr(settings, variable.removeprefix("CENTRALITA_").lower()) == expected


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        ("CENTRALITA_WEBHOOK_ALLOW_HOSTS", '["127.0.0.1"', "expected a JSON list"),
        ("CENTRALITA_WEBHOOK_ALLOW_HOSTS", "10.0.0.0/33", "10.0.0.0/33"),
        ("CENTRALITA_ICE_SERVERS", "stun:stun.example:3478", "expected a JSON list"),
        ("CENTRALITA_ICE_SERVERS", '{"urls": "stun:x"}', "expected a JSON list"),
        ("CENTRALITA_INBOUND_NUMBERS", "+56229990000", "expected a JSON object"),
        ("CENTRALITA_RATES", "stt_per_min", "is not key=value"),
        ("CENTRALITA_RATES", "stt_per_min=cheap", "CENTRALITA_RATES [stt_per_min]"),
        ("CENTRALITA_OTLP_HEADERS", '{"x-api-key": "secret"', "expected a JSON object"),
        ("CENTRALITA_API_PORT", "http", "valid integer"),
        ("CENTRALITA_LOG_LEVEL", "LOUD", "unknown log level"),
    ],
)
def test_an_unreadable_setting_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, says: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(InvalidSettingsError) as refused:
        get_settings()
    [line] = refused.value.problems
    assert line.startswith(variable)
    assert says in line
    assert "\n" not in line


def test_an_unreadable_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_ADMIN_API_KEY", "short-but-secret")
    monkeypatch.setenv("CENTRALITA_OTLP_HEADERS", '{"x-api-key": "hunter2"')
    with pytest.raises(InvalidSettingsError) as refused:
        get_settings()
    text = str(refused.value)
    assert "CENTRALITA_ADMIN_API_KEY" in text
    assert "CENTRALITA_OTLP_HEADERS" in text
    assert "short-but-secret" not in text
    assert "hunter2" not in text


def test_a_dotenv_list_takes_the_short_form_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CENTRALITA_WEBHOOK_ALLOW_HOSTS=127.0.0.1,localhost\n")
    assert get_settings().webhook_allow_hosts == ["127.0.0.1", "localhost"]


def test_values_given_in_code_are_taken_as_they_are() -> None:
    settings = Settings(
        _env_file=None,
        webhook_allow_hosts=["127.0.0.1"],
        rates={"stt_per_min": 1.0},
        ice_servers=[{"urls": ["stun:x"]}],
    )
    assert settings.webhook_allow_hosts == ["127.0.0.1"]
    assert settings.rates == {"stt_per_min": 1.0}
    assert settings.ice_servers == [{"urls": ["stun:x"]}]


def test_the_webhook_attempts_default_is_the_schedules() -> None:
    assert Settings(_env_file=None).webhook_max_attempts == DEFAULT_MAX_ATTEMPTS
