"""Grounded doc_qa answers: units of the retrieved passages, the grounding gate, compound
questions, the answer measures, and answers that can only quote retrieved text."""

from __future__ import annotations

import json

import pytest

from llm_assets.backends.vectorstore.base import Hit
from llm_assets_demo import docqa, generate, grounded, metrics

PDF = ("Please keep this document together\nwith your card carrier for future reference. "
       "Alerts by text message can be\nswitched on or off at any time.\n"
       "5. Disputing a transaction\n"
       "You must dispute a transaction within 90 days of the statement date on which it\n"
       "first appeared. Payments made through the mobile app before 5 p.m. Eastern time are\n"
       "credited the same day. While we investigate a dispute we give a provisional credit "
       "within 10 business\ndays. Our fraud systems may")
CSV = ("fee_code: FEE-GLD-RPL | product: Gold | fee: Replacement card | amount: USD 15\n"
       "fee_code: FEE-PLT-RPL | product: Platinum | fee: Replacement card | amount: USD 10")
TXT = ("takes 2 minutes at most.\n\nQ2. Can I choose my own PIN?\nYes. Set or change your "
       "PIN at any ATM; a new PIN works after 30 minutes.\n\n[3] Contactless limit\nThe "
       "contactless limit without PIN rises to USD 150 from 1 June.")


def _hit(n: int, text: str, kind: str) -> Hit:
    return Hit(id=f"chunk-{n}", doc=f"raw/doc_qa/{kind}/doc{n}.{kind}", index=n, text=text,
               score=1.0, metadata={"file_type": kind, "page": 2} if kind == "pdf"
               else {"file_type": kind})


HITS = [_hit(1, PDF, "pdf"), _hit(2, CSV, "csv"), _hit(3, TXT, "txt")]


@pytest.mark.unit
def test_passages_split_into_answerable_units_without_fragments():
    found = grounded.units(HITS)
    texts = [u.text for u in found]
    assert ("You must dispute a transaction within 90 days of the statement date on which it "
            "first appeared.") in texts
    # "p.m." does not end a sentence; wrapped lines are joined
    assert ("Payments made through the mobile app before 5 p.m. Eastern time are credited the "
            "same day.") in texts
    assert not any(t.startswith(("5. Disputing", "takes 2", "with your")) for t in texts)
    assert [u.text for u in found if u.passage == 2] == CSV.splitlines()  # a unit per row
    assert ("Q2. Can I choose my own PIN? Yes. Set or change your PIN at any ATM; a new PIN "
            "works after 30 minutes.") in texts  # an FAQ entry keeps its question
    assert {u.passage for u in found} == {1, 2, 3}


@pytest.mark.unit
def test_the_gate_wants_the_questions_names_numbers_and_words():
    row = CSV.splitlines()[0]
    assert grounded.grounds("What does a replacement card cost for Gold cardholders?", row)
    assert not grounded.grounds("What does a replacement card cost for Platinum "
                                "cardholders?", row)  # another card
    assert not grounded.grounds("How much is the annual fee for the Diamond card?", row)
    assert not grounded.grounds("What is the interest rate on a 30-year mortgage?",
                                "The purchase interest rate is 21.4% per year.")  # number
    assert not grounded.grounds("What is the fee for an international wire transfer?",
                                "fee: Balance transfer fee | amount: 3%", min_coverage=0.6)
    assert grounded.stem("reimbursement") == grounded.stem("reimbursed")
    assert grounded.stem("closing") == grounded.stem("close")


@pytest.mark.unit
@pytest.mark.parametrize("question, expected", [
    ("How many days do I have to dispute a card transaction, and when do I receive a "
     "provisional credit?", ["How many days do I have to dispute a card transaction?",
                             "When do I receive a provisional credit?"]),
    ("What are the opening hours and services of the Springfield branch?",
     ["What are the opening hours and services of the Springfield branch?"]),
])
def test_compound_questions_are_answered_part_by_part(question, expected):
    assert grounded.parts(question) == expected


@pytest.mark.unit
@pytest.mark.parametrize("answer, value, states", [
    ("within 90 days of the statement", "90", True),
    ("a fee of 2.5% applies", "2", False),
    ("a fee of 25 applies", "2", False),
    ("covered up to USD 100,000.", "100,000", True),
    ("covered up to USD 100000.", "100,000", True),
    ("amount: No fee | notes", "No fee", True),
    ("Mon-Fri 9:00-17:00, Sat 9:00-13:00", "Mon-Fri 9:00-17:00", True),
    ("Not found in the sources.", "90", False),
])
def test_the_answer_states_the_seeded_value_exactly(answer, value, states):
    assert metrics.states_value(answer, value) is states


