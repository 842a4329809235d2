"""The reviewed learning loop: mistakes seen in calls become proposals; a reviewer's
approval (never anything automatic) makes them active lexicon or dictionary entries.

- `models`: proposals, their evidence, reviews.
- `sources`: where proposals come from (unsure words a correction fixed, a human's edit,
  lookups that found nothing, reverted corrections); `diff` word-diffs an edit.
- `store`: its SQL: proposals (counted by natural key), human edits, the metrics' reads.
- `review`: a reviewer's decisions.
- `dictionary`: approved pairs handed to the live level-1 dictionary.
- `correctors`: a tenant's post-call corrector (its lexicon and reviewed dictionary).
- `metrics`: how the loop is doing.

May import: `centralita.kernel` and the domains the contract puts below it (`postcall`,
`analysis`, `campaigns`, `correction`, ...); never `calls` (its sibling) or `analytics`.
"""
