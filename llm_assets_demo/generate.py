"""Seeded demo data for the doc_qa and promo_reco streams, and its idempotent upload.

    from llm_assets_demo import generate
    generate.upload(datalake)            # writes raw/doc_qa/... and raw/promo_reco/...

Same seed and scale -> same bytes.  `LLM_ASSETS_DEMO_SCALE=small` gives the reduced data the
test suite runs on.  `upload` writes a file only when it is missing or its content changed,
and removes files an earlier upload wrote that the current scale no longer has (recorded in
`raw/<stream>/_manifest.json`; files you add yourself are never touched).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
from dataclasses import asdict, dataclass

from llm_assets.core.errors import ConfigError
from llm_assets_demo import corpus, pdf, retail, sources

DEFAULT_SEED = 20260
DOC_QA_CSV_DLM = ";"
STREAMS = ("doc_qa", "promo_reco")
TXN_END = dt.date(2026, 6, 30)


@dataclass(frozen=True)
class Scale:
    name: str
    pdfs: tuple[str, ...]
    csvs: tuple[str, ...]
    txts: tuple[str, ...]
    promos_per_category: int
    customers: int
    txns_per_customer: tuple[int, int]


SCALES = {
    "full": Scale("full", tuple(corpus.PDFS), ("fee_schedule.csv", "branch_directory.csv"),
                  ("support_faq.txt", "service_announcements.txt"), 7, 400, (8, 24)),
    "small": Scale("small", ("northwind_card_agreement.pdf",), ("fee_schedule.csv",),
                   ("support_faq.txt",), 4, 40, (6, 14)),
}


def scale(name: str | None = None) -> Scale:
    """The scale named, else LLM_ASSETS_DEMO_SCALE, else `full`."""
    name = (name or os.environ.get("LLM_ASSETS_DEMO_SCALE") or "full").strip().lower()
    if name not in SCALES:
        raise ConfigError(f"LLM_ASSETS_DEMO_SCALE={name!r} is unknown: use one of "
                          f"{', '.join(SCALES)}")
    return SCALES[name]


def _rng(seed: int, part: str) -> random.Random:
    return random.Random(f"{seed}:{part}")


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def doc_qa_files(size: Scale, seed: int = DEFAULT_SEED) -> dict[str, bytes]:
    files, questions = {}, []
    for name in size.pdfs:
        title, blocks, found = corpus.pdf_document(name, _rng(seed, name))
        files[f"raw/doc_qa/pdf/{name}"] = pdf.write_pdf(title, blocks)
        questions += found
    makers = {"fee_schedule.csv": sources.fee_schedule,
              "branch_directory.csv": sources.branch_directory}
    for name in size.csvs:
        data, found = makers[name](_rng(seed, name), DOC_QA_CSV_DLM)
        files[f"raw/doc_qa/csv/{name}"] = data
        questions += found
    texts = {"support_faq.txt": sources.support_faq,
             "service_announcements.txt": sources.service_announcements}
    for name in size.txts:
        data, found = texts[name](_rng(seed, name))
        files[f"raw/doc_qa/txt/{name}"] = data
        questions += found
    labels = [asdict(q) for q in questions + corpus.unanswerable()]
    files["raw/doc_qa/eval/questions.json"] = json.dumps(labels, indent=1).encode()
    return files


def promo_reco_files(size: Scale, seed: int = DEFAULT_SEED) -> dict[str, bytes]:
    promos = retail.promotions(_rng(seed, "promotions"), size.promos_per_category)
    people, favourites = retail.customers(_rng(seed, "customers"), size.customers)
    txns = retail.transactions(_rng(seed, "transactions"), favourites,
                               size.txns_per_customer, TXN_END)
    return {
        "raw/promo_reco/promotions.csv": _csv(promos),
        "raw/promo_reco/customers.csv": _csv(people),
        "raw/promo_reco/transactions.csv": _csv(txns),
        "raw/promo_reco/eval/fitting_promotions.csv":
            _csv(retail.fitting(people, promos, favourites)),
    }


def build(stream: str, size: Scale | None = None, seed: int = DEFAULT_SEED) -> dict[str, bytes]:
    """The files of one demo stream: data lake key -> bytes."""
    size = size or scale()
    if stream == "doc_qa":
        return doc_qa_files(size, seed)
    if stream == "promo_reco":
        return promo_reco_files(size, seed)
    raise ConfigError(f"no demo data for stream {stream!r}: use one of {', '.join(STREAMS)}")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(datalake, streams: tuple[str, ...] = STREAMS, size: Scale | None = None,
           seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Write the demo files missing or changed; key -> written | unchanged | removed."""
    size = size or scale()
    status: dict[str, str] = {}
    for stream in streams:
        files = build(stream, size, seed)
        manifest_key = f"raw/{stream}/_manifest.json"
        old = (json.loads(datalake.get_text(manifest_key))
               if datalake.exists(manifest_key) else {"files": {}})
        for key, data in files.items():
            same = datalake.exists(key) and _digest(datalake.get_bytes(key)) == _digest(data)
            if not same:
                datalake.put_bytes(key, data)
            status[key] = "unchanged" if same else "written"
        for key in sorted(set(old["files"]) - set(files)):
            datalake.delete(key)
            status[key] = "removed"
        manifest = {"stream": stream, "scale": size.name, "seed": seed,
                    "files": {k: _digest(v) for k, v in sorted(files.items())}}
        text = json.dumps(manifest, indent=1)
        if not datalake.exists(manifest_key) or datalake.get_text(manifest_key) != text:
            datalake.put_text(manifest_key, text)
    return status