@pytest.mark.unit
def test_answer_quality_counts_accuracy_citations_and_not_found():
    questions = [{"qid": "a", "document": "d.pdf", "value": "90"},
                 {"qid": "b", "document": "d.pdf", "value": "10"},
                 {"qid": "c", "document": "d.pdf", "value": "5"},
                 {"qid": "u1", "document": "", "value": ""},
                 {"qid": "u2", "document": "", "value": ""}]
    relevant = [{"k1"}, {"k2"}, {"k3"}, set(), set()]

    def said(text, chunk=None):
        return {"found": chunk is not None, "answer": text,
                "citations": [{"chunk_id": chunk}] if chunk else []}

    results = [said("within 90 days", "k1"), said("within 10 days", "k9"),
               said(grounded.NOT_FOUND), said(grounded.NOT_FOUND), said("USD 5", "k3")]
    out = metrics.answer_quality(questions, relevant, results)
    assert out["answer_accuracy"] == pytest.approx(2 / 3)
    assert out["citation_precision"] == pytest.approx(1 / 2)  # k9 does not hold fact b
    assert out["not_found_share"] == pytest.approx(1 / 2)
    assert (out["answerable"], out["answered"], out["unanswerable"]) == (3, 2, 2)


@pytest.mark.unit
def test_labels_carry_values_and_unanswerable_questions():
    labels = json.loads(generate.build("doc_qa", generate.scale("full"))
                        ["raw/doc_qa/eval/questions.json"])
    answerable = [q for q in labels if q["document"]]
    assert len(answerable) == 80 and len(labels) - len(answerable) >= 10
    for q in answerable:  # the value is in the labelled fact, so a quote can state it
        assert q["value"] and metrics.states_value(" ".join(q["keys"]), q["value"]), q
    assert all(not q["keys"] and not q["value"] for q in labels if not q["document"])


@pytest.fixture(scope="module")
def embeddings():
    from llm_assets.backends.embeddings import LocalEmbeddings

    return LocalEmbeddings()


@pytest.mark.slow
@pytest.mark.integration
def test_extractive_answer_quotes_and_cites_the_passage_that_holds_it(embeddings):
    result = docqa.answer(None, "How many days do I have to dispute a transaction?", HITS,
                          None, embeddings=embeddings, embed_model=None)
    assert result["found"] and result["answered_by"] == "extractive"
    assert result["answer"].startswith("You must dispute a transaction within 90 days")
    assert [c["chunk_id"] for c in result["citations"]] == ["chunk-1"]
    assert result["citations"][0]["page"] == 2
    units = {u.text for u in grounded.units(HITS)}
    assert result["answer"] in units  # a quote, never generated text
    none = docqa.answer(None, "What is the fee for a cashier's check?", HITS, None,
                        embeddings=embeddings, embed_model=None)
    assert not none["found"] and none["answer"] == grounded.NOT_FOUND
    assert none["citations"] == [] and none["answered_by"] == "gate"


@pytest.mark.slow
@pytest.mark.integration
def test_compound_question_gets_both_quotes_with_numbered_sources(embeddings):
    def retrieve(questions):
        return [HITS for _ in questions]

    result = docqa.answer_question(
        None, "How many days do I have to dispute a transaction, and when do I receive a "
        "provisional credit?", retrieve, None, embeddings=embeddings, embed_model=None)
    assert metrics.states_value(result["answer"], "90")
    assert metrics.states_value(result["answer"], "10")
    assert [c["source"] for c in result["citations"]] == [1]  # one chunk holds both
    text = docqa.answer_markdown(result, "2026-06-30")
    assert text.count("> ") == 2 and "[1] doc1.pdf, page 2, chunk 1" in text


@pytest.mark.unit
def test_a_question_asking_for_an_amount_needs_a_sentence_stating_one():
    question = "What is the minimum number of points I can redeem?"
    assert not grounded.grounds(question, "Points have no cash value except when redeemed.")
    assert grounded.grounds(question, "The minimum redemption is 1000 points.")
    assert grounded.grounds("How much is the fee on the Gold card?",
                            "fee: Foreign fee | product: Gold | amount: No fee")


@pytest.mark.unit
def test_page_footers_and_titles_are_not_answers():
    text = ("Northwind Bank Credit Card Agreement - page 5\n1. About this agreement\n"
            "Northwind Bank Credit Card Agreement\nThis agreement takes effect 45 days after "
            "it is issued.")
    assert grounded.split_units(text, "pdf") == [
        "Northwind Bank Credit Card Agreement This agreement takes effect 45 days after it "
        "is issued."]
