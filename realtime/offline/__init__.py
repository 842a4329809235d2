"""Speech work on a finished call's recording (post-call): the caller's channel and its
utterances (`recording`), and their re-transcription with a larger model
(`retranscription`). Used by the post-call activities.

May import: `realtime.audio`, `realtime.providers`, the `centralita` packages.
"""
