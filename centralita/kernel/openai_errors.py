"""What an OpenAI-compatible server said when it refused a request, for error messages.

Shared by every client of such a server (speech recognition in the media worker, the
knowledge base's embeddings): their errors name the server's own words, short.
"""

from __future__ import annotations

import openai


def error_detail(exc: openai.APIStatusError, *, limit: int = 200) -> str:
    """The server's message (OpenAI's `{"error": {"message": ...}}` or a bare
    `{"message": ...}`), else the exception's text; at most `limit` characters."""
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)[:limit]
    return str(exc)[:limit]
