"""When the caller's turn is over: an agent's `turns:` block (see the README, "Turns").

`mode: model` asks Smart Turn at each pause whether the utterance is complete
(`realtime.audio.turn_model`), and waits up to `max_wait_ms` for a caller who paused
mid-sentence; `mode: silence` ends the turn after `silence_ms`, whatever was said.
The defaults are the ones `python -m bench turns` measured (bench/results/turns.json).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TurnSettings(BaseModel):
    """How an agent decides that the caller has finished speaking."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["model", "silence"] = "model"
    # silence mode: the pause that ends a turn (LiveKit's default; longer than
    # espeak-ng's pause between sentences).
    silence_ms: int = Field(default=500, ge=100, le=5000)
    # model mode: the first question after this much silence...
    check_ms: int = Field(default=200, ge=60, le=2000)
    # ...asked again this often while the silence lasts (the pause itself is a cue)...
    recheck_ms: int = Field(default=300, ge=60, le=2000)
    # ...and the turn ends at this much silence whatever the model says.
    max_wait_ms: int = Field(default=1600, ge=200, le=5000)
    # P(complete) at or above which the turn ends. High: on the turn set the model gives
    # mid-sentence pauses 0.9+ too, and 0.95 is the least cutting of 0.5/0.8/0.95.
    threshold: float = Field(default=0.95, gt=0.0, lt=1.0)
    # Silero must agree that a frame is speech (None: webrtcvad alone).
    silero_floor: float | None = Field(default=0.15, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check_before_max(self) -> TurnSettings:
        if self.check_ms >= self.max_wait_ms:
            raise ValueError("check_ms must be shorter than max_wait_ms")
        return self

    @property
    def endpoint_silence_ms(self) -> int:
        """The silence after which a turn ends for sure (the endpointer's `silence_ms`)."""
        return self.max_wait_ms if self.mode == "model" else self.silence_ms

    @property
    def turn_check_ms(self) -> int | None:
        """When the model is first asked (None in silence mode)."""
        return self.check_ms if self.mode == "model" else None
