"""Call recording: a 2-channel WAV, left = caller, right = agent, on one call clock.

Both sides are placed by their position on a shared call clock (samples since call
start, at the recording's rate). Where a side has no audio the recorder writes
silence, so a caller's word at 1.0 s lands at 1.0 s on the left channel whatever the
agent did meanwhile. The file is written incrementally in blocks (~0.5 s), and the
WAV header is patched at each block (Python's `wave` does it), so a crash leaves a
readable file of everything written so far.

Writes are small buffered file writes every half second: cheap enough for the event
loop. A side that runs ahead is held in memory for at most `max_lag_s`; past that
the lagging side is filled with silence and its late audio dropped.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from types import TracebackType
from typing import Literal, NamedTuple

import numpy as np

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import STT_RATE, AudioConversionError, PcmResampler, as_pcm16_mono

logger = logging.getLogger(__name__)

Channel = Literal["caller", "agent"]
_CHANNELS: tuple[Channel, Channel] = ("caller", "agent")


class RecorderError(RuntimeError):
    """The recording can't be written: the file is closed or broken."""


class WavChannels(NamedTuple):
    """The two sides of a call recording."""

    caller: Pcm16
    agent: Pcm16
    sample_rate: int


class _Side:
    __slots__ = ("chunks", "dropped", "end", "held", "resampler")

    def __init__(self) -> None:
        self.chunks: list[Pcm16] = []  # audio from the file's end to `end`
        self.held = 0  # samples in `chunks`
        self.end = 0  # call-clock position just after this side's last sample
        self.dropped = 0  # late or overlapping samples discarded
        self.resampler: PcmResampler | None = None

    def take(self, n: int) -> Pcm16:
        data = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)
        self.chunks = [data[n:]] if data.size > n else []
        self.held = max(0, data.size - n)
        return data[:n]


