"""The media worker's HTTP face: the app (`app`), WebRTC signalling for softphones
(`signalling`, `softphone_exchange`), inbound numbers and their agents (`inbound`), and a
supervisor's controls on live calls (`controls`).

May import: everything else in `realtime` and the `centralita` packages.
"""
