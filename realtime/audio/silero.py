"""Silero VAD v6, streamed: a speech probability for every 32 ms of 16 kHz audio.

faster-whisper ships the model (`faster_whisper/assets/silero_vad_v6.onnx`) for its own
VAD filter, which runs it over whole files; here it runs on a live stream: 512-sample
windows, each given the 64 samples before it as context and the LSTM state (h, c) the
previous window left, exactly as faster-whisper's `SileroVADModel` chains its batch.

Where it is used (see `realtime.audio.vad`): webrtcvad (~2 µs a frame) still finds
speech onsets; Silero (~0.1 ms a window on one thread here) confirms them where a wrong
"speech" costs something: a noise burst that webrtcvad calls speech must not stop the
agent mid-sentence, and must not hold a caller's turn open.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from centralita.kernel.pcm import Pcm16

WINDOW = 512  # samples at 16 kHz: 32 ms
CONTEXT = 64
WINDOW_MS = 32


def model_path() -> Path:
    """The Silero VAD file faster-whisper installs (found without importing faster_whisper).

    Raises:
        FileNotFoundError: faster-whisper (or its assets) is not installed.
    """
    spec = importlib.util.find_spec("faster_whisper")
    for folder in list(spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "assets" / "silero_vad_v6.onnx"
        if path.is_file():
            return path
    raise FileNotFoundError("silero_vad_v6.onnx not found: is faster-whisper installed?")


_session: ort.InferenceSession | None = None
_lock = threading.Lock()


def _shared_session() -> ort.InferenceSession:
    """One ONNX session per process: the per-stream state lives in `SileroStream`."""
    global _session
    with _lock:
        if _session is None:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 4
            _session = ort.InferenceSession(
                str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _session


class SileroStream:
    """One audio stream's Silero state: feed samples of any length, read probabilities."""

    def __init__(self) -> None:
        self._session = _shared_session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.probability = 0.0  # of the last whole window
        self.windows = 0  # whole windows scored so far

    def reset(self) -> None:
        """Start over (a new stream): the LSTM forgets what it heard."""
        self.__init__()  # type: ignore[misc]

    def feed(self, samples: Pcm16) -> list[float]:
        """Score every whole 32 ms window the samples complete.

        Returns:
            One speech probability (0..1) per window completed, in order.
        """
        audio = samples.astype(np.float32) / 32768.0
        buf = np.concatenate([self._pending, audio]) if self._pending.size else audio
        out: list[float] = []
        whole = buf.size // WINDOW
        for i in range(whole):
            window = buf[i * WINDOW : (i + 1) * WINDOW]
            batch = np.concatenate([self._context, window])[None, :]
            prob, self._h, self._c = self._session.run(
                None, {"input": batch, "h": self._h, "c": self._c}
            )
            self._context = window[-CONTEXT:]
            self.probability = float(np.asarray(prob).reshape(-1)[0])
            self.windows += 1
            out.append(self.probability)
        self._pending = buf[whole * WINDOW :].copy()
        return out
