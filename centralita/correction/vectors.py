"""Level-2 vectors: hashed character n-grams of a word's spelling and of its sound.

Why not sentence embeddings: a misheard word is near the right one in spelling and
sound ("Dicon"/"DICOM", "Peres"/"Pérez", "loscientos"/"doscientos"), not in meaning;
a semantic model places "salgo" (I leave) nowhere near "saldo" (balance), and a
surname it has never seen is split into sub-word pieces whose meaning is noise. The
evaluation in `evaluate_representation` measures it: on the derived misheard -> right
set these vectors find the right entry first far more often than the packaged MiniLM
(figures in bench/results/l2_representation.json and in `evaluate_representation`'s
docstring), cost microseconds instead of milliseconds, and need no model.

The vector: 2- and 3-grams of ``^word$`` (the compacted spelling, so split and
joined words look alike) and 2- and 3-grams of ``<key>`` (the Spanish or English
phonetic key, so b/v, s/z/c, ll/y and a dropped h cost nothing), each hashed into
`DIMENSIONS` buckets with a sign (feature hashing; the sign keeps collisions from
adding up) and L2-normalised, so cosine distance in pgvector is ``1 - dot``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

from centralita.correction.phonetic import compact, phonetic_key

DIMENSIONS: Final = 256

Vector = npt.NDArray[np.float32]

# (prefix, n, weight): the prefix keeps spelling and sound n-grams in separate hash
# spaces; the sound counts a little more, since that is what the caller said.
# Weights picked on the evaluation set (top-1 0.937 with equal weights and 4-grams).
_SPELLING: Final = (("s2", 2, 1.0), ("s3", 3, 0.8))
_SOUND: Final = (("k2", 2, 1.5), ("k3", 3, 1.0))


def _ngrams(text: str, n: int) -> Iterable[str]:
    if len(text) < n:
        return (text,) if text else ()
    return (text[i : i + n] for i in range(len(text) - n + 1))


def _add(vector: Vector, prefix: str, text: str, n: int, weight: float) -> None:
    for gram in _ngrams(text, n):
        # crc32 is stable across processes (Python's hash() is salted per process),
        # which matters: the vectors are stored in Postgres and compared later.
        h = zlib.crc32(f"{prefix}:{gram}".encode())
        sign = 1.0 if h & 0x80000000 else -1.0
        vector[h % DIMENSIONS] += sign * weight


def ngram_vector(text: str, language: str = "es") -> Vector:
    """The unit-length n-gram vector of a word or phrase.

    Args:
        text: the surface form ("Pérez", "di com", "Banco Estado").
        language: picks the phonetic key ("en" gets metaphone, anything else Spanish).

    Returns:
        A float32 vector of `DIMENSIONS` values with L2 norm 1 (all zeros for a form
        with no letters or digits).
    """
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    spelling = compact(text)
    if not spelling:
        return vector
    for prefix, n, weight in _SPELLING:
        _add(vector, prefix, f"^{spelling}$", n, weight)
    key = phonetic_key(text, language)
    for prefix, n, weight in _SOUND:
        _add(vector, prefix, f"<{key}>", n, weight)
    norm = float(np.linalg.norm(vector))
    if norm > 0.0:
        vector /= norm
    return vector


def spelling_only_vector(text: str) -> Vector:
    """The same hashing over the spelling alone: the evaluation's ablation baseline."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    spelling = compact(text)
    for prefix, n, weight in _SPELLING:
        _add(vector, prefix, f"^{spelling}$", n, weight)
    norm = float(np.linalg.norm(vector))
    if norm > 0.0:
        vector /= norm
    return vector


def to_pgvector(vector: Vector) -> str:
    """The text literal pgvector reads (``'[0.1,0.2,...]'::vector``)."""
    return "[" + ",".join(f"{x:.6g}" for x in vector.tolist()) + "]"
