"""Voice activity detection and endpointing on 16 kHz mono int16 audio (webrtcvad).

`Endpointer` is fed the caller's audio in chunks of any length and answers with
events: `SpeechStarted` once speech has lasted `min_speech_ms` (what barge-in acts
on), `UtteranceEnded` with the utterance's audio after `silence_ms` of silence, and
`Silence` ticks while nobody speaks (for re-prompts). Time is counted in samples fed,
never read from a clock, so the same audio always gives the same events.

Turn mode (`turn_check_ms` set): a pause does not end the turn by its length alone.
After `turn_check_ms` of silence the endpointer asks whether the utterance is
complete (Smart Turn, `realtime.audio.turn_model`), again every `recheck_ms` while the
silence lasts, and ends it at the first "complete"; `silence_ms` is then the longest
it waits for a caller who paused mid-sentence. The question goes either to `judge`
(called inline: deterministic, for benchmarks and tests) or, without one, out as a
`TurnCheck` event whose answer comes back through `conclude` (the session runs the
~40 ms model in an executor, so the event loop never stalls on it; the end is then
declared at the stream time the answer arrives, and `endpointing_ms` says so).

Cost: webrtcvad takes ~2 µs per 20 ms frame here and the energy gate a few more, and
Silero (when on) ~0.1 ms per 32 ms window, so the endpointer runs inline on the event
loop; an executor hop would cost more. The turn model does not (see above).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import webrtcvad  # type: ignore[import-untyped]

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import STT_RATE, AudioConversionError, as_pcm16_mono
from realtime.audio.silero import SileroStream


@dataclass(frozen=True)
class SpeechStarted:
    """Speech has lasted `min_speech_ms`: the moment to barge in.

    Attributes:
        at_ms: stream time when the speech was confirmed (when this event fires).
        onset_ms: stream time of the first voiced frame of that speech.
    """

    at_ms: int
    onset_ms: int


@dataclass(frozen=True)
class UtteranceEnded:
    """An utterance is over: `silence_ms` of silence followed speech.

    Attributes:
        audio: 16 kHz mono int16, from `audio_start_ms` (pre-roll before the onset)
            to a short tail after `ended_at_ms`.
        started_at_ms: stream time of the first voiced frame.
        ended_at_ms: stream time of the end of the last voiced frame.
        endpointing_ms: how long after `ended_at_ms` the end was declared (the
            silence waited for; 0 when `forced`).
        audio_start_ms: stream time of `audio[0]`.
        forced: the utterance hit `max_utterance_ms` (or the stream was flushed) and
            was cut without waiting for silence.
    """

    audio: Pcm16 = field(repr=False)
    started_at_ms: int
    ended_at_ms: int
    endpointing_ms: int
    audio_start_ms: int
    forced: bool = False

    @property
    def duration_ms(self) -> int:
        """Speech duration, first to last voiced frame."""
        return self.ended_at_ms - self.started_at_ms


@dataclass(frozen=True)
class Silence:
    """Nobody has spoken for `duration_ms` (since the last utterance or the stream start)."""

    duration_ms: int


@dataclass(frozen=True)
class UtterancePaused:
    """The speaker has paused for `early_ms`: the utterance may be over (speculative).

    `audio` is exactly what `UtteranceEnded` will carry if no speech follows before
    `silence_ms` (both end `tail_ms` after the last voiced frame), so a transcript
    started now can be used as is; `ended_at_ms` ties the two events together.
    """

    audio: Pcm16 = field(repr=False)
    ended_at_ms: int


@dataclass(frozen=True)
class TurnCheck:
    """Turn mode asks: is the utterance that paused at `ended_at_ms` complete?

    Answer with `Endpointer.conclude(check, complete)`. `audio` is the utterance up to
    now, its silence included (the model hears how long the pause already is).
    """

    audio: Pcm16 = field(repr=False)
    ended_at_ms: int
    at_ms: int


VadEvent = SpeechStarted | UtteranceEnded | UtterancePaused | Silence | TurnCheck
# Says whether an utterance (16 kHz mono int16, ending now) is complete.
TurnJudge = Callable[[Pcm16], bool]


class Endpointer:
    """Turns a stream of 16 kHz mono int16 audio into speech / utterance / silence events.

    A frame counts as speech when webrtcvad says so *and* its level is above
    `energy_floor_dbfs`: webrtcvad keeps flagging speech for a few frames after any
    burst (its own hangover), which would let a 100 ms click pass for 200 ms of speech.
    Onset needs `min_speech_ms` of speech frames, with gaps no longer than
    `onset_gap_ms` between them; a longer gap discards the candidate (a click, a
    cough). Offset needs `silence_ms` without a speech frame.
    """

    def __init__(
        self,
        *,
        aggressiveness: int = 2,
        frame_ms: int = 20,
        min_speech_ms: int = 200,
        silence_ms: int = 600,
        pre_roll_ms: int = 200,
        tail_ms: int = 100,
        onset_gap_ms: int = 60,
        silence_tick_ms: int = 500,
        max_utterance_ms: int = 30_000,
        energy_floor_dbfs: float = -55.0,
        early_ms: int | None = None,
        turn_check_ms: int | None = None,
        recheck_ms: int = 300,
        judge: TurnJudge | None = None,
        silero_floor: float | None = None,
    ) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0..3, got {aggressiveness}")
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"webrtcvad takes 10, 20 or 30 ms frames, got {frame_ms}")
        for name, value in (
            ("min_speech_ms", min_speech_ms),
            ("silence_ms", silence_ms),
            ("silence_tick_ms", silence_tick_ms),
            ("max_utterance_ms", max_utterance_ms),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        for name, value in (
            ("pre_roll_ms", pre_roll_ms),
            ("tail_ms", tail_ms),
            ("onset_gap_ms", onset_gap_ms),
        ):
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        self._vad = webrtcvad.Vad(aggressiveness)
        self.frame_ms = frame_ms
        self.frame_samples = STT_RATE * frame_ms // 1000
        self.min_speech_ms = min_speech_ms
        self.silence_ms = silence_ms
        self.pre_roll_ms = pre_roll_ms
        self.tail_ms = tail_ms
        self.onset_gap_ms = onset_gap_ms
        self.silence_tick_ms = silence_tick_ms
        self.max_utterance_ms = max_utterance_ms
        # A pause this long announces a likely end (`UtterancePaused`) so transcription
        # can start before the endpoint is sure; at least `tail_ms`, so the audio is the
        # same the end will carry.
        if early_ms is not None and not tail_ms <= early_ms < silence_ms:
            raise ValueError(f"early_ms must be in [tail_ms, silence_ms), got {early_ms}")
        self.early_ms = early_ms
        if turn_check_ms is not None and not 0 < turn_check_ms < silence_ms:
            raise ValueError(f"turn_check_ms must be in (0, silence_ms), got {turn_check_ms}")
        if recheck_ms <= 0:
            raise ValueError(f"recheck_ms must be positive, got {recheck_ms}")
        self.turn_check_ms = turn_check_ms
        self.recheck_ms = recheck_ms
        self._judge = judge
        # With a floor, a frame is speech only if Silero agrees too (its latest 32 ms
        # window): webrtcvad takes clatter, fans and line noise for speech, and a noise
        # burst must neither stop the agent nor hold the caller's turn open.
        self._silero = SileroStream() if silero_floor is not None else None
        self.silero_floor = silero_floor if silero_floor is not None else 0.0
        # Mean square of int16 samples at the floor level.
        self._energy_floor = (32768.0 * 10 ** (energy_floor_dbfs / 20)) ** 2

        pre_frames = math.ceil(pre_roll_ms / frame_ms)
        # The idle history holds the pre-roll, the onset candidate (with gaps allowed,
        # several times min_speech_ms) and the short speech merged before it (see
        # `_start_candidate`), up to a bound: older audio is not kept.
        gap_frames = onset_gap_ms // frame_ms
        cand_frames = math.ceil(min_speech_ms / frame_ms) * (gap_frames + 1)
        lookback_frames = math.ceil(max(silence_ms, 1000) / frame_ms)
        self._history: collections.deque[Pcm16] = collections.deque(
            maxlen=pre_frames + cand_frames + lookback_frames + 1
        )
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames_done = 0
        self._reset_state()
        self._silence_since_ms = 0
        self._next_tick_ms = silence_tick_ms

    def _reset_state(self) -> None:
        self._in_speech = False
        self._cand_start_frame: int | None = None  # first voiced frame of the candidate
        self._cand_region_start: int = 0  # ...or of short speech just before it
        self._cand_voiced_ms = 0
        self._prev_region_start: int | None = None  # a discarded candidate's region
        self._prev_voiced_end = 0  # frame index after its last voiced frame
        self._gap_ms = 0
        self._utt_frames: list[Pcm16] = []
        self._utt_audio_start_ms = 0
        self._utt_onset_ms = 0
        self._last_voiced_end_ms = 0
        self._silence_run_ms = 0
        self._asking: int | None = None  # the pause (ended_at_ms) a TurnCheck is out for
        self._settle_ms: int | None = None  # this pause ends at this silence (an answer)

    @property
    def now_ms(self) -> int:
        """Stream time: milliseconds of audio processed so far (whole frames)."""
        return self._frames_done * self.frame_ms

    @property
    def in_speech(self) -> bool:
        """Whether speech has been confirmed and its utterance is not over yet."""
        return self._in_speech

    def reset(self) -> None:
        """Forget any speech in progress and buffered audio; stream time keeps running."""
        self._pending = np.zeros(0, dtype=np.int16)
        self._history.clear()
        self._reset_state()
        self._silence_since_ms = self.now_ms
        self._next_tick_ms = self.now_ms + self.silence_tick_ms

    def feed(self, samples: Pcm16) -> list[VadEvent]:
        """Process a chunk of 16 kHz mono int16 audio of any length.

        Returns:
            The events the chunk completed, in stream order.

        Raises:
            AudioConversionError: (a ValueError) samples are not mono int16.
        """
        mono = as_pcm16_mono(samples)
        if mono.size == 0:
            return []
        # A copy either way: frames are kept (pre-roll, utterance) and the caller may
        # reuse its buffer.
        buf = np.concatenate([self._pending, mono]) if self._pending.size else mono.copy()
        n = self.frame_samples
        whole = buf.size // n
        events: list[VadEvent] = []
        for i in range(whole):
            self._frame(buf[i * n : (i + 1) * n], events)
        self._pending = buf[whole * n :].copy()
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream: close an utterance in progress (as `forced`), drop partial frames."""
        self._pending = np.zeros(0, dtype=np.int16)
        if not self._in_speech:
            return []
        return [self._end_utterance(forced=True)]

    def _is_speech(self, frame: Pcm16) -> bool:
        if self._silero is not None:
            self._silero.feed(frame)  # every frame: the LSTM must hear the whole stream
        energy = float(np.dot(frame, frame.astype(np.float64))) / frame.size
        if energy < self._energy_floor:
            return False
        try:
            voiced = bool(self._vad.is_speech(frame.tobytes(), STT_RATE))
        except Exception as exc:  # webrtcvad raises a bare Exception on bad input
            raise AudioConversionError(f"webrtcvad rejected a frame: {exc}") from exc
        if voiced and self._silero is not None:
            return self._silero.probability >= self.silero_floor
        return voiced

    def _frame(self, frame: Pcm16, events: list[VadEvent]) -> None:
        voiced = self._is_speech(frame)
        self._frames_done += 1
        end_ms = self.now_ms

        if self._in_speech:
            self._utt_frames.append(frame)
            if voiced:
                self._last_voiced_end_ms = end_ms
                self._silence_run_ms = 0
                self._settle_ms = None
            else:
                self._silence_run_ms += self.frame_ms
                if self._silence_run_ms == self._early_run_ms:
                    events.append(UtterancePaused(self._kept_audio(), self._last_voiced_end_ms))
                if self._check_due() and self._ask(events):
                    return
            if self._silence_run_ms >= min(self.silence_ms, self._settle_ms or self.silence_ms):
                events.append(self._end_utterance(forced=False))
            elif end_ms - self._utt_onset_ms >= self.max_utterance_ms:
                events.append(self._end_utterance(forced=True))
            return

        self._history.append(frame)
        if voiced:
            if self._cand_start_frame is None:
                self._start_candidate(self._frames_done - 1)
            self._cand_voiced_ms += self.frame_ms
            self._gap_ms = 0
            self._last_voiced_end_ms = end_ms
            if self._cand_voiced_ms >= self.min_speech_ms:
                self._start_utterance(events)
                return
        elif self._cand_start_frame is not None:
            self._gap_ms += self.frame_ms
            if self._gap_ms > self.onset_gap_ms:
                self._prev_region_start = self._cand_region_start
                self._prev_voiced_end = self._last_voiced_end_ms // self.frame_ms
                self._cand_start_frame = None
                self._cand_voiced_ms = 0
                self._gap_ms = 0

        silent_for = end_ms - self._silence_since_ms
        if end_ms >= self._next_tick_ms:
            events.append(Silence(duration_ms=silent_for))
            self._next_tick_ms += self.silence_tick_ms

    def _check_due(self) -> bool:
        """Whether this frame's silence run is one at which turn mode asks the model."""
        if self.turn_check_ms is None or self._silence_run_ms >= self.silence_ms:
            return False
        first = math.ceil(self.turn_check_ms / self.frame_ms) * self.frame_ms
        step = max(self.frame_ms, self.recheck_ms // self.frame_ms * self.frame_ms)
        run = self._silence_run_ms
        return run >= first and (run - first) % step == 0

    def _ask(self, events: list[VadEvent]) -> bool:
        """Ask whether the utterance is complete; True when it ended here (inline judge)."""
        if self._asking == self._last_voiced_end_ms:
            return False  # the previous answer for this pause is not back yet
        audio = np.concatenate(self._utt_frames)
        if self._judge is None:
            self._asking = self._last_voiced_end_ms
            events.append(TurnCheck(audio, self._last_voiced_end_ms, self.now_ms))
            return False
        if self._judge(audio):
            events.append(self._end_utterance(forced=False))
            return True
        return False

    def conclude(
        self, check: TurnCheck, complete: bool, *, settle_ms: int | None = None
    ) -> list[VadEvent]:
        """The answer to a `TurnCheck`: the `UtteranceEnded` when it closes the turn now.

        `settle_ms` (with `complete` False): the turn may be over, and ends once this
        pause's silence lasts that long, instead of `silence_ms` (at once if it already
        has). An answer that comes back after the caller spoke again, or after the turn
        ended anyway, is stale and changes nothing.
        """
        if not self._in_speech or check.ended_at_ms != self._last_voiced_end_ms:
            return []
        if self._silence_run_ms == 0:
            return []  # speech resumed in the very frame the pause ended at
        self._asking = None
        if not complete and settle_ms is not None:
            self._settle_ms = settle_ms
            complete = self._silence_run_ms >= settle_ms
        return [self._end_utterance(forced=False)] if complete else []

    def _start_candidate(self, frame_index: int) -> None:
        self._cand_start_frame = frame_index
        self._cand_region_start = frame_index
        # Short speech that ended less than `silence_ms` before this candidate (a
        # "hola," before the comma, when min_speech_ms is long) did not count towards
        # the onset, but belongs to the same utterance: were it confirmed speech, this
        # gap would not have ended it. Keep it, or the STT loses the first word.
        if (
            self._prev_region_start is not None
            and (frame_index - self._prev_voiced_end) * self.frame_ms < self.silence_ms
        ):
            self._cand_region_start = self._prev_region_start

    def _start_utterance(self, events: list[VadEvent]) -> None:
        assert self._cand_start_frame is not None
        # The history ends at the current frame; index back from there.
        oldest_held = self._frames_done - len(self._history)
        onset_frame = max(self._cand_region_start, oldest_held)
        onset_ms = onset_frame * self.frame_ms
        first_wanted = max(0, onset_ms - self.pre_roll_ms) // self.frame_ms
        first = max(first_wanted, oldest_held)
        self._utt_frames = list(self._history)[first - oldest_held :]
        self._utt_audio_start_ms = first * self.frame_ms
        self._utt_onset_ms = onset_ms
        self._in_speech = True
        self._silence_run_ms = 0
        self._history.clear()
        self._cand_start_frame = None
        self._cand_voiced_ms = 0
        self._prev_region_start = None
        self._gap_ms = 0
        events.append(SpeechStarted(at_ms=self.now_ms, onset_ms=onset_ms))

    @property
    def _early_run_ms(self) -> int:
        """The silence run (a whole number of frames) at which a pause is announced."""
        if self.early_ms is None:
            return -1
        return math.ceil(self.early_ms / self.frame_ms) * self.frame_ms

    def _kept_audio(self) -> Pcm16:
        """The utterance's audio up to `tail_ms` after its last voiced frame."""
        keep_until = min(self.now_ms, self._last_voiced_end_ms + self.tail_ms)
        keep_frames = max(0, (keep_until - self._utt_audio_start_ms) // self.frame_ms)
        frames = self._utt_frames[:keep_frames]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)

    def _end_utterance(self, *, forced: bool) -> UtteranceEnded:
        ended_at = self._last_voiced_end_ms
        event = UtteranceEnded(
            audio=self._kept_audio(),
            started_at_ms=self._utt_onset_ms,
            ended_at_ms=ended_at,
            endpointing_ms=0 if forced else self.now_ms - ended_at,
            audio_start_ms=self._utt_audio_start_ms,
            forced=forced,
        )
        self._reset_state()
        self._last_voiced_end_ms = ended_at
        self._silence_since_ms = ended_at
        elapsed = self.now_ms - ended_at
        self._next_tick_ms = ended_at + self.silence_tick_ms * (elapsed // self.silence_tick_ms + 1)
        return event
