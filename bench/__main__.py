"""`python -m bench [campaign|handoff|intake|knowledge|knowledge_eval|knowledge_turns|latency|
memory|phone|placement|sip|tool_latency|tts|turns|voicemail|wer|all] [options]`: the benchmarks.

With no name, all of them run. Each benchmark keeps its own options (`python -m bench
campaign --help`, `python -m bench memory --help`); with `all`, every option goes to the
benchmark that knows it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bench import (
    campaign,
    handoff,
    intake,
    knowledge,
    knowledge_eval,
    knowledge_turns,
    latency,
    memory,
    phone,
    placement,
    sip,
    tool_latency,
    tts,
    turns,
    voicemail,
    wer,
)

Benchmark = tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], Any]]

BENCHMARKS: dict[str, Benchmark] = {
    "campaign": (campaign.build_parser, campaign.run),
    "handoff": (handoff.build_parser, handoff.run),
    "intake": (intake.build_parser, intake.run),
    "knowledge": (knowledge.build_parser, knowledge.run),
    "knowledge_eval": (knowledge_eval.build_parser, knowledge_eval.run),
    "knowledge_turns": (knowledge_turns.build_parser, knowledge_turns.run),
    "latency": (latency.build_parser, latency.run),
    "memory": (memory.build_parser, memory.run),
    "phone": (phone.build_parser, phone.run),
    "placement": (placement.build_parser, placement.run),
    "sip": (sip.build_parser, sip.run),
    "tool_latency": (tool_latency.build_parser, tool_latency.run),
    "tts": (tts.build_parser, tts.run),
    "turns": (turns.build_parser, turns.run),
    "voicemail": (voicemail.build_parser, voicemail.run),
    "wer": (wer.build_parser, wer.run),
}


def main(argv: Sequence[str] | None = None) -> None:
    """Pick the benchmarks from the first argument and hand each its options."""
    args = list(sys.argv[1:] if argv is None else argv)
    choice = args.pop(0) if args and args[0] in (*BENCHMARKS, "all") else "all"
    if choice != "all":
        build, run = BENCHMARKS[choice]
        parser = build()
        parser.prog = f"python -m bench {choice}"
        run(parser.parse_args(args))
        return
    if {"-h", "--help"} & set(args):
        print(__doc__)
        for name, (build, _) in BENCHMARKS.items():
            parser = build()
            parser.prog = f"python -m bench {name}"
            print(parser.format_usage(), end="")
        return
    parsed, unknown = {}, None
    for name, (build, _) in BENCHMARKS.items():
        namespace, left = build().parse_known_args(args)
        parsed[name] = namespace
        unknown = set(left) if unknown is None else unknown & set(left)
    if unknown:
        sys.exit(f"python -m bench: no benchmark knows {' '.join(sorted(unknown))}")
    for name, (_, run) in BENCHMARKS.items():
        run(parsed[name])


if __name__ == "__main__":
    main()
