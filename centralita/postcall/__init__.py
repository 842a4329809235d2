"""After a call: re-transcription of its recording, correction, analysis, storage."""
