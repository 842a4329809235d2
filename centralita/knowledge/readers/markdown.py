"""Markdown into sections: ATX and setext headings open them, markup comes off.

YAML front matter gives the title; fenced code is kept as it is; link targets are kept
beside their text, since "pague en www.…" is often the answer a caller needs.
"""

from __future__ import annotations

import re

from centralita.knowledge.document_model import Section
from centralita.knowledge.readers.outline import Outline

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def read_markdown(text: str) -> tuple[str | None, list[Section]]:
    """Reads decoded Markdown.

    Args:
        text: the file's text.

    Returns:
        The front matter's title, else the first heading, else None; and the sections.
    """
    title: str | None = None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].strip() == "---" and "---" in (s.strip() for s in lines[1:]):
        end = next(i for i, s in enumerate(lines[1:], 1) if s.strip() == "---")
        for meta in lines[1:end]:  # YAML front matter: only its title matters
            key, _, value = meta.partition(":")
            if key.strip().lower() == "title":
                title = value.strip().strip("\"'")
        lines = lines[end + 1 :]
    outline, fenced = Outline(), False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            outline.add(line)
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if atx := _ATX.match(line):
            outline.heading(len(atx.group(1)), _inline_markdown(atx.group(2)))
        elif line.strip() and re.fullmatch(r" {0,3}(=+|-+) *", following):
            outline.heading(1 if "=" in following else 2, _inline_markdown(line))
        elif re.fullmatch(r" {0,3}(=+|-+) *", line) and i > 0 and lines[i - 1].strip():
            continue  # the underline of a setext heading
        elif _TABLE_RULE.match(line):
            continue
        elif _RULE.match(line):
            outline.add("")
        else:
            outline.add(_inline_markdown(line))
    outline.flush()
    return title or outline.first_heading, outline.sections


def _inline_markdown(line: str) -> str:
    """Markup off; link targets kept, since "pague en www.…" is the answer."""
    line = re.sub(r"^\s{0,3}>\s?", "", line)
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(
        r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)",
        lambda m: m.group(1) if m.group(2) in m.group(1) else f"{m.group(1)} ({m.group(2)})",
        line,
    )
    line = re.sub(r"^(\s*)[*+]\s+", r"\1- ", line)
    line = re.sub(r"(\*\*|__|`)(.+?)\1", r"\2", line)
    line = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", line)
    if line.strip().startswith("|"):
        line = " | ".join(c.strip() for c in line.strip().strip("|").split("|"))
    return line
