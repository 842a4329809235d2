"""Transcript correction: an exact dictionary live, a hybrid corrector after the call.

- `online`, `online_defaults`: the live level-1 dictionary (wrong -> right, per tenant)
  and its default pairs per language.
- `hybrid`: the post-call corrector: exact dictionary (L1), nearest neighbours over the
  tenant's lexicon (L2), Spanish-aware phonetic matching (L3). Entry point `HybridCorrector`.
- `lexicon`: a tenant's lexicon and the in-memory index; `store`: the same in Postgres
  (pgvector HNSW for L2, a btree on the phonetic key for L3).
- `vectors`, `phonetic`, `common_words`: L2 vectors, phonetic keys, words never corrected.
- `eval_set`, `evaluate_representation`, `minilm`: the offline evaluation that chose the L2
  representation (`python -m centralita.correction.evaluate_representation`).

May import: `centralita.kernel` only (its layer is the lowest above the kernel).
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
