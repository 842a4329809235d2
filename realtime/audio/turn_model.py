"""Smart Turn v3.2: is the caller's utterance complete, or did they pause mid-sentence?

A pause alone cannot tell "puedo pagar... el viernes" from a finished "sí". Smart Turn
(pipecat-ai's open model, BSD-2, a Whisper-tiny encoder with a classifier head) hears
the last 8 seconds of the utterance, prosody included, and answers the probability that
the speaker has finished.

The ONNX file ships inside the pipecat-ai wheel, installed with `--no-deps`
(`scripts/requirements-no-deps.txt`): its data file is read here and none of its code
is imported (its dependencies are not installed). The input is what the model was
trained on: 16 kHz audio, the last 8 s (zero-padded at the front), normalised to zero
mean and unit variance, as 80 Whisper log-mel bins x 800 frames (25 ms Hann windows,
10 ms hop, Slaney mel scale, log10 clamped 8 decades under the peak, scaled by
(x + 4) / 4). The feature code below is ours, written from that description and checked
against the reference on the same audio (tests/unit/test_turn_model.py).

Fed as pipecat feeds it (checked against pipecat's `base_smart_turn.py` and
`local_smart_turn_v3.py`): int16 / 32768 as float32, the last 8 s zero-padded at the
front, normalised over the padded window, and the output read as P(complete) (pipecat:
"> 0.5 is Complete"). Pipecat's segment starts 500 ms + the VAD's start time before the
speech, ours `pre_roll_ms` (200 ms) before it; either way the rest of the 8 s is zeros,
so on a quiet line the input is the same. Pipecat asks once, when its VAD has heard
~200 ms of silence; the endpointer asks first at `check_ms` (200 ms) and again as the
pause grows. Line noise (added at -60 and -50 dBFS) and a comma before the pause in
Kokoro's reading barely move the answer: the model itself calls Spanish mid-clause
fragments complete (bench/results/turns.json), the feeding does not.

Cost: ~40 ms a call on one thread here (features ~8 ms, the encoder the rest), so the
session runs it in an executor, never on the event loop (see `realtime.audio.vad`).
"""

from __future__ import annotations

import importlib.util
import threading
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import STT_RATE

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
WINDOW_S = 8
_SAMPLES = STT_RATE * WINDOW_S
_N_FFT = 400
_HOP = 160
_N_MELS = 80


class TurnModelMissingError(RuntimeError):
    """The Smart Turn model file is not installed."""


def model_path() -> Path:
    """Where the pipecat-ai wheel put the Smart Turn ONNX file (found without importing it).

    Raises:
        TurnModelMissingError: the wheel (or its data folder) is not installed.
    """
    spec = importlib.util.find_spec("pipecat")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "audio" / "turn" / "smart_turn" / "data" / MODEL_FILE
        if path.is_file():
            return path
    raise TurnModelMissingError(
        f"{MODEL_FILE} not found: install the wheels of scripts/requirements-no-deps.txt "
        "(`pip install --no-deps -r scripts/requirements-no-deps.txt`, done by `make setup`)"
    )


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above."""
    linear = 3.0 * hz / 200.0
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = 200.0 * mel / 3.0
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


@cache
def _mel_filters() -> npt.NDArray[np.float64]:
    """(80, 201) triangular filters over the rFFT bins, area-normalised (Slaney)."""
    edges_mel = np.linspace(
        _hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([STT_RATE / 2]))[0], _N_MELS + 2
    )
    edges = _mel_to_hz(edges_mel)
    bins = np.linspace(0, STT_RATE // 2, _N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (upper - lower))


@cache
def _window() -> npt.NDArray[np.float64]:
    """Periodic Hann window (as torch.hann_window, which Whisper uses)."""
    return np.hanning(_N_FFT + 1)[:-1]


def log_mel(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Whisper-style (80, 800) log-mel features of exactly 8 s of 16 kHz float audio."""
    if audio.shape != (_SAMPLES,):
        raise ValueError(f"expected {_SAMPLES} samples, got shape {audio.shape}")
    x = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), _N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * _window(), axis=-1)) ** 2  # (801, 201)
    mel = np.log10(np.maximum(1e-10, _mel_filters() @ power.T))[:, :-1]  # (80, 800)
    mel = np.maximum(mel, mel.max() - 8.0)
    features: npt.NDArray[np.float32] = ((mel + 4.0) / 4.0).astype(np.float32)
    return features


def last_window(samples: Pcm16) -> npt.NDArray[np.float32]:
    """The last 8 s of the audio as float in [-1, 1], zero-padded at the front."""
    tail = samples[-_SAMPLES:].astype(np.float32) / 32768.0
    if tail.size < _SAMPLES:
        tail = np.concatenate([np.zeros(_SAMPLES - tail.size, dtype=np.float32), tail])
    return tail


class SmartTurn:
    """The loaded model; `complete_probability` is safe to call from several threads."""

    def __init__(self, path: Path | None = None, *, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # One thread: the media worker's two cores are Whisper's too, and a turn check
        # that takes both would slow the transcription it runs beside.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(path or model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def complete_probability(self, samples: Pcm16) -> float:
        """P(the utterance is complete) for 16 kHz mono int16 audio ending now."""
        features = log_mel(last_window(samples))[None, :, :]
        (out,) = self._session.run(None, {"input_features": features})
        return float(np.asarray(out).reshape(-1)[0])


_shared: SmartTurn | None = None
_shared_lock = threading.Lock()


def shared_smart_turn() -> SmartTurn:
    """One model per process (8.7 MB, ~0.2 s to load), shared by every call.

    Raises:
        TurnModelMissingError: see `model_path`.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SmartTurn()
        return _shared
