"""Process entry points and wiring: workers, the media worker shell, the embedded stack."""
