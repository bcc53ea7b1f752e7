"""Measure the demo streams' quality: retrieval, answer accuracy per model, LLM ranking.

    llm-assets up && .venv/bin/python bench/measure_demo_quality.py [--scale full]
        [--models smollm2,gemma3,extractive] [--samples 20]

Runs the same library code as the notebooks, outside Dagster, against the profile's real
backends (local: pgvector in the embedded Postgres, MiniLM) on a scratch data lake and scratch
collections (`bench_*`, dropped afterwards):

- doc_qa: recall@5 of hybrid retrieval over every answerable labelled question; then, on the
  same retrieval and the same candidate sentences, every model of `--models` answers every
  labelled question (80 answerable + the unanswerable ones at full scale), each model in its
  own process (`--worker`) so that its peak memory (VmHWM) is its own (`--parallel`: all
  at once, beside the promo_reco measure).  `extractive` is the
  no-LLM baseline (best-scored sentence); `ollama:<name>` asks an Ollama server
  (OLLAMA_HOST) with the same prompt and schema.  Reported: answer accuracy, citation
  precision, not-found share of the unanswerable questions, schema validity, tokens/s,
  seconds per answer, peak memory.
- promo_reco: recall@5 of the retrieval ranking over every customer; for the `--samples`
  highest spenders, recall@5 and precision@1 of the LLM ranking against the retrieval
  order it re-ranks (labels: the promotions that fit each customer, known by construction).

Prints Markdown tables for the README and docs/benchmarks.md, and the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EMBED, GEN = "all-minilm", "qwen2.5:0.5b"
DOC_SYS = [{"sys_nm": "doc_qa_pdf", "file_type": "pdf", "dlm": None, "chunk_size": 700,
            "overlap": 160},
           {"sys_nm": "doc_qa_csv", "file_type": "csv", "dlm": ";", "chunk_size": 400,
            "overlap": 0},
           {"sys_nm": "doc_qa_txt", "file_type": "txt", "dlm": None, "chunk_size": 500,
            "overlap": 160}]  # the rows of sql/seed/002_demo_doc_qa.sql
MODELS = "smollm2,gemma3,extractive"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prepare_doc_qa(lake, res, size) -> dict:
    """Ingest, retrieve and pick the candidate sentences of every labelled question."""
    from llm_assets_demo import docqa, generate, ingest

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
    cases = [{"question": q["question"], "hits": [dataclasses.asdict(h) for h in hits],
              "picked": [[dataclasses.asdict(u), s] for u, s in docqa.candidates(
                  q["question"], hits, res.embeddings, EMBED)]}
             for q, hits in zip(questions, found)]
    res.vectorstore.drop_collection(collection)
    return {"questions": questions, "relevant": [sorted(r) for r in relevant],
            "recall": evaluation["recall_at_k"], "cases": cases}


def worker(model: str, cases_path: str, out_path: str) -> None:
    """Answer every case with one model (in its own process): results + figures as JSON."""
    from llm_assets.backends.llm import LocalLLM, OllamaLLM
    from llm_assets.backends.vectorstore.base import Hit
    from llm_assets_demo import docqa, grounded

    cases = json.loads(Path(cases_path).read_text())
    if model == "extractive":
        llm, gen = None, None
    elif model.startswith("ollama:"):
        llm = OllamaLLM(host=os.environ.get("OLLAMA_HOST", "http://localhost:11434"))
        gen = model.removeprefix("ollama:")
    else:
        llm, gen = LocalLLM(model_path=model), None  # the resource's defaults
    start = time.perf_counter()
    results = []
    for case in cases:
        hits = [Hit(**h) for h in case["hits"]]
        picked = [(grounded.Unit(**u), s) for u, s in case["picked"]]
        results.append(docqa.choose(llm, case["question"], hits, picked, gen))
    Path(out_path).write_text(json.dumps({"results": results, "peak_rss_mb": peak_rss_mb(),
                                          "wall_seconds": time.perf_counter() - start}))


def start_models(prepared: dict, models: list[str], tmp: str, parallel: bool) -> dict:
    """Start one worker process per model (all at once with `parallel`, else one by one as
    `finish_models` collects them)."""
    cases = Path(tmp) / "cases.json"
    cases.write_text(json.dumps(prepared["cases"]))
    jobs = {}
    for model in models:
        target = Path(tmp) / f"answers-{model.replace(':', '_').replace('/', '_')}.json"
        command = [sys.executable, __file__, "--worker", model, "--cases", str(cases),
                   "--out", str(target)]
        jobs[model] = (command, target, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if parallel else None)
    return jobs


def finish_models(prepared: dict, jobs: dict) -> dict[str, dict]:
    from llm_assets_demo import metrics

    relevant = [set(r) for r in prepared["relevant"]]
    out = {}
    for model, (command, target, proc) in jobs.items():
        proc = proc or subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        _, stderr = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"model {model} failed:\n{stderr[-3000:]}")
        data = json.loads(target.read_text())
        results = data["results"]
        quality = metrics.answer_quality(prepared["questions"], relevant, results)
        asked = [r for r in results if r["valid"] is not None]
        seconds = sum(r["seconds"] or 0 for r in asked)
        tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in asked)
        out[model] = {**quality, "valid": sum(bool(r["valid"]) for r in asked),
                      "asked": len(asked), "seconds": seconds,
                      "tokens_per_s": tokens / seconds if seconds else None,
                      "per_answer_s": seconds / len(asked) if asked else None,
                      "peak_rss_mb": data["peak_rss_mb"], "results": results}
    return out


def measure_promo_reco(lake, res, size, samples: int, gen_model: str | None) -> dict:
    import pandas as pd

    from llm_assets_demo import generate, ingest, profiles, reco

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
    outs = [reco.rank_with_llm(res.llm, people[i], cands[i], 5, gen_model, 600) for i in order]
    seconds = time.perf_counter() - start
    res.vectorstore.drop_collection(collection)
    llm_order = {people[i]["customer_id"]: [p["promo_id"] for p in o["picks"]]
                 for i, o in zip(order, outs)}
    comparison = reco.compare_rankings(llm_order, {c: ranked[c] for c in llm_order}, fitting)
    return {"recall": sum(recall.values()) / len(recall), "evaluated": len(recall),
            "valid": sum(o["valid"] for o in outs), "outputs": len(outs),
            "seconds": seconds, **comparison}


def _fmt(value, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def doc_qa_table(prepared: dict, results: dict[str, dict]) -> str:
    lines = ["| model | answer accuracy | citation precision | unanswerable -> not found "
             "| valid model outputs | tokens/s (prompt+output) | s per answer | peak memory |",
             "|---|---|---|---|---|---|---|---|"]
    for model, r in results.items():
        lines.append(
            f"| {model} | **{r['answer_accuracy']:.3f}** ({r['correct']}/{r['answerable']}) "
            f"| **{r['citation_precision']:.3f}** ({r['cited_precisely']}/{r['answered']}) "
            f"| {r['not_found_share']:.2f} ({r['unanswerable_not_found']}/{r['unanswerable']}) "
            f"| {r['valid']}/{r['asked']} | {_fmt(r['tokens_per_s'], '.0f')} "
            f"| {_fmt(r['per_answer_s'], '.2f')} | {r['peak_rss_mb']:.0f} MB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="full", choices=("full", "small"))
    parser.add_argument("--models", default=MODELS,
                        help="comma-separated: local aliases or .gguf paths, ollama:<name>, "
                             "extractive")
    parser.add_argument("--samples", type=int, default=20, help="LLM-ranked customers")
    parser.add_argument("--skip-promo", action="store_true")
    parser.add_argument("--parallel", action="store_true",
                        help="run the model processes at once (and beside promo_reco): "
                             "faster, but they share the CPU, so tokens/s is lower")
    parser.add_argument("--save", help="write every answer and figure to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.cases, args.out)
        return 0

    import dagster as dg

    from llm_assets.backends.datalake import LocalDataLake
    from llm_assets.backends.profile import resources_for_profile
    from llm_assets_demo import generate

    size = generate.scale(args.scale)
    defined = resources_for_profile()
    keys = ["embeddings", "llm", "vectorstore"]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="demo-quality-") as tmp, \
            dg.build_resources({k: defined[k] for k in keys}) as res:
        lake = LocalDataLake(root=tmp)
        prepared = prepare_doc_qa(lake, res, size)
        jobs = start_models(prepared, [m.strip() for m in args.models.split(",") if m.strip()],
                            tmp, args.parallel)
        promo = (None if args.skip_promo
                 else measure_promo_reco(lake, res, size, args.samples, GEN))
        models = finish_models(prepared, jobs)
    if args.save:
        Path(args.save).write_text(json.dumps({"doc_qa": models, "promo_reco": promo},
                                              indent=1, default=str))
    extra = (" --skip-promo" if args.skip_promo else "") + (" --parallel" if args.parallel
                                                            else "")
    print(f"Command: python bench/measure_demo_quality.py --scale {args.scale} "
          f"--models {args.models} --samples {args.samples}{extra}")
    print(f"Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} CPUs)\n")
    answerable = sum(1 for q in prepared["questions"] if q["document"])
    print(f"doc_qa: retrieval recall@5 {prepared['recall']:.3f} over {answerable} answerable "
          f"questions; {len(prepared['questions']) - answerable} unanswerable\n")
    print(doc_qa_table(prepared, models))
    if promo:
        print("\n| stream | retrieval recall@5 | evaluated | valid LLM rankings "
              "| LLM-ranked customers: recall@5 LLM vs retrieval | precision@1 LLM vs "
              "retrieval | LLM time |")
        print("|---|---|---|---|---|---|---|")
        print(f"| promo_reco | {promo['recall']:.3f} | {promo['evaluated']} | "
              f"{promo['valid']}/{promo['outputs']} | {promo['llm_recall_at_5']:.3f} vs "
              f"{promo['retrieval_recall_at_5']:.3f} | {promo['llm_precision_at_1']:.2f} vs "
              f"{promo['retrieval_precision_at_1']:.2f} | {promo['seconds']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
