"""The media worker's audio layer: frame conversions, VAD/endpointing, playback, recording.

Modules are imported one by one (`realtime.audio.frames`, `.vad`, `.playback`,
`.recorder`, `.synth`) so that, say, the endpointer does not drag in aiortc.
"""
