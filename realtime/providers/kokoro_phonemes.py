"""Text to Kokoro phonemes with the espeak-ng command, punctuation kept.

Kokoro-82M was trained on misaki's phonemes, which for Spanish are espeak-ng's IPA with
a few multi-letter phonemes folded into one symbol (``t͡ʃ`` -> ``ʧ``, ``e͡ɪ`` -> ``A``),
and for English misaki's own lexicon, whose espeak fallback maps espeak's American IPA
onto the same inventory (diphthongs as ``A I W O Y``, ``ɚ`` -> ``əɹ``, no length marks).
Here espeak-ng does both languages (no lexicon ships on PyPI under a usable licence, and
no GPL phonemizer library is imported: espeak-ng runs as a command), and these tables
map its output the way misaki's espeak back-ends do.

espeak-ng drops punctuation from its IPA, but Kokoro reads it (a comma is a short pause,
a question mark raises the end), so the text is cut at punctuation first, each piece
phonemised on its own line (one process for the whole text), and the marks put back.
A dot or comma between digits ("150.000", "1,5") is part of a number, not a break.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping

from realtime.providers.base import ProviderError
from realtime.providers.espeak import INSTALL_HINT, run_espeak

# Language (as agents name it) to the espeak-ng voice that phonemises it. Chile is the
# first market, so plain Spanish is Latin-American (seseo: "cinco" -> s, not θ).
ESPEAK_VOICES: dict[str, str] = {
    "es": "es-419",
    "es-es": "es",
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
}

# espeak-ng's tied multi-letter phonemes (``--tie=^``) to misaki's one-symbol ones.
_TIED = {
    "a^ɪ": "I",
    "a^ʊ": "W",
    "d^z": "ʣ",
    "d^ʒ": "ʤ",
    "e^ɪ": "A",
    "o^ʊ": "O",
    "ə^ʊ": "Q",
    "s^s": "S",
    "t^s": "ʦ",
    "t^ʃ": "ʧ",
    "ɔ^ɪ": "Y",
}
# American English on top of those (misaki's espeak fallback, American side): glottal
# stops as t, palatalisation and nasalisation dropped, r-coloured schwa spelled out.
_AMERICAN = {
    "ʔˌn\u0329": "tn",
    "ʔn\u0329": "tn",
    "ʔn": "tn",
    "ʔ": "t",
    "e": "A",
    "ə^l": "ᵊl",
    "ʲo": "jo",
    "ʲə": "jə",
    "ʲ": "",
    "ɚ": "əɹ",
    "r": "ɹ",
    "x": "k",
    "ç": "k",
    "ɐ": "ə",
    "ɬ": "l",
    "\u0303": "",
}
_AMERICAN_AFTER = {"o^ʊ": "O", "ɜːɹ": "ɜɹ", "ɜː": "ɜɹ", "ɪə": "iə", "ː": ""}
# Longest first, so a tied pair is folded before its letters are touched one by one.
_AMERICAN_TABLE = sorted({**_TIED, **_AMERICAN}.items(), key=lambda kv: -len(kv[0]))
_SYLLABIC = re.compile(r"(\S)\u0329")  # "n̩" -> "ᵊn"
_LANGUAGE_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")  # espeak's "(en)...(es)"

# Where the text breaks: punctuation Kokoro knows (or that maps onto it), spaced dashes,
# and . , : unless between two digits.
_BREAK = re.compile(
    r"(?:\s*(?:[;!?¡¿…—–\"“”«»()\[\]]|(?<!\d)[.,:]|[.,:](?!\d)|(?<=\s)-(?=\s))\s*)+"
)
# Marks as Kokoro's vocabulary spells them; others (¡ ¿ spaced hyphens) are dropped.
_MARKS = {"«": "“", "»": "”", "[": "(", "]": ")", "–": "—"}
_KEPT = set(';:,.!?—…"()“”')
_OPENING = "(“"


def espeak_voice(language: str) -> str:
    """The espeak-ng voice for ``language`` (``es-CL`` phonemises as ``es-419``)."""
    key = language.lower().replace("_", "-")
    return ESPEAK_VOICES.get(key) or ESPEAK_VOICES.get(key.split("-")[0]) or key


def espeak_executable() -> str:
    """The espeak-ng binary on ``PATH``.

    Raises:
        ProviderError: (not transient) espeak-ng is not installed.
    """
    found = shutil.which("espeak-ng")
    if found is None:
        raise ProviderError(INSTALL_HINT, transient=False)
    return found


def split_text(text: str) -> list[tuple[str, str]]:
    """``text`` as (words, the punctuation after them) pairs; words hold no break."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for match in _BREAK.finditer(text):
        marks = "".join(_MARKS.get(c, c) for c in match.group() if _MARKS.get(c, c) in _KEPT)
        pieces.append((text[pos : match.start()].strip(), marks))
        pos = match.end()
    if text[pos:].strip():
        pieces.append((text[pos:].strip(), ""))
    return [(w, m) for w, m in pieces if w or m]


