"""After a call: the post-call pipeline's models, steps and storage.

- `messages`: the inputs and results of the post-call workflow and its activities.
- `reanalysis_messages`: the same for bulk re-analysis.
- `transcripts`: a call's offline transcript (the caller's utterances, re-heard).
- `correction_step`: each transcript segment through the hybrid corrector.
- `recording`, `document`: what the call's metadata document says (recording, transcript,
  corrections).
- `store`: the pipeline's reads and writes, idempotent by the call's id.
- `reanalysis_store`: the bulk re-analysis's reads: how many calls match, a page of them.

The workflow is `workflows/post_call.py`, its activities `activities/post_call.py`, the
re-transcription `realtime/offline/`.

May import: `centralita.kernel` and the domains the contract puts below it (`correction`,
`understanding`, `tenants`, `webhooks`); never `analysis` or `campaigns` (its siblings).
"""
