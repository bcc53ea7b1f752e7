"""doc_qa: retrieval, its evaluation on the labelled questions, and cited answers.

The model answers in a schema whose `sources` are the numbers of the context passages
(an enum, so the grammar allows only passages it was shown); the numbers map back to
(document, chunk) citations.  An invalid answer falls back to quoting the best passage and
is counted as invalid.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, create_model

from llm_assets.core.errors import ConfigError
from llm_assets_demo import metrics
from llm_assets_demo.ingest import MANIFEST

QUESTIONS_KEY = "raw/{stream}/eval/questions.json"
_WORD = re.compile(r"[A-Za-z0-9]{2,}")


def load_chunks(datalake, stream: str) -> list[dict]:
    """Chunks of every ingestion manifest of the stream."""
    prefix = MANIFEST.format(stream=stream, name="x").rsplit("/", 1)[0] + "/"
    keys = [k for k in datalake.list(prefix) if k.endswith(".json")]
    if not keys:
        raise ConfigError(f"no ingestion manifests under {prefix}: run the stream's "
                          "ingestion processes first")
    return [c for k in keys for c in json.loads(datalake.get_text(k))["chunks"]]


def load_questions(datalake, stream: str) -> list[dict]:
    key = QUESTIONS_KEY.format(stream=stream)
    if not datalake.exists(key):
        raise ConfigError(f"no labelled questions at {key}: land the demo sources first")
    return json.loads(datalake.get_text(key))


def label(questions: list[dict], chunks: list[dict]) -> list[set[str]]:
    """Per question, the ids of the chunks that answer it."""
    return [{c["id"] for c in chunks if metrics.answers(c["text"], c["doc"], q["document"],
                                                        q["keys"])} for q in questions]


def retrieve(embeddings, vectorstore, *, collection: str, embed_model: str | None,
             texts: list[str], k: int, mode: str) -> list[list]:
    """Top-k hits per query text (mode `hybrid` or `vector`)."""
    if mode not in ("hybrid", "vector"):
        raise ConfigError(f"nb_parm search={mode!r}: use hybrid or vector")
    vectors = embeddings.embed(texts, model=embed_model)
    if mode == "vector":
        return [vectorstore.search(collection, v, k=k) for v in vectors]
    return [vectorstore.hybrid_search(collection, t, v, k=k) for t, v in zip(texts, vectors)]


def evaluate(questions: list[dict], relevant: list[set[str]], hits: list[list], k: int) -> dict:
    got = [[h.id for h in row] for row in hits]
    rows = [{"qid": q["qid"], "question": q["question"], "document": q["document"],
             "relevant_chunks": sorted(want), "retrieved": ids[:k],
             "hit": bool(want & set(ids[:k]))} for q, want, ids in zip(questions, relevant, got)]
    return {"recall_at_k": metrics.hit_rate(got, relevant, k),
            "recall_at_1": metrics.hit_rate(got, relevant, 1),
            "unanswerable": [r["qid"] for r in rows if not r["relevant_chunks"]],
            "questions": rows}


def answer_model(passages: int) -> type[BaseModel]:
    numbers = Literal[tuple(range(1, passages + 1))]
    return create_model(
        "Answer",
        answer=(str, Field(min_length=3, max_length=400, description="the answer")),
        sources=(list[numbers], Field(min_length=1, max_length=passages,
                                      description="numbers of the passages used")),
    )


def messages(question: str, hits: list) -> list[dict]:
    context = "\n\n".join(f"[{i}] ({h.doc.rsplit('/', 1)[-1]}) {h.text[:600]}"
                          for i, h in enumerate(hits, start=1))
    return [
        {"role": "system", "content": "Answer the question from the numbered passages only. "
                                      "Give a short answer and the numbers of the passages "
                                      "you used. Answer in JSON."},
        {"role": "user", "content": f"Passages:\n{context}\n\nQuestion: {question}"},
    ]


def citation(hit, number: int) -> dict:
    meta = hit.metadata or {}
    return {"source": number, "document": hit.doc.rsplit("/", 1)[-1], "key": hit.doc,
            "chunk_id": hit.id, "chunk_index": hit.index,
            **{k: meta[k] for k in ("page", "rows") if k in meta}}


def answer(llm, question: str, hits: list, gen_model: str | None,
           max_tokens: int = 200) -> dict:
    """The model's cited answer, or the fallback quote; `valid` says which."""
    from llm_assets.backends.llm import InvalidModelOutput

    if not hits:
        raise ConfigError(f"no passages retrieved for {question!r}: is the collection empty?")
    schema = answer_model(len(hits))
    error = None
    try:
        completion, value = llm.chat(messages(question, hits), schema=schema, model=gen_model,
                                     max_tokens=max_tokens)
        parsed = schema.model_validate(value.model_dump())
        if len(_WORD.findall(parsed.answer)) < 2:
            raise ValueError(f"content: answer {parsed.answer!r} has fewer than 2 words")
        sources = sorted(set(parsed.sources))
        return {"question": question, "answer": parsed.answer.strip(), "valid": True,
                "answered_by": "llm", "model": completion.model,
                "seconds": round(completion.seconds, 2),
                "citations": [citation(hits[n - 1], n) for n in sources], "error": None}
    except (InvalidModelOutput, ValidationError, ValueError) as err:
        error = str(err)[:500]
    best = hits[0]
    return {"question": question, "valid": False, "answered_by": "fallback",
            "answer": f"(no valid model answer) Most relevant passage: {best.text[:400]}",
            "model": gen_model, "seconds": None, "citations": [citation(best, 1)],
            "error": error}


def answer_markdown(result: dict, data_dt: str) -> str:
    lines = [f"# {result['question']}", "", result["answer"], "", "## Sources", ""]
    for c in result["citations"]:
        where = (f", page {c['page']}" if "page" in c
                 else f", rows {c['rows'][0]}-{c['rows'][1]}" if "rows" in c else "")
        lines.append(f"[{c['source']}] {c['document']}{where}, chunk {c['chunk_index']} "
                     f"(`{c['chunk_id']}`)")
    lines += ["", f"Answered by: {result['answered_by']} ({result['model']}), data date "
                  f"{data_dt}."]
    return "\n".join(lines) + "\n"
