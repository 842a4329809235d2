"""An agent's voice as data: a local Kokoro voice or a hosted ElevenLabs one.

    voice: {provider: kokoro, voice: ef_dora, speed: 1.0}
    voice: {provider: elevenlabs, voice_id: ..., api_key_env: ELEVENLABS_API_KEY}

Both have the same ``tts(language, environ)`` shape; a definition's ``voice`` is either,
told apart by ``provider`` (`VoiceSpec`). Kokoro needs no key; ``environ`` may name
another voices folder (``CENTRALITA_KOKORO_VOICES_DIR``). Without a voice, the agent
speaks with the line's (espeak-ng unless the media worker's settings say otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, HttpUrl, Tag, field_validator

from realtime.providers.elevenlabs import DEFAULT_MODEL, ElevenLabsTTS
from realtime.providers.kokoro import KokoroTTS
from realtime.providers.kokoro_models import KNOWN_VOICES, installed_voices, voices_dir

__all__ = ["ElevenLabsVoiceSpec", "KokoroVoiceSpec", "VoiceSpec"]


class ElevenLabsVoiceSpec(BaseModel):
    """The agent's ElevenLabs voice; espeak-ng says what it cannot."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["elevenlabs"] = "elevenlabs"
    voice_id: str = Field(min_length=1)
    model_id: str = DEFAULT_MODEL
    api_key_env: str = Field(default="ELEVENLABS_API_KEY")
    base_url: HttpUrl | None = None

    def tts(self, language: str, environ: Mapping[str, str]) -> ElevenLabsTTS:
        """The voice, its key read from ``environ``.

        Raises:
            ValueError: the key's variable is not set.
        """
        key = environ.get(self.api_key_env)
        if not key:
            raise ValueError(f"{self.api_key_env} is not set: the agent's voice has no key")
        return ElevenLabsTTS(
            api_key=key,
            voices={language.split("-")[0]: self.voice_id, "*": self.voice_id},
            model_id=self.model_id,
            base_url=str(self.base_url).rstrip("/") if self.base_url else None,
        )


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


def _provider(value: Any) -> str:
    """A voice block's provider; ElevenLabs when unnamed (agents written before Kokoro)."""
    if isinstance(value, dict):
        return str(value.get("provider", "elevenlabs"))
    return str(getattr(value, "provider", "elevenlabs"))


VoiceSpec = Annotated[
    Annotated[ElevenLabsVoiceSpec, Tag("elevenlabs")] | Annotated[KokoroVoiceSpec, Tag("kokoro")],
    Discriminator(_provider),
]
"""An agent's own voice, by ``provider``."""
