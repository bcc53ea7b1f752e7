"""Benchmark of the local profile's AI services; prints a markdown section.

    .venv/bin/python bench/bench_ai.py [--quick] [--pg-url URL]

Measures: MiniLM embeddings/s; pgvector upserts/s and top-5 query latency (p50/p95) at 10k
and 100k chunks (real MiniLM vectors for 10k, random 384-d vectors for 100k); SmolLM2
tokens/s; structured-output validity over 20 prompts (first attempt only, and with the
resource's retries).  Without --pg-url an embedded Postgres is started in a temp directory.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from contextlib import contextmanager

from pydantic import BaseModel, Field

from llm_assets.backends.embeddings import LocalEmbeddings
from llm_assets.backends.llm import InvalidModelOutput, LocalLLM
from llm_assets.backends.vectorstore.pgvector import PgVectorStore
from llm_assets.core.chunking import Chunk, chunk_id

WORDS = ("return refund shipping warranty order invoice umbrella jacket promotion discount "
         "store customer price weekly delivery basket coupon season rain summer").split()


class Recommendation(BaseModel):
    product: str
    score: int = Field(ge=0, le=10)
    reasons: list[str]


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(12)) + f" #{i}" for i in range(n)]


@contextmanager
def postgres(url: str | None):
    if url:
        yield url
        return
    from llm_assets.cli import services

    os.environ["LLM_ASSETS_HOME"] = tempfile.mkdtemp(prefix="bench-ai-")
    os.environ.pop("LLM_ASSETS_DATABASE_URL", None)
    status = services.up()
    try:
        yield status.url
    finally:
        services.down()


def bench_embeddings(emb: LocalEmbeddings, n: int) -> tuple[float, list[list[float]]]:
    texts = sentences(n)
    emb.embed(texts[:8])  # load the model outside the timing
    start = time.perf_counter()
    vectors = emb.embed(texts)
    return n / (time.perf_counter() - start), vectors


def bench_pgvector(store: PgVectorStore, name: str, vectors: list[list[float]],
                   queries: int) -> dict:
    store.drop_collection(name)
    store.ensure_collection(name, len(vectors[0]))
    chunks = [Chunk(id=chunk_id(name, i, str(i)), doc=f"doc{i // 100}", index=i % 100,
                    text=f"chunk {i} " + WORDS[i % len(WORDS)], metadata={"n": i})
              for i in range(len(vectors))]
    start = time.perf_counter()
    for at in range(0, len(chunks), 1000):
        store.upsert(name, chunks[at:at + 1000], vectors[at:at + 1000])
    upserts = len(chunks) / (time.perf_counter() - start)
    rng = random.Random(1)
    latencies = []
    for _ in range(queries):
        query = vectors[rng.randrange(len(vectors))]
        t = time.perf_counter()
        store.search(name, query, k=5)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    return {"n": len(chunks), "upserts_s": upserts, "p50": statistics.median(latencies),
            "p95": latencies[int(0.95 * (len(latencies) - 1))], "count": store.count(name)}


def random_vectors(n: int, dim: int = 384) -> list[list[float]]:
    rng = random.Random(7)
    return [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(n)]


def bench_llm(llm: LocalLLM, runs: int) -> float:
    llm.chat([{"role": "user", "content": "hi"}], max_tokens=4)  # load
    tokens = seconds = 0.0
    for i in range(runs):
        completion, _ = llm.chat([{"role": "user", "content": f"Describe store {i} in detail."}],
                                 max_tokens=128)
        tokens += completion.completion_tokens
        seconds += completion.seconds
    return tokens / seconds


def bench_structured(llm: LocalLLM, tries: int) -> int:
    valid = 0
    for i in range(tries):
        try:
            llm.generate(f"Recommend one product for customer {i} on a rainy day; score 0-10.",
                         schema=Recommendation)
            valid += 1
        except InvalidModelOutput:
            continue
    return valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    small, large = (1_000, 5_000) if args.quick else (10_000, 100_000)
    queries, tries = (50, 5) if args.quick else (200, 20)

    emb = LocalEmbeddings()
    emb_rate, vectors = bench_embeddings(emb, 500 if args.quick else small)
    if len(vectors) < small:
        vectors = emb.embed(sentences(small))
    rows = []
    with postgres(args.pg_url) as url:
        store = PgVectorStore(url=url)
        rows.append(("MiniLM", bench_pgvector(store, "bench_small", vectors[:small], queries)))
        rows.append(("random", bench_pgvector(store, "bench_large", random_vectors(large),
                                              queries)))
        for name in ("bench_small", "bench_large"):
            store.drop_collection(name)
    tokens_s = bench_llm(LocalLLM(), 3 if args.quick else 5)
    raw = bench_structured(LocalLLM(retries=0, max_tokens=200), tries)
    retried = bench_structured(LocalLLM(retries=2, max_tokens=200), tries)

    print(f"## AI services benchmark ({'quick' if args.quick else 'full'}, "
          f"{os.cpu_count()} CPUs)\n")
    print(f"- MiniLM embeddings (local, 384-d): **{emb_rate:.0f} texts/s**")
    print("\n| pgvector chunks | vectors | upserts/s | top-5 p50 ms | top-5 p95 ms |")
    print("|---:|---|---:|---:|---:|")
    for kind, r in rows:
        print(f"| {r['n']:,} | {kind} | {r['upserts_s']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} |")
    print(f"\n- SmolLM2-135M (llama.cpp, free text): **{tokens_s:.0f} tokens/s**")
    print(f"- Structured output (Recommendation schema, grammar-constrained): "
          f"**{raw}/{tries}** valid on the first attempt, **{retried}/{tries}** with retries=2")


if __name__ == "__main__":
    main()
