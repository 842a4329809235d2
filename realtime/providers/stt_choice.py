"""Build the live and the post-call recognisers the settings choose, per language.

`stt_live` and `stt_offline` map languages to specs (`centralita.kernel.stt_specs`).
Languages with local models share one `WhisperSTT` (one model cache, one thread pool);
each hosted model gets one `OpenAISTT`. When every language is local the `WhisperSTT`
is returned as it is, so the default deployment runs exactly the recogniser it ran
before this choice existed; otherwise a `PerLanguageSTT` sends each utterance to its
language's recogniser, whose own timeouts, retries and metrics apply.

Problems a deployment can fix (a folder without a model, a model not downloaded, a
missing API key) raise `InvalidSettingsError` naming the setting, the language and the
value, at build time (worker start), never during a call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from centralita.kernel.pcm import Pcm16
from centralita.kernel.settings import ENV_PREFIX, InvalidSettingsError, Settings
from centralita.kernel.stt_specs import SttSpec, parse_stt_map
from realtime.providers.base import SpeechToText, Transcript
from realtime.providers.openai_stt import OpenAISTT
from realtime.providers.whisper import ModelSpec, WhisperSTT

OFFLINE_HOSTED_TIMEOUT_S = 60.0
"""Re-transcription has minutes, not a turn's second: a slow hosted answer is waited for."""
OFFLINE_HOSTED_RETRIES = 4


class PerLanguageSTT(SpeechToText):
    """Each utterance to its language's recogniser (``es-CL`` -> ``es`` -> ``*``).

    Args:
        routes: language (primary subtag or ``*``) to recogniser.
        default: the recogniser of languages not routed (the local one).
    """

    name = "stt-per-language"

    def __init__(self, routes: Mapping[str, SpeechToText], default: SpeechToText) -> None:
        super().__init__(timeout_s=default.timeout_s, retries=0)
        self.routes = dict(routes)
        self.default = default

    def for_language(self, language: str) -> SpeechToText:
        """The recogniser that transcribes ``language``."""
        primary = language.split("-")[0].split("_")[0].lower()
        found = self.routes.get(language) or self.routes.get(primary) or self.routes.get("*")
        return found or self.default

    async def transcribe(
        self,
        audio: Pcm16,
        *,
        language: str,
        hints: list[str] | None = None,
        context: str | None = None,
    ) -> Transcript:
        """The chosen recogniser's `transcribe`: its deadline, retries and metrics."""
        stt = self.for_language(language)
        return await stt.transcribe(audio, language=language, hints=hints, context=context)

    async def _transcribe(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None
    ) -> Transcript:  # pragma: no cover - `transcribe` never calls it
        return await self.for_language(language)._transcribe(audio, language, hints, context)

    async def warm_up(self, languages: tuple[str, ...] = ("es", "en")) -> None:
        """Load the local models of ``languages`` (hosted ones have nothing to load)."""
        for language in languages:
            stt = self.for_language(language)
            if isinstance(stt, WhisperSTT):
                await stt.warm_up((language,))


ChosenSTT = WhisperSTT | PerLanguageSTT


def live_specs(settings: Settings) -> dict[str, SttSpec]:
    """`stt_live`, parsed (the settings validated it already)."""
    return parse_stt_map(settings.stt_live)


def offline_specs(settings: Settings) -> dict[str, SttSpec]:
    """`stt_offline` over `stt_live`: a language without a post-call model keeps its live one."""
    return {**live_specs(settings), **parse_stt_map(settings.stt_offline)}


def live_stt(settings: Settings) -> ChosenSTT:
    """The recogniser for live turns: greedy, short encoder windows, hosted deadlines."""
    return build(
        live_specs(settings),
        settings,
        setting="stt_live",
        whisper={
            "cpu_threads": settings.stt_cpu_threads,
            "encoder_windows": settings.stt_encoder_windows,
        },
        timeout_s=settings.stt_openai_timeout_s,
        retries=settings.stt_openai_retries,
    )


