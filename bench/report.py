"""How every benchmark ends: figures printed, then written as JSON under bench/results/."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any


def report(figures: Mapping[str, Any], path: Path, *, hidden: Collection[str] = ()) -> None:
    """Print each figure (except bulky `hidden` ones, still written) and write them all."""
    for key, value in figures.items():
        if key not in hidden:
            print(f"  {key:<24} {json.dumps(value)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {path}")