class CallRecorder:
    """Writes a call's two sides into a stereo 16-bit WAV as the call goes.

    Args:
        path: the WAV to create (parent folders must exist); overwritten if present.
        sample_rate: 16 kHz (speech) or 48 kHz (WebRTC's own rate).
        max_lag_s: how far one side may run ahead of the other before the lagging
            side is filled with silence (bounds memory).
        block_s: how much audio to gather before writing to the file.

    Raises:
        RecorderError: the file can't be created.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sample_rate: int = STT_RATE,
        max_lag_s: float = 2.0,
        block_s: float = 0.5,
    ) -> None:
        if sample_rate not in (16_000, 48_000):
            raise ValueError(f"record at 16000 or 48000 Hz, not {sample_rate}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self._max_lag = int(max_lag_s * sample_rate)
        self._block = max(1, int(block_s * sample_rate))
        self._sides: dict[Channel, _Side] = {ch: _Side() for ch in _CHANNELS}
        self._written = 0
        self._closed = False
        self._broken: BaseException | None = None
        try:
            # Opened here, not by `wave.open(path)`: that leaves a half-built object
            # whose finaliser raises when the path can't be opened.
            self._file = open(self.path, "wb")  # noqa: SIM115
        except OSError as exc:
            raise RecorderError(f"can't create recording {self.path}: {exc}") from exc
        self._wav: wave.Wave_write = wave.open(self._file, "wb")  # noqa: SIM115 (close())
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)

    # -- state ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether `close()` has run."""
        return self._closed

    @property
    def frames_written(self) -> int:
        """Stereo frames in the file so far."""
        return self._written

    @property
    def dropped_samples(self) -> dict[Channel, int]:
        """Samples discarded per side because they came late or overlapped."""
        return {ch: side.dropped for ch, side in self._sides.items()}

    def position(self, channel: Channel) -> int:
        """Call-clock position just after `channel`'s last sample."""
        return self._sides[channel].end

    def _check_open(self) -> None:
        if self._closed:
            raise RecorderError(f"recording {self.path} is closed")
        if self._broken is not None:
            raise RecorderError(f"recording {self.path} is broken: {self._broken}")

    # -- writing --------------------------------------------------------------------------

    def write(
        self,
        channel: Channel,
        samples: Pcm16,
        sample_rate: int | None = None,
        *,
        at_sample: int | None = None,
    ) -> None:
        """Add mono int16 audio for one side.

        Args:
            channel: "caller" (left) or "agent" (right).
            samples: mono int16 audio.
            sample_rate: its rate; resampled (per side, streaming) if it differs from
                the recording's. Defaults to the recording's rate.
            at_sample: call-clock position of `samples[0]`, in recording-rate samples.
                None: right after this side's previous audio. A gap is filled with
                silence; audio before the side's end, or already written, is dropped.

        Raises:
            RecorderError: the recording is closed or broken.
            AudioConversionError: (a ValueError) invalid samples or rate.
            ValueError: unknown channel or negative position.
        """
        self._check_open()
        if channel not in self._sides:
            raise ValueError(f"channel must be 'caller' or 'agent', not {channel!r}")
        if at_sample is not None and at_sample < 0:
            raise ValueError(f"at_sample must not be negative, got {at_sample}")
        side = self._sides[channel]
        mono = as_pcm16_mono(samples)
        rate = self.sample_rate if sample_rate is None else sample_rate
        if rate != self.sample_rate:
            if side.resampler is None or side.resampler.from_rate != rate:
                side.resampler = PcmResampler(rate, self.sample_rate)
            mono = side.resampler.push(mono)
        if mono.size == 0:
            return
        start = side.end if at_sample is None else at_sample
        floor = max(side.end, self._written)
        if start < floor:
            cut = min(floor - start, int(mono.size))
            side.dropped += cut
            mono = mono[cut:]
            start = floor
        if start > side.end:
            self._append(side, np.zeros(start - side.end, dtype=np.int16))
        if mono.size:
            self._append(side, mono.copy())
        self._commit(force=False)

    def write_caller(self, samples: Pcm16, sample_rate: int | None = None) -> None:
        """`write("caller", ...)` right after the caller's previous audio."""
        self.write("caller", samples, sample_rate)

    def write_agent(self, samples: Pcm16, sample_rate: int | None = None) -> None:
        """`write("agent", ...)` right after the agent's previous audio."""
        self.write("agent", samples, sample_rate)

    def advance_to(self, at_sample: int) -> None:
        """Both sides are silent up to `at_sample` unless audio already covers it.

        Raises:
            RecorderError: the recording is closed or broken.
        """
        self._check_open()
        for side in self._sides.values():
            if at_sample > side.end:
                self._append(side, np.zeros(at_sample - side.end, dtype=np.int16))
        self._commit(force=False)

    @staticmethod
    def _append(side: _Side, data: Pcm16) -> None:
        side.chunks.append(data)
        side.held += int(data.size)
        side.end += int(data.size)

    def _commit(self, *, force: bool) -> None:
        caller, agent = self._sides["caller"], self._sides["agent"]
        ahead = max(caller.end, agent.end)
        for side in (caller, agent):
            if ahead - side.end > self._max_lag:
                # Waiting longer for this side would hold unbounded audio of the other.
                self._append(side, np.zeros(ahead - self._max_lag - side.end, dtype=np.int16))
        ready = min(caller.end, agent.end) - self._written
        if ready <= 0 or (not force and ready < self._block):
            return
        stereo = np.empty((ready, 2), dtype="<i2")
        stereo[:, 0] = caller.take(ready)
        stereo[:, 1] = agent.take(ready)
        try:
            self._wav.writeframes(stereo.tobytes())
        except (OSError, wave.Error, ValueError) as exc:
            self._broken = exc
            raise RecorderError(f"writing recording {self.path} failed: {exc}") from exc
        self._written += ready

    def close(self) -> None:
        """Write what is held (the shorter side padded with silence) and close the file.

        Idempotent.

        Raises:
            RecorderError: the final write or close failed (the file may be truncated).
                Closing an already broken recording does not raise again.
        """
        if self._closed:
            return
        try:
            if self._broken is None:
                for side in self._sides.values():
                    if side.resampler is not None:
                        tail = side.resampler.flush()
                        if tail.size:
                            self._append(side, tail)
                self.advance_to(max(s.end for s in self._sides.values()))
                self._commit(force=True)
        finally:
            self._closed = True
            try:
                try:
                    self._wav.close()  # patches the header; leaves our file open
                finally:
                    self._file.close()
            except (OSError, wave.Error, ValueError) as exc:
                # A broken recording already raised its error to the writer; closing
                # it must not raise again (it runs in `__exit__` and `finally` blocks).
                if self._broken is None:
                    self._broken = exc
                    raise RecorderError(f"closing recording {self.path} failed: {exc}") from exc
                logger.debug("closing broken recording %s: %s", self.path, exc)

    def __enter__(self) -> CallRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_wav_channels(path: str | Path) -> WavChannels:
    """Read a call recording back: left = caller, right = agent.

    Raises:
        AudioConversionError: not a 16-bit stereo PCM WAV.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 2 or wav.getsampwidth() != 2:
                raise AudioConversionError(
                    f"{path}: want 16-bit stereo, got {wav.getnchannels()} channel(s) of "
                    f"{8 * wav.getsampwidth()} bits"
                )
            rate = wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise AudioConversionError(f"unreadable recording {path}: {exc}") from exc
    data = np.frombuffer(raw, dtype="<i2").reshape(-1, 2).astype(np.int16)
    return WavChannels(
        caller=np.ascontiguousarray(data[:, 0]),
        agent=np.ascontiguousarray(data[:, 1]),
        sample_rate=rate,
    )
