"""The reviewed learning loop: mistakes seen in calls become proposals; a reviewer's
approval (never anything automatic) makes them active lexicon or dictionary entries.

`sources` finds proposals, `store` counts them, `review` decides them, `dictionary`
hands approved pairs to level 1, `metrics` says how the loop is doing.
"""
