"""`python -m bench.placement_media media ...`: the media worker, telling each bot's report.

The production `centralita media` command, unchanged, except that every bot softphone's
report (what the caller measured: voice to voice from the end of its own speech to the
agent's first sound in its ear) is also written to stderr as one JSON line after
`BOT_REPORT_MARK`, for `bench/placement.py` to read. A media worker keeps nothing of an
ended call (each record goes to Postgres, the bot's report nowhere), so without this the
caller-side figure would die with the process. The hook wraps the line's own
`_keep`, through which every bot report passes once when its call ends; it changes
nothing the call does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from realtime.conversation_line import ConversationLine
from realtime.softphone.bot import BotReport
from workers.cli import main

BOT_REPORT_MARK = "bench-bot-report "


def report_line(call_key: str, report: BotReport) -> str:
    """The stderr line for one call's bot report."""
    data = {"call_key": call_key, "voice_to_voice_ms": list(report.voice_to_voice_ms)}
    return BOT_REPORT_MARK + json.dumps(data)


def parse_report_lines(text: str) -> dict[str, list[float]]:
    """The bot reports in a media worker's stderr: voice to voice (ms) by call key."""
    found: dict[str, list[float]] = {}
    for line in text.splitlines():
        _, mark, data = line.partition(BOT_REPORT_MARK)
        if mark:
            report = json.loads(data)
            found[report["call_key"]] = [float(v) for v in report["voice_to_voice_ms"]]
    return found


def tell_bot_reports() -> None:
    """Make every conversation line of this process write its bots' reports to stderr."""
    keep: Callable[..., None] = ConversationLine._keep

    def keep_and_tell(self: ConversationLine, finished: Any, call_key: str, what: Any) -> None:
        if isinstance(what, BotReport):
            print(report_line(call_key, what), file=sys.stderr, flush=True)
        keep(self, finished, call_key, what)

    setattr(ConversationLine, "_keep", keep_and_tell)  # noqa: B010 (mypy: no method assignment)


if __name__ == "__main__":
    tell_bot_reports()
    sys.exit(main())
