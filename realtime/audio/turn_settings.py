"""When the caller's turn is over: an agent's `turns:` block (see the README, "Turns").

An agent without the block keeps a fixed 500 ms silence; a block without `mode` reads the
words (`mode: words`), the recommended setting (see the README, "Turns").

`mode: model` asks Smart Turn at each pause whether the utterance is complete
(`realtime.audio.turn_model`), and waits up to `max_wait_ms` for a caller who paused
mid-sentence; `mode: silence` ends the turn after `silence_ms`, whatever was said.
The defaults are the ones `python -m bench turns` measured (bench/results/turns.json):
on espeak-ng and Kokoro voices, in both languages, Smart Turn gives mid-sentence
fragments ("mi número es el", "puedo pagar", "I could send") P(complete) 0.9-0.99, so no
threshold both keeps cut-offs under 5 % and ends complete answers early. The only
settings that keep the caller from being cut off are a 0.99 threshold (the model almost
never ends a turn) and a 1.3 s longest wait: cut-off 0-3 %, median delay 1.3 s, against
75 % and 0.5 s for the fixed 500 ms silence. Spanish and English measured alike, so
both take the class defaults.

`mode: words` asks the words of the early transcript instead
(`centralita.understanding.turn_end`, `realtime.session.turn_judging`) at the same
`check_ms`, and waits up to `max_wait_ms` too: on Kokoro-voiced callers it cut 0-20 % of
the pauses (every Spanish cut a Whisper mishearing) and ended complete answers ~0.5 s
after their last word, most of it Whisper's own time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TurnSettings(BaseModel):
    """How an agent decides that the caller has finished speaking."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["model", "words", "silence"] = "words"
    # silence mode: the pause that ends a turn (LiveKit's default; longer than
    # espeak-ng's pause between sentences).
    silence_ms: int = Field(default=500, ge=100, le=5000)
    # model mode: the first question after this much silence...
    check_ms: int = Field(default=200, ge=60, le=2000)
    # ...asked again this often while the silence lasts (the pause itself is a cue)...
    recheck_ms: int = Field(default=300, ge=60, le=2000)
    # ...and the turn ends at this much silence whatever the model says (1.3 s: just
    # over the turn set's longest mid-sentence pause; 1.0 s cut 45-50 % of them).
    max_wait_ms: int = Field(default=1300, ge=200, le=5000)
    # words mode: a turn whose words neither finish nor hang ends at this silence (the
    # same 500 ms as without a `turns:` block; a check falls on it with the defaults).
    settle_ms: int = Field(default=500, ge=100, le=5000)
    # P(complete) at or above which the turn ends. Very high: the model gives
    # mid-sentence pauses 0.9-0.99 in both languages and voice sets; 0.98 already cut
    # 9-50 % of them, 0.95 28-80 %.
    threshold: float = Field(default=0.99, gt=0.0, lt=1.0)
    # Silero must agree that a frame is speech (None: webrtcvad alone).
    silero_floor: float | None = Field(default=0.15, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check_before_max(self) -> TurnSettings:
        if self.check_ms >= self.max_wait_ms:
            raise ValueError("check_ms must be shorter than max_wait_ms")
        if not self.check_ms <= self.settle_ms <= self.max_wait_ms:
            raise ValueError("settle_ms must lie between check_ms and max_wait_ms")
        return self

    @property
    def endpoint_silence_ms(self) -> int:
        """The silence after which a turn ends for sure (the endpointer's `silence_ms`)."""
        return self.silence_ms if self.mode == "silence" else self.max_wait_ms

    @property
    def turn_check_ms(self) -> int | None:
        """When the model or the words are first asked (None in silence mode)."""
        return None if self.mode == "silence" else self.check_ms
