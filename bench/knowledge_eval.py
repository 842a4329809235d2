"""Knowledge answers, evaluated: the example knowledge base and its 98 debtors' questions.

`python -m bench knowledge_eval [--k 5] [--details]`

Loads the example documents (`centralita/knowledge/examples/`) into a fresh embedded
Postgres as their two fictional tenants, Cobranzas Andes (Chile: the FAQ and the payment
conditions) and Recobros Ibérica (Spain: the Spanish and English FAQs), chunked and
embedded by the local multilingual-e5-small as an upload would be. Then asks every
question of `questions.yaml` to its company's tenant through
`centralita.knowledge.retrieval.KnowledgeBase` and reports:

- retrieval hit@1 and hit@3 (overall and per language): a hit is a returned chunk of the
  question's document whose heading path ends with the question's heading;
- answers: the share of answerable questions whose answer text contains the question's
  fact (without case, accents or spacing: "15%" is "15 %"), and the share answered "not
  found" by mistake;
- the share of unanswerable questions answered ``found=False`` (the agent then offers a
  callback or a person instead of inventing);
- the latency of the question's embedding and of the hybrid search (p50/p95).

Prints the figures and writes them to bench/results/knowledge_eval.json (with
``--details``, every question's result too).
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from bench.fresh_database import fresh_database, machine
from bench.report import report
from bench.stats import p50_p95
from centralita.kernel import runtime
from centralita.kernel.db import Pool
from centralita.knowledge.answers import answer_from_hits
from centralita.knowledge.chunking import HEADING_JOINER
from centralita.knowledge.embeddings import Embedder, embedder_for
from centralita.knowledge.indexing import EXAMPLE_COMPANIES, EXAMPLES, index_examples
from centralita.knowledge.retrieval import KnowledgeBase
from centralita.knowledge.search_store import KnowledgeHit
from centralita.tenants.store.keys import create_tenant
from centralita.understanding.text import strip_accents

RESULTS: Final = Path(__file__).resolve().parent / "results" / "knowledge_eval.json"
# A question goes to the company of its language (`EXAMPLE_COMPANIES`).
COMPANY_OF_LANGUAGE: Final = {
    "es-CL": "Cobranzas Andes SpA",
    "es-ES": "Recobros Ibérica S.L.",
    "en-GB": "Recobros Ibérica S.L.",
}


@dataclass(frozen=True)
class Outcome:
    """One question's result."""

    id: str
    language: str
    answerable: bool
    rank: int | None  # 1-based rank of the first right chunk; None when not returned
    found: bool
    fact_in_answer: bool
    best_similarity: float | None
    embed_ms: float
    search_ms: float
    answer: str


def fold(text: str) -> str:
    """Lower case, no accents, no spaces: how a fact is looked for in an answer."""
    return re.sub(r"\s+", "", strip_accents(text.casefold()))


def questions() -> list[dict[str, Any]]:
    """The question set, as `questions.yaml` lists it."""
    loaded = yaml.safe_load(EXAMPLES.joinpath("questions.yaml").read_text(encoding="utf-8"))
    return list(loaded["questions"])


async def load_examples(pool: Pool, embedder: Embedder) -> tuple[dict[str, str], dict[str, str]]:
    """Both companies as tenants with their documents indexed.

    Returns:
        The tenant id of each company, and each document id's file name.
    """
    tenants: dict[str, str] = {}
    names: dict[str, str] = {}
    for company in EXAMPLE_COMPANIES:
        async with pool.connection() as conn:
            tenant = (await create_tenant(conn, company)).id
            tenants[company] = tenant
            names.update(await index_examples(conn, tenant, company, embedder))
    return tenants, names


def right_rank(
    hits: Sequence[KnowledgeHit], names: dict[str, str], document: str, heading: str
) -> int | None:
    """1-based rank of the first hit from the document under the heading, or None."""
    for rank, hit in enumerate(hits, start=1):
        path = (hit.heading or "").split(HEADING_JOINER)
        if names.get(hit.document_id) == document and path[-1] == heading:
            return rank
    return None


async def evaluate(pool: Pool, embedder: Embedder, k: int) -> list[Outcome]:
    """Ask every question to its company's tenant."""
    tenants, names = await load_examples(pool, embedder)
    kb = KnowledgeBase(pool, embedder, k=k)
    set_ = questions()
    for q in set_[:10]:  # warm the model, the caches and the pool
        await kb.retrieve(tenants[COMPANY_OF_LANGUAGE[q["language"]]], q["question"], k=k)
    outcomes: list[Outcome] = []
    for q in set_:
        tenant = tenants[COMPANY_OF_LANGUAGE[q["language"]]]
        found = await kb.retrieve(tenant, q["question"], k=k)
        answer = answer_from_hits(q["question"], found.hits, language=q["language"])
        answerable = q["document"] is not None
        sims = [h.similarity for h in found.hits if h.similarity is not None]
        outcomes.append(
            Outcome(
                id=q["id"],
                language=q["language"],
                answerable=answerable,
                rank=right_rank(found.hits, names, q["document"], q["heading"])
                if answerable
                else None,
                found=answer.found,
                fact_in_answer=answerable and fold(q["fact"]) in fold(answer.text),
                best_similarity=round(max(sims), 4) if sims else None,
                embed_ms=found.embed_ms,
                search_ms=found.search_ms,
                answer=answer.text,
            )
        )
    return outcomes


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The evaluation's figures from every question's outcome."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    by_language: dict[str, list[Outcome]] = defaultdict(list)
    for o in answerable:
        by_language[o.language].append(o)

    def hit_at(group: Sequence[Outcome], n: int) -> float | None:
        return _share(sum(o.rank is not None and o.rank <= n for o in group), len(group))

    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hit_at_1": hit_at(answerable, 1),
        "hit_at_3": hit_at(answerable, 3),
        "by_language": {
            language: {"questions": len(g), "hit_at_1": hit_at(g, 1), "hit_at_3": hit_at(g, 3)}
            for language, g in sorted(by_language.items())
        },
        "fact_in_answer": _share(sum(o.fact_in_answer for o in answerable), len(answerable)),
        "fact_in_answer_by_language": {
            language: _share(sum(o.fact_in_answer for o in g), len(g))
            for language, g in sorted(by_language.items())
        },
        "answerable_not_found": _share(sum(not o.found for o in answerable), len(answerable)),
        "unanswerable_not_found": _share(sum(not o.found for o in unanswerable), len(unanswerable)),
        "embedding": p50_p95([o.embed_ms for o in outcomes]),
        "search": p50_p95([o.search_ms for o in outcomes]),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Load the examples into a fresh Postgres and evaluate every question."""
    embedder = embedder_for("local")
    async with fresh_database() as pool:
        outcomes = await evaluate(pool, embedder, args.k)
    result = figures(outcomes)
    result["k"] = args.k
    result["embedding_model"] = embedder.model_id
    if args.details:
        result["details"] = [o.__dict__ for o in outcomes]
    result["machine"] = machine()
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def build_parser() -> argparse.ArgumentParser:
    """The evaluation's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k", type=int, default=5, help="hits per question")
    parser.add_argument("--details", action="store_true", help="write every question's result too")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation with parsed options, print and write the figures."""
    print(f"knowledge evaluation: {len(questions())} questions over the example documents ...")
    result = runtime.run(bench(args))
    report(result, RESULTS, hidden=("machine", "details"))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evaluation from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
