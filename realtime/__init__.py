"""The media side: carriers, and (next) the WebRTC media worker and its audio pipeline."""
