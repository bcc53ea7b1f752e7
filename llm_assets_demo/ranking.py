"""promo_reco: candidate promotions per customer and the LLM's ranking of them.

The LLM answers in a JSON schema built per customer (one key per candidate promotion);
the answer is validated with pydantic.  The model scores every candidate 1-5 (an enum the
grammar enforces; llama.cpp grammars ignore numeric bounds), exported as score/5 in 0..1;
the reasons of the top_n picks must be sentences (at least 4 words), else the answer is
invalid.  An invalid
answer falls back to the retrieval order with a reason built from the profile, and is
counted as invalid: `ranked_by` says which of the two every recommendation came from.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, create_model

from llm_assets_demo.profiles import LABELS

TIERS = ("classic", "gold", "platinum")
_WORD = re.compile(r"[A-Za-z]{2,}")


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
    """The answer schema for one customer: a score and a reason for every candidate.

    One required key per candidate makes repeated or unknown ids impossible by construction
    (a 135M model asked for a list of top picks mostly repeats one id); the top_n by score,
    ties in retrieval order, are the ranking."""
    score = create_model(
        "Score",
        score=(Literal[1, 2, 3, 4, 5], Field(description="fit: 5 best, 1 weakest")),
        reason=(str, Field(min_length=10, max_length=100,
                           description="one sentence: why it fits this customer")),
    )
    return create_model("Ranking", **{pid: (score, ...) for pid in candidate_ids})


def prompt(profile: dict, candidates: list[dict], top_n: int) -> str:
    lines = [f"- {c['promo_id']}: {c['title']} ({c['category'].replace('_', ' ')}). "
             f"{c['description']}" for c in candidates]
    return (
        "You recommend card promotions to a bank customer.\n"
        f"Customer: {profile['profile_text']}\n"
        "Candidate promotions:\n" + "\n".join(lines) + "\n"
        "For every candidate give a score from 1 (weak fit) to 5 (best fit) for this customer "
        "and one short sentence of reason that mentions the customer's spending, for example "
        "\"You spend most on groceries and this offer gives cashback on groceries.\" "
        f"The {top_n} best scores become the recommendations. Answer in JSON."
    )


def check_answer(raw, candidate_ids: list[str], top_n: int) -> list[dict]:
    """Validate an LLM answer (JSON text, dict or model) and rank it: the top_n picks.

    Raises ValueError when the answer does not validate."""
    model = ranking_model(candidate_ids, top_n)
    try:
        if isinstance(raw, BaseModel):
            raw = raw.model_dump()
        parsed = (model.model_validate_json(raw) if isinstance(raw, str | bytes)
                  else model.model_validate(raw))
    except ValidationError as err:
        raise ValueError(f"schema: {err.error_count()} error(s): "
                         f"{err.errors()[0]['msg']}") from err
    scored = [(getattr(parsed, pid), order, pid) for order, pid in enumerate(candidate_ids)]
    scored.sort(key=lambda item: (-item[0].score, item[1]))
    thin = [pid for item, _, pid in scored[:top_n] if len(_WORD.findall(item.reason)) < 4]
    if thin:
        raise ValueError(f"content: reasons of {', '.join(thin[:3])} are not sentences "
                         "(fewer than 4 words)")
    return [{"promo_id": pid, "score": item.score / 5, "reason": item.reason.strip()}
            for item, _, pid in scored[:top_n]]


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
