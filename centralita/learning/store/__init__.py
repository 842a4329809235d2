"""The learning domain's SQL: proposals and their evidence (`proposals`), the human edits
that teach (`edits`), and the reads behind the metrics (`metrics`).

May import: `centralita.kernel` and the learning models.
"""
