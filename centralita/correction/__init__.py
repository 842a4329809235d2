"""Post-call hybrid STT error correction: exact dictionary (L1), pgvector nearest
neighbours over the tenant's lexicon (L2), Spanish-aware phonetic matching (L3).

`HybridCorrector` is the entry point; `InMemoryLexicon` and `PgLexicon` are the two
lexicons it can search; `upsert_entries` writes a tenant's lexicon to Postgres.
"""

from centralita.correction.hybrid import (
    AppliedCorrection,
    CorrectedText,
    CorrectionSettings,
    HeardWord,
    HybridCorrector,
    undo,
)
from centralita.correction.lexicon import (
    InMemoryLexicon,
    LexiconEntry,
    LexiconForm,
    LexiconHit,
    LexiconIndex,
)
from centralita.correction.store import PgLexicon, upsert_entries

__all__ = [
    "AppliedCorrection",
    "CorrectedText",
    "CorrectionSettings",
    "HeardWord",
    "HybridCorrector",
    "InMemoryLexicon",
    "LexiconEntry",
    "LexiconForm",
    "LexiconHit",
    "LexiconIndex",
    "PgLexicon",
    "undo",
    "upsert_entries",
]
