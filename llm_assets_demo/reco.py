"""promo_reco: retrieval of candidates per customer, LLM ranking, recommendations, metrics.

Retrieval: one vector search per spending category of the customer holding at least
`min_share`% of its spend (query "offers on <category> at <merchants>"), filtered in the
vector store to promotions open to the customer's segment and card tier; the per-category
lists are interleaved (best of each first).  The first `top_n` candidates are the retrieval
ranking; the LLM re-ranks the `candidates` of a bounded number of customers.
"""

from __future__ import annotations

from llm_assets_demo import metrics, ranking
from llm_assets_demo.profiles import LABELS

FITTING_KEY = "raw/{stream}/eval/fitting_promotions.csv"


def queries(profile: dict, min_share: int = 10) -> list[str]:
    pairs = [(c, m) for c, s, m in zip(profile["top_categories"], profile["top_shares"],
                                      profile["top_merchants"]) if s >= min_share]
    pairs = pairs or list(zip(profile["top_categories"], profile["top_merchants"]))[:1]
    return [f"offers on {LABELS.get(c, c)}" + (f" at {', '.join(m)}" if m else "")
            for c, m in pairs]


def allowed(profile: dict) -> dict:
    """Vector-store filters: promotions open to the customer's segment and tier."""
    tier = ranking.TIERS.index(profile["card_tier"])
    return {"segment": ["all", profile["segment"]], "min_tier": list(ranking.TIERS[:tier + 1])}


def candidates_for_all(profiles: list[dict], promos: dict[str, dict], embeddings, vectorstore,
                       *, collection: str, embed_model: str | None, count: int) -> list[list]:
    """The candidate promotions of every customer, best first."""
    per_customer = [queries(p) for p in profiles]
    flat = [q for qs in per_customer for q in qs]
    vectors = iter(embeddings.embed(flat, model=embed_model))
    result = []
    for profile, texts in zip(profiles, per_customer):
        lists = [vectorstore.search(collection, next(vectors), k=count, filters=allowed(profile))
                 for _ in texts]
        merged = [(h.metadata["promo_id"], h.score)
                  for rank in range(count) for hits in lists if rank < len(hits)
                  for h in [hits[rank]]]
        result.append(ranking.pick_candidates(profile, merged, promos, count))
    return result


def rank_with_llm(llm, profile: dict, candidates: list[dict], top_n: int,
                  gen_model: str | None, max_tokens: int) -> dict:
    """One customer's LLM ranking; on an invalid answer, the fallback (counted invalid)."""
    from llm_assets.backends.llm import InvalidModelOutput

    ids = [c["promo_id"] for c in candidates]
    schema = ranking.ranking_model(ids, top_n)
    message = [{"role": "user", "content": ranking.prompt(profile, candidates, top_n)}]
    try:
        completion, value = llm.chat(message, schema=schema, model=gen_model,
                                     max_tokens=max_tokens)
        picks = ranking.check_answer(value, ids, top_n)
        return {"customer_id": profile["customer_id"], "valid": True, "picks": picks,
                "seconds": round(completion.seconds, 2), "tokens": completion.completion_tokens,
                "error": None}
    except (InvalidModelOutput, ValueError) as err:
        return {"customer_id": profile["customer_id"], "valid": False,
                "picks": ranking.fallback(profile, candidates, top_n), "seconds": None,
                "tokens": None, "error": str(err)[:500]}


def recommendation_rows(profile: dict, picks: list[dict], promos: dict, ranked_by: str):
    return [{"customer_id": profile["customer_id"], "segment": profile["segment"],
             "card_tier": profile["card_tier"], "rank": rank, "promo_id": p["promo_id"],
             "title": promos[p["promo_id"]]["title"],
             "category": promos[p["promo_id"]]["category"],
             "merchant": promos[p["promo_id"]]["merchant"], "score": p["score"],
             "reason": p["reason"], "ranked_by": ranked_by}
            for rank, p in enumerate(picks, start=1)]


def load_fitting(datalake, stream: str) -> dict[str, set[str]]:
    import io

    import pandas as pd

    key = FITTING_KEY.format(stream=stream)
    if not datalake.exists(key):
        return {}
    frame = pd.read_csv(io.BytesIO(datalake.get_bytes(key)))
    return {c: set(g) for c, g in frame.groupby("customer_id")["promo_id"]}


def per_customer_recall(customers: list[str], ranked: dict[str, list[str]],
                        fitting: dict[str, set[str]], k: int) -> dict[str, float]:
    return {c: metrics.set_recall([ranked[c]], [fitting[c]], k)
            for c in customers if fitting.get(c)}


def compare_rankings(llm: dict[str, list[str]], retrieval: dict[str, list[str]],
                     fitting: dict[str, set[str]], k: int = 5) -> dict:
    """The LLM's ranking against the retrieval order it re-ranked, on the same customers,
    against the fitting promotions the generator knows: recall@k and precision@1 (the top
    pick fits)."""
    both = [c for c in llm if fitting.get(c) and c in retrieval]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    def top_fits(order: dict[str, list[str]], c: str) -> float:
        return float(bool(order[c]) and order[c][0] in fitting[c])

    return {"compared": len(both),
            "llm_recall_at_5": mean([metrics.set_recall([llm[c]], [fitting[c]], k)
                                     for c in both]),
            "retrieval_recall_at_5": mean([metrics.set_recall([retrieval[c]], [fitting[c]], k)
                                           for c in both]),
            "llm_precision_at_1": mean([top_fits(llm, c) for c in both]),
            "retrieval_precision_at_1": mean([top_fits(retrieval, c) for c in both])}
