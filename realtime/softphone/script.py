"""A bot softphone's script: the person it plays, as data (personas embed it)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from realtime.audio.line_conditions import LineCondition


class BotLine(BaseModel):
    """One turn of the bot: what it says, and how."""

    say: str = ""
    # Speak this long after the agent starts talking, instead of waiting for its end.
    barge_in_after_ms: int | None = Field(default=None, ge=0)
    # Say nothing for this long (the agent should re-prompt).
    silent_s: float = Field(default=0.0, ge=0)


class BotScript(BaseModel):
    """A person, as a conversation: the lines said in order, then hang up."""

    language: str = "es"
    lines: list[BotLine] = Field(default_factory=list)
    think_ms: int = Field(default=150, ge=0, description="Pause before answering")
    speaks_first: bool = Field(
        default=False, description="Say the first line at once (a person joining a call)"
    )
    linger_s: float = Field(default=3.0, ge=0, description="Wait after the last line")
    ring_s: float = Field(
        default=0.0, ge=0, le=60, description="How long the phone rings before they pick up"
    )
    voice: str | None = Field(
        default=None,
        pattern=r"^(espeak|kokoro:[a-z]{2}_[a-z]+)$",
        description="Who speaks: espeak, or kokoro:<voice> (em_alex, af_heart...); "
        "unset: the line's bot voice",
    )
    line: LineCondition = Field(
        default="clean", description="The caller's line: clean, telephone, noise, noisy_telephone"
    )
