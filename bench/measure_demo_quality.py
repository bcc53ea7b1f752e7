"""Measure the demo streams' quality: retrieval recall@5 and structured-output validity.

    llm-assets up && .venv/bin/python bench/measure_demo_quality.py [--scale full] [--samples 20]

Runs the same library code as the notebooks, outside Dagster, against the profile's real
backends (local: pgvector in the embedded Postgres, MiniLM, SmolLM2-135M) on a scratch data
lake and scratch collections (`bench_*`, dropped afterwards):

- doc_qa: recall@5 of hybrid retrieval over every labelled question; validity of the
  cited-answer JSON for `--samples` labelled questions;
- promo_reco: recall@5 of the retrieval ranking over every customer (fitting promotions known
  by construction); validity of the LLM ranking JSON for the `--samples` highest spenders.

Prints a Markdown table for the README and the command that produced it.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time

import dagster as dg
import pandas as pd

from llm_assets.backends.datalake import LocalDataLake
from llm_assets.backends.profile import resources_for_profile
from llm_assets_demo import docqa, generate, ingest, profiles, reco

EMBED, GEN = "all-minilm", "qwen2.5:0.5b"
DOC_SYS = [{"sys_nm": "doc_qa_pdf", "file_type": "pdf", "dlm": None, "chunk_size": 700,
            "overlap": 160},
           {"sys_nm": "doc_qa_csv", "file_type": "csv", "dlm": ";", "chunk_size": 400,
            "overlap": 0},
           {"sys_nm": "doc_qa_txt", "file_type": "txt", "dlm": None, "chunk_size": 500,
            "overlap": 160}]  # the rows of sql/seed/002_demo_doc_qa.sql


def measure_doc_qa(lake, res, size, samples: int) -> dict:
    collection = "bench_doc_qa_chunks"
    generate.upload(lake, ("doc_qa",), size)
    for sys_file in DOC_SYS:
        ingest.ingest_documents(lake, res.embeddings, res.vectorstore, stream="doc_qa",
                                sys_file=sys_file, collection=collection, embed_model=EMBED)
    questions = docqa.load_questions(lake, "doc_qa")
    relevant = docqa.label(questions, docqa.load_chunks(lake, "doc_qa"))
    found = docqa.retrieve(res.embeddings, res.vectorstore, collection=collection,
                           embed_model=EMBED, texts=[q["question"] for q in questions], k=5,
                           mode="hybrid")
    evaluation = docqa.evaluate(questions, relevant, found, 5)
    step = max(1, len(questions) // max(1, samples))
    picked = list(range(0, len(questions), step))[:samples]
    start = time.perf_counter()
    answers = [docqa.answer(res.llm, questions[i]["question"], found[i], GEN) for i in picked]
    res.vectorstore.drop_collection(collection)
    return {"recall": evaluation["recall_at_k"], "evaluated": len(questions),
            "valid": sum(a["valid"] for a in answers), "outputs": len(answers),
            "seconds": time.perf_counter() - start}


def measure_promo_reco(lake, res, size, samples: int) -> dict:
    collection = "bench_promo_reco_promotions"
    generate.upload(lake, ("promo_reco",), size)
    read = lambda name: pd.read_csv(io.BytesIO(lake.get_bytes(f"raw/promo_reco/{name}")))  # noqa: E731
    promos = read("promotions.csv")
    promos["text"] = (promos.title + ". " + promos.description + " Category: "
                      + promos.category.str.replace("_", " ") + ".")
    meta = ["promo_id", "category", "merchant", "segment", "min_tier", "valid_to"]
    chunks = ingest.record_chunks(promos, doc="raw/promo_reco/promotions.csv",
                                  key_column="promo_id", text_columns=["text"],
                                  meta_columns=meta, collection=collection, max_chars=1000)
    ingest.store(lake, res.embeddings, res.vectorstore, stream="promo_reco", name="promotions",
                 collection=collection, embed_model=EMBED, chunks=chunks,
                 documents=["raw/promo_reco/promotions.csv"])
    rows = profiles.build_profiles(read("customers.csv"), read("transactions.csv"))
    people = rows.to_dict("records")
    by_id = {p["promo_id"]: p for p in promos.drop(columns="text").to_dict("records")}
    cands = reco.candidates_for_all(people, by_id, res.embeddings, res.vectorstore,
                                    collection=collection, embed_model=EMBED, count=8)
    fitting = reco.load_fitting(lake, "promo_reco")
    ids = [p["customer_id"] for p in people]
    ranked = {p["customer_id"]: [c["promo_id"] for c in cs[:5]] for p, cs in zip(people, cands)}
    recall = reco.per_customer_recall(ids, ranked, fitting, 5)
    order = sorted((i for i, c in enumerate(cands) if len(c) >= 5),
                   key=lambda i: (-people[i]["total_spend"], people[i]["customer_id"]))[:samples]
    start = time.perf_counter()
    outs = [reco.rank_with_llm(res.llm, people[i], cands[i], 5, GEN, 600) for i in order]
    res.vectorstore.drop_collection(collection)
    return {"recall": sum(recall.values()) / len(recall), "evaluated": len(recall),
            "valid": sum(o["valid"] for o in outs), "outputs": len(outs),
            "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="full", choices=sorted(generate.SCALES))
    parser.add_argument("--samples", type=int, default=20, help="LLM outputs per stream")
    args = parser.parse_args(argv)
    size = generate.scale(args.scale)
    defined = resources_for_profile()
    keys = ["embeddings", "llm", "vectorstore"]
    with tempfile.TemporaryDirectory(prefix="demo-quality-") as tmp, \
            dg.build_resources({k: defined[k] for k in keys}) as res:
        lake = LocalDataLake(root=tmp)
        results = {"doc_qa": measure_doc_qa(lake, res, size, args.samples),
                   "promo_reco": measure_promo_reco(lake, res, size, args.samples)}
    print(f"Command: python bench/measure_demo_quality.py --scale {args.scale} "
          f"--samples {args.samples}\n")
    print("| stream | retrieval recall@5 | evaluated | valid structured outputs | LLM time |")
    print("|---|---|---|---|---|")
    for stream, r in results.items():
        print(f"| {stream} | {r['recall']:.3f} | {r['evaluated']} | {r['valid']}/{r['outputs']}"
              f" ({r['valid'] / max(1, r['outputs']):.0%}) | {r['seconds']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