def map_espeak(ipa: str, voice: str) -> str:
    """espeak-ng's IPA (tie ``^``) for one piece as Kokoro's phonemes."""
    ipa = _LANGUAGE_FLAG.sub("", ipa).strip()
    if voice != "en-us":
        for old, new in _TIED.items():
            ipa = ipa.replace(old, new)
        return ipa.replace("^", "").replace("-", "")
    for old, new in _AMERICAN_TABLE:
        ipa = ipa.replace(old, new)
    ipa = _SYLLABIC.sub(r"ᵊ\1", ipa)
    for old, new in _AMERICAN_AFTER.items():
        ipa = ipa.replace(old, new)
    ipa = ipa.replace("o", "ɔ")  # espeak-ng < 1.52 writes o for ɔ
    return ipa.replace("^", "").replace("-", "")


async def phonemize(text: str, language: str, *, executable: str | None = None) -> str:
    """Kokoro phonemes for ``text``: words as espeak-ng reads them, punctuation kept.

    Raises:
        ProviderError: (not transient) espeak-ng is missing or failed.
    """
    voice = espeak_voice(language)
    pieces = split_text(" ".join(text.split()))
    words = [w for w, _ in pieces if w]
    if not words:
        return ""
    binary = executable or espeak_executable()
    lines = await _espeak(binary, voice, words)
    if len(lines) != len(words):  # espeak broke a piece itself: one process per piece
        lines = [" ".join(await _espeak(binary, voice, [w])) for w in words]
    ipa = iter(lines)
    out: list[str] = []
    opening = ""  # an opening mark ("(", "“") belongs to the words after it
    for word, marks in pieces:
        said = map_espeak(next(ipa), voice) if word else ""
        cut = next((i for i, c in enumerate(marks) if c in _OPENING), len(marks))
        if said:
            out.append(f" {opening}{said}")
            opening = ""
        out.append(marks[:cut])
        opening += marks[cut:]
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def tokens(phonemes: str, vocab: Mapping[str, int]) -> list[int]:
    """Token ids for ``phonemes``; symbols outside Kokoro's vocabulary are left out."""
    return [vocab[c] for c in phonemes if c in vocab]


def split_phonemes(
    phonemes: str, *, max_len: int, first_min: int = 0, first_max: int | None = None
) -> list[str]:
    """Cut ``phonemes`` into pieces the model can take, at punctuation when possible.

    Pieces end at a sentence's end (. ! ? …); the first one also at the first clause
    mark (, ; : —) once it has ``first_min`` symbols, so the first audio comes early,
    and at a space past ``first_min`` when no mark comes within ``first_max`` (a long
    first clause would keep the caller waiting for all of it). A piece over
    ``max_len`` is cut at clause marks, then at spaces, then anywhere.
    """
    clauses = [c for c in re.split(r"(?<=[.!?…,;:—])\s+", phonemes.strip()) if c]
    if clauses and first_max is not None and len(clauses[0]) > first_max:
        cut = clauses[0].rfind(" ", first_min, first_max + 1)
        if cut > 0:
            clauses[0:1] = [clauses[0][:cut], clauses[0][cut + 1 :]]
    pieces: list[str] = []
    current = ""
    for clause in clauses:
        for part in _fit(clause, max_len):
            joined = f"{current} {part}" if current else part
            if current and len(joined) > max_len:
                pieces.append(current)
                joined = part
            current = joined
            sentence_end = current[-1] in ".!?…"
            early = not pieces and first_min and len(current) >= first_min
            if sentence_end or early:
                pieces.append(current)
                current = ""
    if current:
        pieces.append(current)
    return pieces


def _fit(clause: str, max_len: int) -> list[str]:
    """``clause`` in parts of at most ``max_len`` symbols, cut at spaces when possible."""
    parts: list[str] = []
    while len(clause) > max_len:
        cut = clause.rfind(" ", 0, max_len + 1)
        cut = cut if cut > 0 else max_len
        parts.append(clause[:cut].strip())
        clause = clause[cut:].strip()
    if clause:
        parts.append(clause)
    return parts


async def _espeak(binary: str, voice: str, lines: list[str]) -> list[str]:
    """IPA lines for ``lines``, one per input line; the process dies with its caller."""
    args = [binary, "-q", "--ipa", "--tie=^", "-b", "1", "-v", voice]
    out, err, code = await run_espeak(args, "\n".join(lines).encode("utf-8") + b"\n")
    if code:
        message = err.decode("utf-8", "replace").strip()
        raise ProviderError(
            f"espeak-ng failed (exit {code}, voice {voice!r}): {message}",
            transient=False,
        )
    return [line.strip() for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
