"""What every call leg offers the conversation line, and the session each one opens.

A leg is how audio reaches a conversation: a WebRTC peer connection (`agent`) or a
carrier's media stream (`media_stream`). The line holds any of them the same way:
`talk` runs the call's `CallSession` over the leg's audio and returns its record,
`hang_up` ends it from outside, `session` is there for the takeover controls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from centralita.correction.online import OnlineCorrector
from realtime.agents.setup import AgentSetup
from realtime.audio.playback import AgentVoiceTrack
from realtime.audio.recorder import CallRecorder
from realtime.providers.base import SpeechToText, TextToSpeech
from realtime.session.call_session import CallSession
from realtime.session.record import CallEvent, CallRecord


class TalkingLeg(Protocol):
    """A call leg the conversation line can hold a conversation on."""

    session: CallSession | None

    async def talk(
        self,
        call_id: str,
        setup: AgentSetup,
        *,
        stt: SpeechToText,
        tts: TextToSpeech,
        corrector: OnlineCorrector | None = None,
        recorder: CallRecorder | None = None,
        on_event: Callable[[CallEvent], None] | None = None,
    ) -> CallRecord:
        """Hold the conversation until it ends; its record."""
        ...

    def hang_up(self, by: str = "remote") -> None:
        """End the conversation from outside."""
        ...


def open_session(
    call_id: str,
    setup: AgentSetup,
    voice: AgentVoiceTrack,
    *,
    stt: SpeechToText,
    tts: TextToSpeech,
    corrector: OnlineCorrector | None,
    recorder: CallRecorder | None,
    on_event: Callable[[CallEvent], None] | None,
) -> CallSession:
    """The call's session for `setup`'s agent, speaking on `voice`."""
    session = CallSession(
        call_id=call_id,
        brain=setup.brain,
        stt=stt,
        # The agent's own voice (e.g. ElevenLabs) when it has one, the line's
        # (espeak-ng) as its fallback.
        tts=setup.voice or tts,
        fallback_tts=tts if setup.voice is not None else None,
        voice=voice,
        config=setup.config,
        corrector=corrector,
        recorder=recorder,
    )
    session.human_queue = setup.human_queue
    if on_event is not None:
        session.record.listeners.append(on_event)
    return session
