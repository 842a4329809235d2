"""Softphones: the other end of a call when it is not a phone network.

- `bot`, `script`: the bot that plays a scripted person over WebRTC, and its script.
- `http_client`: a bot reaching the media worker over HTTP signalling, like a real phone.
- `exchange`: where softphones wait for calls (the outbound half of HTTP signalling).

The browser softphone is a page of the API (`api/static/softphone.html`).

May import: `realtime.legs` and the layers below (`store`, `agents`, `session`, `offline`,
`cache`, `audio`, `providers`), the `centralita` packages.
"""
