"""Test support shared by test modules. Never imported by production code.

- `fakes/`: local fakes of paid services over loopback (OpenAI-compatible, ElevenLabs,
  Twilio and its media streams).
- `providers`: scripted speech providers; `brain_turns`: what an LLM brain gets and yields.
- `flows`: scripted turns for driving a `FlowBrain`.
- `lines`: the embedded conversation line the e2e tests talk through; `phones`: the media
  worker ringing personas through the fake Twilio.
- `servers`, `stack`, `compose`: real servers and ports, the CLI as a subprocess,
  `docker-compose.yml` as the tests read it.
- `schema`, `histories`: the tables migrations must create; re-recording replay histories.
- `campaigns`, `stored_calls`, `analytics_seed`, `fuzz_seed`: rows and campaigns to test on.
- `tenants`, `webhooks`, `events`: what the tenant, webhook and event tests share.
- `tracing`, `tracing_collector`: spans in memory; a stand-in OTLP collector.

May import: everything.
"""
