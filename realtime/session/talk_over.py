"""When the caller talks over the agent: a backchannel to ride out, or a barge-in.

Speech confirmed while the agent is talking pauses its voice at once (`hold`), keeping
its place. What the caller says then decides:

- a short utterance whose words are all backchannels ("ajá", "sí", "mhm"): the agent
  resumes where it paused, and the call records a `backchannel` event, not a turn;
- anything else, or speech that goes on past `BACKCHANNEL_MAX_MS`, or a transcript that
  fails: a barge-in (`barge_in`): the rest of the reply is dropped, the transcript keeps
  what was heard, and the utterance is a turn.

Turns still reach the brain in the order they were said: an utterance heard while an
earlier one is being judged waits for that judgement (`hand_off`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from centralita.kernel.call_events import CallEventType
from centralita.kernel.tasks import cancelling_me
from realtime.audio.frames import FRAME_MS
from realtime.audio.vad import SpeechStarted
from realtime.providers.base import ProviderError, SpeechToText, Transcript
from realtime.session.backchannels import BACKCHANNEL_MAX_MS, is_backchannel
from realtime.session.hearing import Heard
from realtime.session.record import CallRecord
from realtime.session.speech import AgentSpeech


class TalkOver:
    """One call's handling of speech over the agent.

    Args:
        record: the call's record (events, the last turn marked interrupted).
        speech: the agent's voice (paused, resumed, stopped).
        stt: transcribes a held utterance that has no early transcript.
        language, hints: how the held utterance is transcribed.
        take_turn: hands an utterance to the brain as a turn.
        cancel_reply: stops the reply being said (a barge-in).
    """

    def __init__(
        self,
        *,
        record: CallRecord,
        speech: AgentSpeech,
        stt: SpeechToText,
        language: str,
        hints: list[str],
        take_turn: Callable[[Heard], None],
        cancel_reply: Callable[[], None],
    ) -> None:
        self._record = record
        self._speech = speech
        self._stt = stt
        self._language = language
        self._hints = hints
        self._take_turn = take_turn
        self._cancel_reply = cancel_reply
        self.held: SpeechStarted | None = None
        self.judging: asyncio.Task[None] | None = None  # a held utterance's transcript

    def speech_started(self, started: SpeechStarted, *, agent_playing: bool) -> None:
        """The caller started speaking (confirmed)."""
        if self.held is not None:
            self.barge_in(self.held)  # talking on after a short word: a barge-in
        elif agent_playing:
            self._speech.pause()  # silent at once, keeping its place, until judged
            self.held = started

    def still_speaking(self, talked_ms: int) -> None:
        """The held utterance goes on: past the longest backchannel, it is a barge-in."""
        if self.held is not None and talked_ms > BACKCHANNEL_MAX_MS:
            self.barge_in(self.held)

    def utterance_ended(self, heard: Heard) -> None:
        """An utterance is over: a turn, or (held over the agent) one to judge first."""
        held = self.held
        event = heard.event
        if held is None or held.onset_ms != event.started_at_ms:
            self.hand_off(heard)
        elif event.forced or event.duration_ms > BACKCHANNEL_MAX_MS:
            self.barge_in(held)
            self.hand_off(heard)
        else:
            self.judging = asyncio.create_task(self._judge(held, heard))

    async def _judge(self, held: SpeechStarted, heard: Heard) -> None:
        """A short utterance over the paused agent: resume for a backchannel, else it
        is a barge-in and a turn."""
        if heard.early is None:
            heard.early = asyncio.create_task(
                self._stt.transcribe(heard.event.audio, language=self._language, hints=self._hints)
            )
        try:
            transcript: Transcript | None = await heard.early
        except (ProviderError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and cancelling_me():
                raise  # the call is over
            transcript = None  # not understood: treat it as the barge-in it may be
        if self.held is not held:  # the caller talked on: already a barge-in
            self.hand_off(heard)
        elif transcript is not None and is_backchannel(transcript.text):
            self.held = None
            self._speech.resume()
            self._record.usage.stt_audio_s += transcript.audio_s
            self._record.event(
                CallEventType.BACKCHANNEL,
                text=transcript.text.strip(),
                duration_ms=heard.event.duration_ms,
            )
        else:
            self.barge_in(held)
            self.hand_off(heard)

    def hand_off(self, heard: Heard) -> None:
        """The utterance is a turn; after one still being judged, in the order said."""
        judging = self.judging
        if judging is None or judging.done() or judging is asyncio.current_task():
            self._take_turn(heard)
        else:
            judging.add_done_callback(lambda _: self._take_turn(heard))

    def barge_in(self, started: SpeechStarted) -> None:
        """The caller talks over the agent: stop, keep only what was heard.

        The agent has been silent since the pause, when the speech was confirmed; this
        drops what it had still to say.
        """
        self.held = None
        heard = self._speech.stop()
        # Playback went silent from the frame after `started` (the pause); what the
        # caller said before the endpointer confirmed speech is the rest of the delay.
        stop_after_onset_ms = started.at_ms - started.onset_ms + FRAME_MS
        self._cancel_reply()
        if self._record.turns:
            self._record.turns[-1].interrupted = True
        self._record.event(
            CallEventType.INTERRUPTION, heard=heard, stop_after_onset_ms=stop_after_onset_ms
        )
