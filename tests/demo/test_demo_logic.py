"""The logic the demo notebooks call: ranking validation and fallback, profiles, metrics,
the HTML report and the asset checks."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from llm_assets_demo import generate, metrics, profiles, quality, ranking, reco, report

pytestmark = pytest.mark.unit

PROFILE = {"customer_id": "C1", "segment": "family", "card_tier": "gold",
           "top_categories": ["grocery", "kids_toys"], "top_shares": [60, 30],
           "top_merchants": [["FreshMart"], ["ToyLand"]], "profile_text": "family customer"}


def _cands(n: int) -> list[dict]:
    return [{"promo_id": f"P{i}", "title": f"Offer {i}", "category": "grocery",
             "description": "d", "similarity": 1 - i / 10} for i in range(n)]


def _answer(ids, scores, reason="You shop for groceries every week"):
    return {pid: {"score": s, "reason": reason} for pid, s in zip(ids, scores)}


def test_llm_answer_ranked_by_score_ties_in_retrieval_order():
    ids = ["P0", "P1", "P2", "P3", "P4", "P5"]
    picks = ranking.check_answer(json.dumps(_answer(ids, [3, 5, 3, 1, 5, 2])), ids, 3)
    assert [p["promo_id"] for p in picks] == ["P1", "P4", "P0"]
    assert picks[0]["score"] == 1.0


@pytest.mark.parametrize("answer, error", [
    ({"P0": {"score": 9, "reason": "You shop for groceries"}}, "schema"),
    (_answer(["P0", "P1"], [5, 4], reason="2026-10-31 x"), "content"),
])
def test_invalid_answers_are_rejected(answer, error):
    with pytest.raises(ValueError, match=error):
        ranking.check_answer(answer, ["P0", "P1"], 2)


def test_fallback_is_retrieval_order_with_profile_reasons():
    picks = ranking.fallback(PROFILE, _cands(7), 5)
    assert [p["promo_id"] for p in picks] == ["P0", "P1", "P2", "P3", "P4"]
    assert "60%" in picks[0]["reason"]


def test_eligibility_and_vector_filters_agree():
    promo = {"segment": "affluent", "min_tier": "classic"}
    assert not ranking.eligible(PROFILE, promo)
    assert ranking.eligible(PROFILE, {"segment": "all", "min_tier": "gold"})
    assert not ranking.eligible(PROFILE, {"segment": "all", "min_tier": "platinum"})
    assert reco.allowed(PROFILE) == {"segment": ["all", "family"],
                                     "min_tier": ["classic", "gold"]}
    assert reco.queries(PROFILE) == ["offers on groceries and supermarkets at FreshMart",
                                     "offers on toys and children at ToyLand"]


def test_profiles_summarise_spending():
    files = generate.build("promo_reco", generate.scale("small"))
    read = lambda name: pd.read_csv(io.BytesIO(files[f"raw/promo_reco/{name}"]))  # noqa: E731
    frame = profiles.build_profiles(read("customers.csv"), read("transactions.csv"))
    assert len(frame) == 40
    row = frame.iloc[0]
    assert sum(row.top_shares) <= 100 and row.top_shares == sorted(row.top_shares, reverse=True)
    assert "card transactions" in row.profile_text


def test_recall_measures():
    assert metrics.hit_rate([["a", "b"], ["c"]], [{"b"}, {"x"}], 5) == 0.5
    assert metrics.set_recall([["a", "b", "c"]], [{"a", "z"}], 5) == 0.5
    assert metrics.set_recall([["a", "b"]], [{"a", "b", "c", "d", "e", "f"}], 2) == 1.0


def test_report_has_a_readable_chart():
    recs = pd.DataFrame([{"customer_id": "C1", "rank": 1, "promo_id": "P1", "title": "T <b>",
                          "category": "grocery", "score": 0.8, "ranked_by": "llm",
                          "reason": "You shop weekly"}])
    m = {"customers": 1, "promotions": 1, "retrieval_recall_at_5": 0.8,
         "final_recall_at_5": 0.7, "llm_attempts": 1, "llm_valid_share": 1.0}
    html = report.html_report(recs, m, [("grocery", 5.0), ("travel", 2.0)],
                              [("family", 0.75)], "Report")
    assert html.count("<svg") == 2 and "<rect" in html and "75%" in html
    assert "T &lt;b&gt;" in html  # escaped


DOC_QA = {"answer_accuracy": 0.9, "answerable_evaluated": 80, "answers_correct": 72,
          "citation_precision": 0.97, "answers_given": 74, "answers_cited_precisely": 72,
          "not_found_share": 0.8, "unanswerable_evaluated": 15, "unanswerable_not_found": 12}


@pytest.mark.parametrize("values, passed", [
    ({"retrieval_recall_at_5": 0.9, "llm_valid_share": 0.6, "collection_count": 10}, True),
    ({"retrieval_recall_at_5": 0.5, "llm_valid_share": 0.1, "collection_count": 12,
      "answer_accuracy": 0.5, "citation_precision": 0.9, "not_found_share": 0.7}, False),
])
def test_checks_fail_below_thresholds(values, passed, monkeypatch):
    m = {**DOC_QA, **values, "llm_outputs": 5, "llm_valid": 3, "expected_vectors": 10,
         "distinct_chunk_ids": 10}
    outcomes = quality.outcomes("doc_qa", m)
    assert set(outcomes) == set(quality.CHECKS["doc_qa"])
    assert all(o["passed"] for o in outcomes.values()) is passed
    assert any(o["passed"] for o in outcomes.values()) is passed
    monkeypatch.setenv("LLM_ASSETS_CHECK_DOC_QA_RETRIEVAL_RECALL_AT_5", "0.95")
    assert quality.outcomes("doc_qa", m)["retrieval_recall_at_5"]["threshold"] == 0.95
    monkeypatch.setenv("LLM_ASSETS_CHECK_DOC_QA_ANSWER_ACCURACY", "0.95")
    accuracy = quality.outcomes("doc_qa", {**m, "answer_accuracy": 0.9})["answer_accuracy"]
    assert accuracy["threshold"] == 0.95 and not accuracy["passed"]


def test_answer_checks_fail_when_nothing_was_measured():
    m = {**DOC_QA, "retrieval_recall_at_5": 0.9, "llm_valid_share": 0.0, "llm_outputs": 0,
         "collection_count": 1, "expected_vectors": 1, "distinct_chunk_ids": 1,
         "answerable_evaluated": 0, "answers_given": 0, "unanswerable_evaluated": 0}
    outcomes = quality.outcomes("doc_qa", m)
    for name in ("answer_accuracy", "citation_precision", "not_found_share"):
        assert not outcomes[name]["passed"] and outcomes[name]["description"], name


@pytest.mark.parametrize("llm, retrieval, passed", [(0.9, 0.8, True), (0.73, 0.88, False)])
def test_llm_ranking_is_checked_against_the_retrieval_order(llm, retrieval, passed):
    m = {"retrieval_recall_at_5": 0.8, "llm_valid_share": 1.0, "llm_attempts": 20,
         "collection_count": 1, "expected_vectors": 1, "distinct_chunk_ids": 1,
         "llm_ranked_final_recall_at_5": llm, "llm_ranked_retrieval_recall_at_5": retrieval,
         "llm_ranked_evaluated": 20}
    check = quality.outcomes("promo_reco", m)["llm_beats_retrieval"]
    assert check["passed"] is passed and check["severity"] == "WARN"
    assert check["value"] == pytest.approx(llm - retrieval)


def test_rankings_compared_on_the_same_customers():
    fitting = {"C1": {"P1", "P2"}, "C2": {"P9"}, "C3": set()}
    llm = {"C1": ["P1", "P3"], "C2": ["P8", "P9"], "C3": ["P1"]}
    retrieval = {"C1": ["P3", "P4"], "C2": ["P9", "P8"], "C3": ["P1"]}
    out = reco.compare_rankings(llm, retrieval, fitting)
    assert out["compared"] == 2  # C3 has no fitting promotion
    assert out["llm_recall_at_5"] == pytest.approx((0.5 + 1.0) / 2)
    assert out["retrieval_recall_at_5"] == pytest.approx((0.0 + 1.0) / 2)
    assert out["llm_precision_at_1"] == 0.5 and out["retrieval_precision_at_1"] == 0.5


def test_demo_notebooks_declare_the_checks_they_report():
    from llm_assets.core.notebooks import describe
    from llm_assets.core.settings import notebooks_dir

    for stream, path in (("doc_qa", "doc_qa/answer.ipynb"),
                         ("promo_reco", "promo_reco/rank.ipynb")):
        declared = {c.name for c in describe(notebooks_dir() / path).checks}
        assert declared == set(quality.CHECKS[stream]), path
