"""What the caller hears around a tenant tool: a line while it runs, one if it fails.

A tool's own lines (`waiting_line`, `failure_line`) win; these are the defaults, in the
languages agents speak. They are short because they interrupt nothing: the waiting line
covers the tool's latency, the failure line lets the conversation go on.
"""

from __future__ import annotations

from typing import Final

WAITING_LINES: Final = {
    "es": "Un momento, lo estoy consultando.",
    "en": "One moment, I am checking that.",
}
FAILURE_LINES: Final = {
    "es": "Lo siento, ahora mismo no puedo consultarlo.",
    "en": "Sorry, I cannot check that right now.",
}


def waiting_line(own: str | None, language: str) -> str:
    """The tool's waiting line, else the language's default (English when unknown)."""
    return own or WAITING_LINES.get(language.split("-")[0], WAITING_LINES["en"])


def failure_line(own: str | None, language: str) -> str:
    """The tool's failure line, else the language's default (English when unknown)."""
    return own or FAILURE_LINES.get(language.split("-")[0], FAILURE_LINES["en"])
