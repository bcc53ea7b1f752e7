"""doc_qa: retrieval, its evaluation on the labelled questions, and cited answers.

Answers are grounded by construction (`llm_assets_demo.grounded`): the model picks, through
a grammar-enforced enum, which of the numbered retrieved sentences states the answer; the
answer quotes that sentence and cites the passage holding it, or says "not found in the
sources".  An invalid model output falls back to the best-scored sentence and is counted
invalid.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, create_model

from llm_assets.core.errors import ConfigError
from llm_assets_demo import grounded, metrics
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
    """Retrieval recall@k and @1 over the answerable questions (the unanswerable ones have
    no relevant chunk by design); `unlabelled`: answerable questions no chunk answers."""
    got = [[h.id for h in row] for row in hits]
    rows = [{"qid": q["qid"], "question": q["question"], "document": q["document"],
             "relevant_chunks": sorted(want), "retrieved": ids[:k],
             "hit": bool(want & set(ids[:k]))} for q, want, ids in zip(questions, relevant, got)]
    keep = [i for i, q in enumerate(questions) if q.get("document")]
    sub_got, sub_rel = [got[i] for i in keep], [relevant[i] for i in keep]
    return {"recall_at_k": metrics.hit_rate(sub_got, sub_rel, k),
            "recall_at_1": metrics.hit_rate(sub_got, sub_rel, 1),
            "unlabelled": [rows[i]["qid"] for i in keep if not rows[i]["relevant_chunks"]],
            "questions": rows}


def choice_model(count: int) -> type[BaseModel]:
    """The answer schema: the number of the answering sentence, 0 when none answers."""
    numbers = Literal[tuple(range(0, count + 1))]
    return create_model("Choice", sentence=(numbers, Field(
        description="number of the sentence that answers the question, 0 if none does")))


def messages(question: str, numbered: list[str]) -> list[dict]:
    lines = "\n".join(f"{n}. {text}" for n, text in enumerate(numbered, start=1))
    return [
        {"role": "system", "content": "You pick the sentence that answers a question. "
                                      "Answer in JSON with the number of the sentence that "
                                      "states the answer, or 0 if no sentence states it."},
        {"role": "user", "content": f"Sentences:\n{lines}\n\nQuestion: {question}\n"
                                    "Which sentence answers the question?"},
    ]


def citation(hit, number: int) -> dict:
    meta = hit.metadata or {}
    return {"source": number, "document": hit.doc.rsplit("/", 1)[-1], "key": hit.doc,
            "chunk_id": hit.id, "chunk_index": hit.index,
            **{k: meta[k] for k in ("page", "rows") if k in meta}}


def candidates(question: str, hits: list, embeddings, embed_model: str | None,
               **gate) -> list:
    """The retrieved sentences that may answer `question`, best first (`grounded`);
    `gate`: limit, min_coverage, min_score."""
    if not hits:
        raise ConfigError(f"no passages retrieved for {question!r}: is the collection empty?")
    return grounded.candidates(question, grounded.units(hits), embeddings, embed_model, **gate)


def answer(llm, question: str, hits: list, gen_model: str | None, *, embeddings,
           embed_model: str | None, max_tokens: int = 24, **gate) -> dict:
    """A grounded answer (see `grounded`): a quoted sentence of the retrieved passages with
    the passage citing it, or "not found in the sources".  `llm=None`: the extractive
    baseline (best-scored sentence)."""
    picked = candidates(question, hits, embeddings, embed_model, **gate)
    return choose(llm, question, hits, picked, gen_model, max_tokens)


def choose(llm, question: str, hits: list, picked: list, gen_model: str | None,
           max_tokens: int = 24) -> dict:
    """The model's choice among the candidate sentences `picked` ((unit, score), best
    first) as the answer dict; `valid` is None when no model was asked (no candidate, or
    the extractive baseline)."""
    from llm_assets.backends.llm import InvalidModelOutput

    result = {"question": question, "found": False, "answer": grounded.NOT_FOUND,
              "quote": None, "valid": None, "answered_by": "gate", "model": None,
              "choice": None, "seconds": None, "prompt_tokens": 0, "completion_tokens": 0,
              "citations": [], "error": None,
              "candidates": [{"passage": u.passage, "score": score, "text": u.text}
                             for u, score in picked]}
    if not picked:
        return result
    choice = 1
    if llm is None:
        result.update(answered_by="extractive", model="extractive")
    else:
        schema = choice_model(len(picked))
        try:
            completion, value = llm.chat(messages(question, [u.text for u, _ in picked]),
                                         schema=schema, model=gen_model,
                                         max_tokens=max_tokens)
            choice = int(schema.model_validate(value.model_dump()).sentence)
            result.update(valid=True, answered_by="llm", model=completion.model,
                          choice=choice, seconds=round(completion.seconds, 3),
                          prompt_tokens=completion.prompt_tokens,
                          completion_tokens=completion.completion_tokens)
        except (InvalidModelOutput, ValidationError, ValueError) as err:
            result.update(valid=False, answered_by="fallback", model=gen_model,
                          error=str(err)[:500])
    if choice == 0:
        return result
    unit = picked[choice - 1][0]
    return {**result, "found": True, "answer": unit.text, "quote": unit.text,
            "citations": [citation(hits[unit.passage - 1], unit.passage)]}


def answer_question(llm, question: str, retrieve_parts, gen_model: str | None, *,
                    embeddings, embed_model: str | None, max_tokens: int = 24,
                    **gate) -> dict:
    """The stream's question answered part by part (`grounded.parts`): `retrieve_parts`
    maps the list of part questions to their hits.  One part: `answer`'s dict.  Several:
    the quotes joined, citations numbered across parts, "not found" said per part."""
    questions = grounded.parts(question)
    found = retrieve_parts(questions)
    results = [answer(llm, q, hits, gen_model, embeddings=embeddings, embed_model=embed_model,
                      max_tokens=max_tokens, **gate) for q, hits in zip(questions, found)]
    if len(results) == 1:
        return {**results[0], "question": question, "parts": None}
    citations, numbers, texts = [], {}, []
    for part in results:
        marks = []
        for c in part["citations"]:
            if c["chunk_id"] not in numbers:
                numbers[c["chunk_id"]] = len(numbers) + 1
                citations.append({**c, "source": numbers[c["chunk_id"]]})
            marks.append(numbers[c["chunk_id"]])
        part["sources"] = marks
        texts.append(part["answer"] if part["found"]
                     else f"{part['question']} {grounded.NOT_FOUND}")
    asked = [r["valid"] for r in results if r["valid"] is not None]
    by = sorted({r["answered_by"] for r in results})
    return {"question": question, "found": any(r["found"] for r in results),
            "answer": " ".join(texts) if any(r["found"] for r in results)
            else grounded.NOT_FOUND,
            "quote": None, "valid": all(asked) if asked else None,
            "answered_by": "+".join(by),
            "model": next((r["model"] for r in results if r["model"]), None),
            "seconds": round(sum(r["seconds"] or 0 for r in results), 3),
            "citations": citations, "error": next((r["error"] for r in results
                                                   if r["error"]), None),
            "parts": results}


def answer_markdown(result: dict, data_dt: str) -> str:
    """The answer as Markdown: each quoted sentence with the number of its source."""
    lines = [f"# {result['question']}", ""]
    for part in result.get("parts") or [result]:
        marks = part.get("sources") or [c["source"] for c in part["citations"]]
        if part["found"]:
            lines += [f"> {part['answer']} " + " ".join(f"[{n}]" for n in marks), ""]
        else:
            ask = f"{part['question']} " if result.get("parts") else ""
            lines += [f"{ask}{grounded.NOT_FOUND}", ""]
    lines += ["## Sources", ""]
    for c in result["citations"]:
        where = (f", page {c['page']}" if "page" in c
                 else f", rows {c['rows'][0]}-{c['rows'][1]}" if "rows" in c else "")
        lines.append(f"[{c['source']}] {c['document']}{where}, chunk {c['chunk_index']} "
                     f"(`{c['chunk_id']}`)")
    if not result["citations"]:
        lines.append("(none: no retrieved sentence states the answer)")
    lines += ["", f"Answered by: {result['answered_by']} ({result['model']}), quoting the "
                  f"sources verbatim; data date {data_dt}."]
    return "\n".join(lines) + "\n"
