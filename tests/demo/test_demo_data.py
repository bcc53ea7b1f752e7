"""The seeded demo data: deterministic, realistic in shape, labels that hold, idempotent
upload."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from pypdf import PdfReader

from llm_assets.backends.datalake import LocalDataLake
from llm_assets.core.chunking import chunk_bytes
from llm_assets_demo import generate, metrics, retail

pytestmark = pytest.mark.unit

SYS = {"pdf": (700, 160, None), "csv": (400, 0, ";"), "txt": (500, 160, None)}  # seed rows


def test_same_seed_same_bytes_and_scale_from_env(monkeypatch):
    monkeypatch.setenv("LLM_ASSETS_DEMO_SCALE", "small")
    assert generate.scale().name == "small"
    assert generate.build("doc_qa") == generate.build("doc_qa", generate.scale("small"))
    one = generate.build("promo_reco", generate.scale("small"), seed=1)
    assert one == generate.build("promo_reco", generate.scale("small"), seed=1)
    assert one != generate.build("promo_reco", generate.scale("small"), seed=2)
    monkeypatch.setenv("LLM_ASSETS_DEMO_SCALE", "huge")
    with pytest.raises(Exception, match="LLM_ASSETS_DEMO_SCALE='huge'"):
        generate.scale()


def test_full_scale_sizes():
    docs = generate.build("doc_qa", generate.scale("full"))
    pdfs = [k for k in docs if k.endswith(".pdf")]
    assert len(pdfs) == 3
    assert all(len(PdfReader(io.BytesIO(docs[k])).pages) >= 2 for k in pdfs)
    assert max(len(PdfReader(io.BytesIO(docs[k])).pages) for k in pdfs) >= 4
    assert len(json.loads(docs["raw/doc_qa/eval/questions.json"])) >= 60
    promo = generate.build("promo_reco", generate.scale("full"))
    table = {k.rsplit("/", 1)[-1]: pd.read_csv(io.BytesIO(v)) for k, v in promo.items()}
    assert 60 <= len(table["promotions.csv"]) <= 100
    assert len(table["customers.csv"]) >= 300
    assert len(table["transactions.csv"]) >= 3000
    assert table["fitting_promotions.csv"].customer_id.nunique() >= 300


@pytest.mark.parametrize("size", ["small", "full"])
def test_every_question_is_answered_by_a_chunk(size):
    docs = generate.build("doc_qa", generate.scale(size))
    chunks = []
    for key, data in docs.items():
        kind = key.split("/")[2]
        if kind in SYS:
            chunk_size, overlap, dlm = SYS[kind]
            chunks += chunk_bytes(data, doc=key, file_type=kind, chunk_size=chunk_size,
                                  overlap=overlap, dlm=dlm)
    questions = json.loads(docs["raw/doc_qa/eval/questions.json"])
    answerable = [q for q in questions if q["document"]]
    assert len(answerable) == {"small": 48, "full": 80}[size]
    for q in answerable:
        assert any(metrics.answers(c.text, c.doc, q["document"], q["keys"]) for c in chunks), q
        assert any(metrics.states_value(c.text, q["value"]) for c in chunks), q


def test_fitting_promotions_follow_the_rules():
    promo = generate.build("promo_reco", generate.scale("small"))
    frames = {k.rsplit("/", 1)[-1]: pd.read_csv(io.BytesIO(v)) for k, v in promo.items()}
    promos = frames["promotions.csv"].set_index("promo_id")
    customers = frames["customers.csv"].set_index("customer_id")
    for row in frames["fitting_promotions.csv"].itertuples():
        p, c = promos.loc[row.promo_id], customers.loc[row.customer_id]
        assert p.segment in ("all", c.segment)
        assert retail.TIERS.index(c.card_tier) >= retail.TIERS.index(p.min_tier)


def test_upload_writes_only_what_changed_and_removes_what_left(tmp_path):
    lake = LocalDataLake(root=str(tmp_path))
    full, small = generate.scale("full"), generate.scale("small")
    first = generate.upload(lake, size=full)
    assert set(first.values()) == {"written"}
    stamps = {k: (tmp_path / k).stat().st_mtime_ns for k in first}
    again = generate.upload(lake, size=full)
    assert set(again.values()) == {"unchanged"}
    assert stamps == {k: (tmp_path / k).stat().st_mtime_ns for k in first}
    lake.put_text("raw/doc_qa/txt/my_own_notes.txt", "kept")
    shrunk = generate.upload(lake, size=small)
    assert shrunk["raw/doc_qa/pdf/travel_protection_guide.pdf"] == "removed"
    assert not lake.exists("raw/doc_qa/pdf/travel_protection_guide.pdf")
    assert lake.exists("raw/doc_qa/txt/my_own_notes.txt")  # not ours: never touched
