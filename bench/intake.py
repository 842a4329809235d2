"""Contact intake: how fast an uploaded spreadsheet becomes storable contacts.

A real-looking Chilean collections export (cp1252, `;`-separated, Spanish headers, a
second phone, RUTs, amounts, a due date, a segment; one row in fifty bad: a phone
without digits) of `--rows` rows goes through the API's own two steps: reading the file
(`api.csv_contacts.read_contacts_csv`: decoding, delimiter, headers, line numbers) and
validating the rows (`api.contact_rows.validate_rows`: E.164 phones, time zones,
duplicates). The agents' variable check needs the database and is left out.

Each step is timed `--repeat` times; the best run is reported (the least disturbed by
the rest of the machine). Prints the figures and writes bench/results/intake.json.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.contact_rows import validate_rows
from api.csv_contacts import numbered_rows, read_contacts_csv
from bench.report import report

RESULTS = Path(__file__).resolve().parent / "results" / "intake.json"
HEADER = "ID Cliente;Nombre;Teléfono;Teléfono 2;RUT;monto_total;fecha_limite;Segmento\n"
BAD_EVERY = 50


def build_parser() -> argparse.ArgumentParser:
    """The intake benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="data rows in the file")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step")
    return parser


def spreadsheet(rows: int) -> bytes:
    """A collections export of `rows` rows, as a Chilean Excel saves it."""
    lines = [HEADER]
    for i in range(rows):
        phone = "sin teléfono" if i % BAD_EVERY == BAD_EVERY - 1 else f"+569{10_000_000 + i}"
        lines.append(
            f"C{i};Persona Pérez {i};{phone};9 {20_000_000 + i};{10_000_000 + i}-K;"
            f"{(i % 900 + 100) * 1000};2026-12-{i % 28 + 1:02d};temprana\n"
        )
    return "".join(lines).encode("cp1252")


def best_seconds(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of `repeat` runs of `step`, and what the last run returned."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time reading and validating the file; print and write the figures."""
    data = spreadsheet(args.rows)
    print(f"intake: {args.rows} rows, {len(data) / 1e6:.1f} MB, best of {args.repeat}")
    read_s, records = best_seconds(lambda: read_contacts_csv(data, max_rows=args.rows), args.repeat)
    rows = numbered_rows(records)
    validate_s, validated = best_seconds(
        lambda: validate_rows(rows, "CL", "America/Santiago"), args.repeat
    )
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "rows": args.rows,
        "file_mb": round(len(data) / 1e6, 2),
        "read_s": round(read_s, 3),
        "read_rows_per_s": round(args.rows / read_s),
        "validate_s": round(validate_s, 3),
        "validate_rows_per_s": round(args.rows / validate_s),
        "rows_per_s": round(args.rows / (read_s + validate_s)),
        "accepted": len(validated.accepted),
        "rejected": len(validated.rejected),
    }
    report(figures, RESULTS)
    return figures
