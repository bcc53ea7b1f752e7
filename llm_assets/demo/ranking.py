"""promo_reco: candidate promotions per customer and the LLM's ranking of them.

The LLM answers in a JSON schema built per customer (promo ids limited to its candidates);
the answer is validated with pydantic plus content checks (top_n distinct ids).  An invalid
answer falls back to the retrieval order with a reason built from the profile, and is
counted as invalid: `ranked_by` says which of the two every recommendation came from.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError, create_model

from llm_assets.demo.profiles import LABELS

TIERS = ("classic", "gold", "platinum")


def eligible(profile: dict, promo: dict) -> bool:
    """Business rules: the promotion targets the customer's segment and card tier."""
    return (promo["segment"] in ("all", profile["segment"])
            and TIERS.index(profile["card_tier"]) >= TIERS.index(promo["min_tier"]))


def pick_candidates(profile: dict, hits: list[tuple[str, float]], promos: dict[str, dict],
                    count: int) -> list[dict]:
    """The first `count` eligible promotions of the search hits (id, score), best first."""
    chosen, seen = [], set()
    for promo_id, score in hits:
        promo = promos.get(promo_id)
        if promo is None or promo_id in seen or not eligible(profile, promo):
            continue
        seen.add(promo_id)
        chosen.append({**promo, "similarity": round(float(score), 4)})
        if len(chosen) == count:
            break
    return chosen


def ranking_model(candidate_ids: list[str], top_n: int) -> type[BaseModel]:
    """The answer schema for one customer: exactly top_n picks among its candidates."""
    pick = create_model(
        "Pick",
        promo_id=(Literal[tuple(candidate_ids)], ...),
        score=(float, Field(ge=0, le=1, description="fit from 0 to 1")),
        reason=(str, Field(min_length=10, max_length=160,
                           description="one sentence: why it fits this customer")),
    )
    return create_model("Ranking", picks=(list[pick], Field(min_length=top_n,
                                                            max_length=top_n)))


def prompt(profile: dict, candidates: list[dict], top_n: int) -> str:
    lines = [f"- {c['promo_id']}: {c['title']} ({c['category']}). {c['description']}"
             for c in candidates]
    return (
        "You recommend card promotions to a bank customer.\n"
        f"Customer: {profile['profile_text']}\n"
        "Candidate promotions:\n" + "\n".join(lines) + "\n"
        f"Choose the {top_n} promotions that fit this customer best, best first. For each give "
        "promo_id, a score from 0 to 1 and one short sentence of reason that mentions the "
        "customer's spending. Answer in JSON."
    )


def check_answer(raw, candidate_ids: list[str], top_n: int) -> list[dict]:
    """Validate an LLM answer (JSON text, dict or model); raises ValueError when invalid."""
    model = ranking_model(candidate_ids, top_n)
    try:
        if isinstance(raw, BaseModel):
            raw = raw.model_dump()
        parsed = (model.model_validate_json(raw) if isinstance(raw, str | bytes)
                  else model.model_validate(raw))
    except ValidationError as err:
        raise ValueError(f"schema: {err.error_count()} error(s): "
                         f"{err.errors()[0]['msg']}") from err
    picks = [p.model_dump() for p in parsed.picks]
    ids = [p["promo_id"] for p in picks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"repeated promo ids {ids}")
    return picks


def fallback(profile: dict, candidates: list[dict], top_n: int) -> list[dict]:
    """Retrieval order, similarity as score, a reason from the spending profile."""
    shares = dict(zip(profile["top_categories"], profile["top_shares"]))
    picks = []
    for cand in candidates[:top_n]:
        share = shares.get(cand["category"])
        label = LABELS.get(cand["category"], cand["category"])
        reason = (f"You spend {share}% of your card spend on {label}."
                  if share is not None else f"Popular with {profile['segment'].replace('_', ' ')}"
                  f" customers and open to your {profile['card_tier']} card.")
        picks.append({"promo_id": cand["promo_id"],
                      "score": round(max(0.0, min(1.0, cand["similarity"])), 4),
                      "reason": reason})
    return picks