def offline_stt(settings: Settings, whisper: Mapping[str, Any]) -> ChosenSTT:
    """The post-call recogniser: `whisper` options (beam search...) for local models,
    patient deadlines for hosted ones."""
    return build(
        offline_specs(settings),
        settings,
        setting="stt_offline",
        whisper=whisper,
        timeout_s=max(settings.stt_openai_timeout_s, OFFLINE_HOSTED_TIMEOUT_S),
        retries=max(settings.stt_openai_retries, OFFLINE_HOSTED_RETRIES),
    )


def build(
    specs: Mapping[str, SttSpec],
    settings: Settings,
    *,
    setting: str,
    whisper: Mapping[str, Any],
    timeout_s: float,
    retries: int,
) -> ChosenSTT:
    """Recognisers for ``specs``: one `WhisperSTT` for the local ones, one `OpenAISTT`
    per hosted model.

    Raises:
        InvalidSettingsError: a spec that cannot be served here, naming ``setting``.
    """
    local: dict[str, ModelSpec] = {}
    hosted: dict[str, SttSpec] = {}
    for language, spec in specs.items():
        if spec.hosted:
            hosted[language] = spec
        else:
            local[language] = resolve_local(spec, settings, setting=setting, language=language)
    fallback = local.pop("*", "base")
    whisper_stt = WhisperSTT(models=local, fallback=fallback, **whisper)
    if not hosted:
        return whisper_stt
    clients: dict[str, OpenAISTT] = {}
    routes: dict[str, SpeechToText] = {}
    for language, spec in hosted.items():
        if spec.value not in clients:
            clients[spec.value] = OpenAISTT(
                model=spec.value,
                api_key=_api_key(settings, setting=setting, language=language, spec=spec),
                base_url=settings.stt_openai_base_url,
                timeout_s=timeout_s,
                retries=retries,
            )
        routes[language] = clients[spec.value]
    return PerLanguageSTT(routes, default=whisper_stt)


def resolve_local(spec: SttSpec, settings: Settings, *, setting: str, language: str) -> ModelSpec:
    """A local spec as `WhisperSTT` takes it: a shipped name, or a ready model folder.

    Raises:
        InvalidSettingsError: a folder without a model, or a faster-whisper model that is
            neither cached nor allowed to download (or failed to).
    """
    where = f"{ENV_PREFIX}{setting.upper()} [{language}]"
    if spec.kind == "shipped":
        return "base" if spec.value == "base" else "tiny.en"
    if spec.kind == "folder":
        folder = spec.folder
        if not (folder / "model.bin").is_file():
            raise InvalidSettingsError(
                [f"{where}: {spec.value!r} is not a CTranslate2 model folder (no model.bin)"]
            )
        return folder
    return _downloaded(spec.value, settings.stt_download, where)


def _downloaded(name: str, download: bool, where: str) -> Path:
    from faster_whisper.utils import download_model  # type: ignore[import-untyped]

    try:
        return Path(download_model(name, local_files_only=not download))
    except Exception as exc:  # huggingface_hub raises several kinds; all mean "not here"
        if not download:
            problem = (
                f"faster-whisper model {name!r} is not in the Hugging Face cache and "
                f"{ENV_PREFIX}STT_DOWNLOAD is false; set it to true to download it "
                "(needs internet), or give a model folder"
            )
        else:
            problem = f"faster-whisper model {name!r} could not be downloaded ({exc})"
        raise InvalidSettingsError([f"{where}: {problem}"]) from exc


def _api_key(settings: Settings, *, setting: str, language: str, spec: SttSpec) -> str:
    variable = settings.stt_openai_api_key_env
    key = os.environ.get(variable, "").strip()
    if key:
        return key
    if settings.stt_openai_base_url:
        return "not-needed"  # a self-hosted server usually takes any key
    raise InvalidSettingsError(
        [
            f"{ENV_PREFIX}{setting.upper()} [{language}]: {spec} needs an API key in "
            f"${variable} (named by {ENV_PREFIX}STT_OPENAI_API_KEY_ENV), which is unset"
        ]
    )


async def aclose(stt: SpeechToText) -> None:
    """Close the hosted clients of a chosen recogniser (local models stay cached)."""
    if isinstance(stt, PerLanguageSTT):
        for routed in {id(s): s for s in stt.routes.values()}.values():
            await aclose(routed)
    elif isinstance(stt, OpenAISTT):
        await stt.aclose()
