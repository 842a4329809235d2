"""One conversation, whatever leg carries it.

- `call_session`: the call session loop: listen, understand, answer, speak; barge-in.
- `hearing`, `early_transcripts`: what the caller said in a turn, transcription started
  at the first pause.
- `turn_judging`: Smart Turn asked off the event loop when the caller pauses.
- `talk_over`, `backchannels`: the caller talking over the agent: a backchannel ("ajá")
  the agent rides out, or a barge-in.
- `speech`: the agent's side of the air: sentences synthesised, queued, cut, muted,
  paused; lines the brain may say next rendered ahead.
- `supervision`: a supervisor's hand: say, add a message, mute, end, take over.
- `record`: what the call leaves behind: turns, latencies, events, usage.
- `tracing`: the call's spans (call, turns, stt, brain, tts).
- `pricing`: what a call cost.
- `tenant_dictionary`: the call's live L1 dictionary (defaults plus the tenant's pairs).
- `keypad`: keys pressed on a phone (DTMF) gathered into one answer.
- `handover`: a transfer to a person through the leg, and what the caller hears if it fails.
- `voicemail`, `machine_watch`: whether a machine answered a phone call (its beep, its
  phrases, the carrier's word), and when the agent may leave its message.

May import: `realtime.offline`, `cache`, `audio`, `providers`, the `centralita`
packages; never `agents`, `store`, `legs` or anything above.
"""
