"""A tenant's lexicon: the names, products, places and terms its calls are about.

An entry has a canonical text and the surface forms that lead to it: the text itself,
its aliases, and for a known error pair the wrong form the recogniser writes. Each
form is one searchable row (the canonical text's row has ``wrong`` NULL; an alias or a
wrong form is stored in ``wrong``), with an n-gram vector for level 2 and a phonetic key
for level 3. `LexiconIndex` is what the hybrid corrector asks; `InMemoryLexicon` answers
from numpy arrays (tests, the benchmark), `store.PgLexicon` from pgvector.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from centralita.correction.phonetic import compact, phonetic_key
from centralita.correction.vectors import DIMENSIONS, Vector, ngram_vector

LexiconKind = Literal["person", "company", "product", "place", "domain_term", "error_pair"]
LexiconSource = Literal["seed", "approved", "manual"]


def primary_language(language: str) -> str:
    """``"es-CL"`` -> ``"es"``; the lexicon is kept per primary language."""
    return language.split("-")[0].strip().lower() or "es"


class LexiconForm(BaseModel):
    """One surface form that leads to a canonical text."""

    model_config = ConfigDict(frozen=True)

    kind: LexiconKind
    text: str = Field(description="The canonical text a match is corrected to")
    form: str = Field(description="What is compared with the heard words")
    language: str = "es"

    @property
    def wrong(self) -> str | None:
        """The row's ``wrong`` column: the form, unless it is the canonical text."""
        return None if self.form == self.text else self.form


class LexiconEntry(BaseModel):
    """A lexicon entry as a tenant (or a reviewer approving a proposal) writes it."""

    model_config = ConfigDict(frozen=True)

    kind: LexiconKind
    text: str = Field(min_length=1)
    wrong: str | None = Field(default=None, description="Error pairs: the misheard form")
    aliases: tuple[str, ...] = ()
    language: str = "es"
    source: LexiconSource = "manual"
    active: bool = True

    @field_validator("language")
    @classmethod
    def _primary(cls, value: str) -> str:
        return primary_language(value)

    @model_validator(mode="after")
    def _pair_has_wrong(self) -> Self:
        if self.kind == "error_pair" and not (self.wrong and compact(self.wrong)):
            raise ValueError("an error_pair needs the wrong form")
        if self.kind != "error_pair" and self.wrong is not None:
            raise ValueError("only an error_pair has a wrong form; use aliases")
        if not compact(self.text):
            raise ValueError(f"entry {self.text!r} has no letter or digit")
        return self

    def forms(self) -> list[LexiconForm]:
        """Every searchable form: the text (not for pairs), the wrong form, the aliases."""
        surfaces = [self.wrong] if self.kind == "error_pair" else [self.text]
        surfaces += [a for a in self.aliases if compact(a)]
        seen: set[str] = set()
        out: list[LexiconForm] = []
        for surface in surfaces:
            if surface is None or surface in seen:
                continue
            seen.add(surface)
            out.append(
                LexiconForm(kind=self.kind, text=self.text, form=surface, language=self.language)
            )
        return out


class LexiconHit(BaseModel):
    """A form found near the heard words, with its cosine similarity (1 = same vector)."""

    model_config = ConfigDict(frozen=True)

    form: LexiconForm
    similarity: float


class LexiconIndex(Protocol):
    """What the hybrid corrector needs from a tenant's lexicon."""

    async def nearest(self, text: str, language: str, k: int) -> list[LexiconHit]:
        """The ``k`` active forms whose n-gram vectors are nearest to ``text``'s, best first."""
        ...

    async def sounding_like(self, key: str, language: str) -> list[LexiconForm]:
        """The active forms whose phonetic key is exactly ``key``."""
        ...


class InMemoryLexicon:
    """A lexicon held in numpy arrays: exact nearest neighbours by one matrix product.

    Args:
        forms: the searchable forms (inactive entries already left out).
    """

    def __init__(self, forms: Sequence[LexiconForm]) -> None:
        self._forms: dict[str, list[LexiconForm]] = {}
        self._matrix: dict[str, Vector] = {}
        self._keys: dict[tuple[str, str], list[LexiconForm]] = {}
        for form in forms:
            self._forms.setdefault(form.language, []).append(form)
            key = phonetic_key(form.form, form.language)
            self._keys.setdefault((form.language, key), []).append(form)
        for language, group in self._forms.items():
            matrix = np.zeros((len(group), DIMENSIONS), dtype=np.float32)
            for row, form in enumerate(group):
                matrix[row] = ngram_vector(form.form, language)
            self._matrix[language] = matrix

    @classmethod
    def from_entries(cls, entries: Iterable[LexiconEntry]) -> InMemoryLexicon:
        """Build from entries as written (inactive ones are skipped)."""
        return cls([form for entry in entries if entry.active for form in entry.forms()])

    def __len__(self) -> int:
        return sum(len(group) for group in self._forms.values())

    async def nearest(self, text: str, language: str, k: int) -> list[LexiconHit]:
        """See `LexiconIndex.nearest` (exact search, no index)."""
        language = primary_language(language)
        matrix = self._matrix.get(language)
        if matrix is None or k <= 0:
            return []
        scores = matrix @ ngram_vector(text, language)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        group = self._forms[language]
        return [LexiconHit(form=group[i], similarity=float(scores[i])) for i in top]

    async def sounding_like(self, key: str, language: str) -> list[LexiconForm]:
        """See `LexiconIndex.sounding_like`."""
        return list(self._keys.get((primary_language(language), key), ()))
