"""Process entry points and wiring: the CLI (`cli`), the Temporal workers, the media
worker process, the webhook dispatcher, the embedded development stack and the demo.

May import: everything.
"""
