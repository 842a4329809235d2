"""An agent's voice as data: which local Kokoro voice speaks, and how fast.

    voice: {provider: kokoro, voice: ef_dora, speed: 1.0}

Sits beside `ElevenLabsVoiceSpec` (realtime/agents/llm/agent.py) with the same
``tts(language, environ)`` shape, so a definition's ``voice`` can be either, told apart
by ``provider``. Kokoro needs no key; ``environ`` may name another voices folder
(``CENTRALITA_KOKORO_VOICES_DIR``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from realtime.providers.kokoro import KokoroTTS
from realtime.providers.kokoro_models import KNOWN_VOICES, installed_voices, voices_dir

__all__ = ["KokoroVoiceSpec"]


class KokoroVoiceSpec(BaseModel):
    """The agent's Kokoro voice (local, CPU); espeak-ng says what it cannot."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["kokoro"] = "kokoro"
    voice: str = Field(pattern=r"^[a-z]{2}_[a-z]+$", description="e.g. ef_dora, af_heart")
    speed: float = Field(default=1.0, ge=0.5, le=2.0)

    @field_validator("voice")
    @classmethod
    def _known_or_installed(cls, value: str) -> str:
        """A name Centralita knows, or one installed here: a typo fails at load, not
        at the first call."""
        if value in KNOWN_VOICES or value in installed_voices():
            return value
        known = ", ".join(sorted(KNOWN_VOICES))
        raise ValueError(f"unknown Kokoro voice {value!r}; known: {known} (or any installed)")

    def tts(self, language: str, environ: Mapping[str, str]) -> KokoroTTS:
        """The voice for ``language`` (files looked up as `kokoro_models.voices_dir`)."""
        return KokoroTTS(
            voices={language.split("-")[0]: self.voice, "*": self.voice},
            speed=self.speed,
            voices_folder=voices_dir(environ=environ),
        )
