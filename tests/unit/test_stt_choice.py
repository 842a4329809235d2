"""Choosing the recogniser per language: the settings' forms, their errors, the factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from centralita.kernel.settings import InvalidSettingsError, Settings, settings_problems
from centralita.kernel.stt_specs import SttSpec, parse_stt_map, parse_stt_spec
from realtime.offline.retranscription import OFFLINE_BEAM_SIZE, offline_stt
from realtime.providers import stt_choice
from realtime.providers.openai_stt import OpenAISTT
from realtime.providers.stt_choice import PerLanguageSTT
from realtime.providers.whisper import WhisperSTT

pytestmark = pytest.mark.unit


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in ("STT_LIVE", "STT_OFFLINE", "STT_OPENAI_BASE_URL", "STT_DOWNLOAD"):
        monkeypatch.delenv(f"CENTRALITA_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"CENTRALITA_{name.upper()}", value)
    return Settings(_env_file=None)


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        settings(monkeypatch, **env)
    return settings_problems(caught.value)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("base", "shipped", "base"),
        ("tiny.en", "shipped", "tiny.en"),
        ("/models/whisper-large-v3-ct2", "folder", "/models/whisper-large-v3-ct2"),
        ("./models/x", "folder", "./models/x"),
        ("~/models/x", "folder", "~/models/x"),
        ("large-v3", "download", "large-v3"),
        ("distil-large-v3", "download", "distil-large-v3"),
        (" small ", "download", "small"),
        ("openai:whisper-1", "openai", "whisper-1"),
        ("openai:gpt-4o-transcribe", "openai", "gpt-4o-transcribe"),
    ],
)
def test_each_form_of_a_spec(text: str, kind: str, value: str) -> None:
    assert parse_stt_spec(text) == SttSpec(kind, value)  # type: ignore[arg-type]


def test_the_default_is_todays_embedded_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = settings(monkeypatch)
    assert chosen.stt_live == {"es": "base", "en": "tiny.en"}
    assert chosen.stt_offline == {}


def test_both_env_forms_read(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = settings(monkeypatch, stt_live="es=base,en=openai:whisper-1")
    assert pairs.stt_live == {"es": "base", "en": "openai:whisper-1"}
    json_form = settings(monkeypatch, stt_offline='{"es": "large-v3", "*": "small"}')
    assert json_form.stt_offline == {"es": "large-v3", "*": "small"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"stt_live": "es=medium-x"}, "CENTRALITA_STT_LIVE: [es] unknown speech model 'medium-x'"),
        ({"stt_offline": "es=openai:"}, "CENTRALITA_STT_OFFLINE: [es] 'openai:' names no hosted"),
        ({"stt_live": "Spanish=base"}, "'Spanish' is not a language code"),
        ({"stt_live": "es"}, "CENTRALITA_STT_LIVE: expected a JSON object"),
        ({"stt_live": '{"es": ["base"]}'}, "CENTRALITA_STT_LIVE [es]: Input should be a valid"),
        ({"stt_openai_api_key_env": "MY KEY"}, "CENTRALITA_STT_OPENAI_API_KEY_ENV: String"),
        ({"stt_openai_timeout_s": "0"}, "CENTRALITA_STT_OPENAI_TIMEOUT_S: Input should be"),
    ],
)
def test_each_bad_value_names_its_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    found = problems(monkeypatch, **env)
    assert len(found) == 1
    assert found[0].startswith(expected) or expected in found[0], found


def test_an_unknown_model_lists_what_is_accepted() -> None:
    with pytest.raises(
        ValueError, match=r"\[en\] unknown speech model 'whisper-1'.*openai:<model>"
    ):
        parse_stt_map({"en": "whisper-1"})  # the hosted name without its prefix


def test_the_default_builds_the_embedded_recogniser(monkeypatch: pytest.MonkeyPatch) -> None:
    live = stt_choice.live_stt(settings(monkeypatch, stt_cpu_threads="3"))
    assert isinstance(live, WhisperSTT)
    assert live.model_for("es") == "base"
    assert live.model_for("en-GB") == "tiny.en"
    assert live.beam_size == 1
    assert live.cpu_threads == 3
    assert live.encoder_windows == {"es": 20.0}


def test_a_folder_is_used_and_a_folder_without_a_model_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "model.bin").write_bytes(b"ct2")
    live = stt_choice.live_stt(settings(monkeypatch, stt_live=f'{{"es": "{tmp_path}"}}'))
    assert isinstance(live, WhisperSTT)
    assert live.folder_for("es") == tmp_path
    assert live.model_for("en") == "base"  # not listed: the multilingual fallback
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidSettingsError) as caught:
        stt_choice.live_stt(settings(monkeypatch, stt_live=f"es={empty}"))
    assert caught.value.problems == [
        f"CENTRALITA_STT_LIVE [es]: '{empty}' is not a CTranslate2 model folder (no model.bin)"
    ]


def test_a_model_not_cached_is_not_downloaded_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    # An empty cache (the module's constant: the variable is read once, at import).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    chosen = settings(monkeypatch, stt_offline="es=large-v3")
    with pytest.raises(InvalidSettingsError) as caught:
        offline_stt(settings=chosen)
    (problem,) = caught.value.problems
    assert problem.startswith("CENTRALITA_STT_OFFLINE [es]: faster-whisper model 'large-v3'")
    assert "CENTRALITA_STT_DOWNLOAD is false" in problem
    stt_choice.live_stt(chosen)  # the live side is untouched by the offline choice


def test_hosted_languages_route_to_the_api_and_the_rest_stay_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STT_KEY", "sk-test")
    chosen = settings(
        monkeypatch,
        stt_live="es=base,en=openai:whisper-1",
        stt_openai_api_key_env="STT_KEY",
        stt_openai_base_url="http://127.0.0.1:9/v1",
        stt_openai_timeout_s="4",
        stt_openai_retries="1",
    )
    live = stt_choice.live_stt(chosen)
    assert isinstance(live, PerLanguageSTT)
    english = live.for_language("en-US")
    assert isinstance(english, OpenAISTT)
    assert english.model == "whisper-1"
    assert english.base_url == "http://127.0.0.1:9/v1"
    assert (english.timeout_s, english.retries) == (4.0, 1)
    spanish = live.for_language("es-CL")
    assert isinstance(spanish, WhisperSTT)
    assert spanish.model_for("es") == "base"
    assert live.for_language("pt") is spanish  # unlisted: the local fallback
    offline = stt_choice.offline_stt(chosen, {"beam_size": OFFLINE_BEAM_SIZE})
    assert isinstance(offline, PerLanguageSTT)
    hosted_offline = offline.for_language("en")
    assert isinstance(hosted_offline, OpenAISTT)
    assert hosted_offline.timeout_s == stt_choice.OFFLINE_HOSTED_TIMEOUT_S  # patient
    local_offline = offline.for_language("es")
    assert isinstance(local_offline, WhisperSTT)
    assert local_offline.beam_size == OFFLINE_BEAM_SIZE


def test_post_call_takes_the_larger_model_when_one_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "model.bin").write_bytes(b"ct2")
    chosen = settings(monkeypatch, stt_offline=f"es={tmp_path}")
    offline = offline_stt(settings=chosen)
    assert isinstance(offline, WhisperSTT)
    assert offline.folder_for("es") == tmp_path
    assert offline.model_for("en") == "tiny.en"  # no offline choice: its live model
    assert offline.beam_size == OFFLINE_BEAM_SIZE
    assert offline.encoder_windows == {}
    live = stt_choice.live_stt(chosen)
    assert isinstance(live, WhisperSTT)
    assert live.model_for("es") == "base"


def test_openai_itself_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    chosen = settings(monkeypatch, stt_live="*=openai:gpt-4o-transcribe")
    with pytest.raises(InvalidSettingsError) as caught:
        stt_choice.live_stt(chosen)
    assert caught.value.problems == [
        "CENTRALITA_STT_LIVE [*]: openai:gpt-4o-transcribe needs an API key in $OPENAI_API_KEY "
        "(named by CENTRALITA_STT_OPENAI_API_KEY_ENV), which is unset"
    ]
