"""Speech work on a finished call's recording, for post-call.

- `recording`: the recording as post-call reads it: format, checksum, the caller's channel.
- `retranscription`: the caller's utterances re-transcribed with a slower, better setting.

Used by the post-call activities.

May import: `realtime.audio`, `realtime.providers`, the `centralita` packages.
"""
