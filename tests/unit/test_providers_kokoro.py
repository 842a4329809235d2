"""Kokoro's files and phonemes: model assembly, voice files, espeak-ng IPA for Kokoro."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from realtime.agents.voices import KokoroVoiceSpec
from realtime.providers.kokoro_models import (
    VOICES_ENV,
    KokoroNotInstalledError,
    assemble,
    load_voice,
    vocab,
    voices_dir,
)
from realtime.providers.kokoro_phonemes import (
    map_espeak,
    phonemize,
    split_phonemes,
    split_text,
    tokens,
)

pytestmark = pytest.mark.unit

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)


# -- the model's parts -------------------------------------------------------------------


def _parts(folder: Path) -> list[Path]:
    parts = []
    for i, chunk in enumerate((b"kokoro " * 1000, b"onnx " * 700, b"model")):
        part = folder / f"part{i}.bin"
        part.write_bytes(chunk)
        parts.append(part)
    return parts


def test_parts_are_joined_once_and_checked(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    whole = b"".join(p.read_bytes() for p in parts)
    sha = hashlib.sha256(whole).hexdigest()
    target = tmp_path / "cache" / "kokoro" / "model.onnx"
    assert assemble(parts, target, lambda: sha) == target
    assert target.read_bytes() == whole

    def never() -> str:  # a complete file is reused without hashing again
        raise AssertionError("rehashed a complete model")

    assert assemble(parts, target, never) == target


def test_a_corrupt_part_is_refused_and_nothing_half_written_stays(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    sha = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    damaged = bytearray(parts[1].read_bytes())
    damaged[10] ^= 0xFF  # one flipped byte, same size
    parts[1].write_bytes(bytes(damaged))
    target = tmp_path / "cache" / "model.onnx"
    with pytest.raises(KokoroNotInstalledError, match=r"corrupt.*make setup"):
        assemble(parts, target, lambda: sha)
    leftovers = [p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_the_vocabulary_has_kokoro_punctuation_and_phonemes() -> None:
    table = vocab()
    for symbol in ",.?!;: ˈˌɾʎʝβðɣθʧʤAIOW":
        assert symbol in table, symbol


# -- voices ------------------------------------------------------------------------------


def test_a_missing_voice_names_the_fix_and_what_is_installed(tmp_path: Path) -> None:
    (tmp_path / "ef_dora.bin").write_bytes(np.zeros(510 * 256, "<f4").tobytes())
    with pytest.raises(KokoroNotInstalledError) as caught:
        load_voice("em_nadie", tmp_path)
    message = str(caught.value)
    assert "em_nadie" in message
    assert "ef_dora" in message
    assert "make setup" in message
    assert VOICES_ENV in message


def test_a_truncated_voice_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ef_dora.bin").write_bytes(np.zeros(100, "<f4").tobytes())
    with pytest.raises(KokoroNotInstalledError, match="expected 510 x 256"):
        load_voice("ef_dora", tmp_path)


def test_a_voice_is_one_style_row_per_token_count(tmp_path: Path) -> None:
    rows = np.arange(510 * 256, dtype="<f4").reshape(510, 1, 256)
    (tmp_path / "ef_dora.bin").write_bytes(rows.tobytes())
    style = load_voice("ef_dora", tmp_path)
    assert style.shape == (510, 256)
    assert style[3, 0] == 3 * 256


def test_the_voices_folder_follows_the_environment(tmp_path: Path) -> None:
    assert voices_dir(environ={VOICES_ENV: str(tmp_path)}) == tmp_path
    assert voices_dir(tmp_path / "x", environ={VOICES_ENV: str(tmp_path)}) == tmp_path / "x"
    assert voices_dir(environ={}).parts[-3:] == ("share", "kokoro-js", "voices")


def test_the_agent_voice_spec_validates_the_name(tmp_path: Path) -> None:
    spec = KokoroVoiceSpec.model_validate({"provider": "kokoro", "voice": "em_alex"})
    tts = spec.tts("es-CL", {VOICES_ENV: str(tmp_path)})
    assert tts.voice_for("es-CL") == "em_alex"
    assert tts.voices_folder == tmp_path
    with pytest.raises(ValidationError, match="unknown Kokoro voice"):
        KokoroVoiceSpec.model_validate({"voice": "ef_nadie"})
    with pytest.raises(ValidationError):
        KokoroVoiceSpec.model_validate({"voice": "ef_dora", "speed": 3})


# -- phonemes ----------------------------------------------------------------------------


def test_text_breaks_at_punctuation_but_not_inside_numbers() -> None:
    assert split_text("¡Hola! Debe 150.000 pesos, o 1,5 UF: ¿paga?") == [
        ("Hola", "!"),
        ("Debe 150.000 pesos", ","),
        ("o 1,5 UF", ":"),
        ("paga", "?"),
    ]


def test_espeak_ties_become_kokoro_symbols() -> None:
    assert map_espeak("ˈot^ʃo", "es-419") == "ˈoʧo"
    assert map_espeak("həlˈo^ʊ", "en-us") == "həlˈO"
    assert map_espeak("pˈe^ɪmənt", "en-us") == "pˈAmənt"
    assert map_espeak("dˈɑːlɚz", "en-us") == "dˈɑləɹz"


@needs_espeak
async def test_spanish_words_phonemise_as_expected() -> None:
    phonemes = await phonemize("Hola, ¿paga el ocho de junio?", "es-CL")
    assert phonemes == "ˈola, pˈaɣa el ˈoʧo ðe xˈunjo?"
    # Latin-American seseo: "cinco" with s, not Spain's θ.
    assert "θ" not in await phonemize("cinco", "es")
    assert "θ" in await phonemize("cinco", "es-ES")


@needs_espeak
async def test_english_words_phonemise_as_expected() -> None:
    phonemes = await phonemize("Hello! Can you pay today?", "en")
    assert phonemes == "həlˈO! kæn juː pˈA tədˈA?".replace("ː", "")
    assert all(symbol in vocab() for symbol in phonemes)


def test_tokens_skip_symbols_outside_the_vocabulary() -> None:
    table = vocab()
    assert tokens("ˈola\u0361!", table) == [
        table["ˈ"],
        table["o"],
        table["l"],
        table["a"],
        table["!"],
    ]


def test_long_phonemes_split_under_the_limit_first_clause_early() -> None:
    clause = "le ʝˈamo poɾ su ðˈeʊða,"
    text = " ".join([clause] * 40) + " ɡɾˈasjas."
    pieces = split_phonemes(text, max_len=200, first_min=20)
    assert pieces[0] == clause  # the first clause alone: first audio comes early
    assert all(len(p) <= 200 for p in pieces)
    assert " ".join(pieces) == text  # nothing lost or reordered
    assert split_phonemes("ˈola! ɡɾˈasjas.", max_len=200) == ["ˈola!", "ɡɾˈasjas."]
    assert all(len(p) <= 10 for p in split_phonemes("a" * 25, max_len=10))


def test_a_long_first_clause_is_cut_at_a_word_so_the_first_audio_comes_early() -> None:
    words = "ɾeχistɾo su kompɾomiso de paɣo de dosθjentos mil pesos paɾa el bjeɾnes."
    pieces = split_phonemes(words, max_len=200, first_min=10, first_max=30)
    assert 10 <= len(pieces[0]) <= 30
    assert not pieces[0].endswith(" ")
    assert " ".join(pieces) == words  # nothing lost, nothing doubled
    # Without a limit the whole clause is one piece, as before.
    assert split_phonemes(words, max_len=200, first_min=10) == [words]
