"""promo_reco: spending profiles of card customers from their transactions."""

from __future__ import annotations

LABELS = {
    "grocery": "groceries and supermarkets", "dining": "restaurants and takeaway",
    "travel": "airlines, hotels and trips", "fuel": "fuel and car charging",
    "electronics": "electronics and gadgets", "fashion": "clothes and shoes",
    "home_garden": "home improvement and garden", "health_beauty": "pharmacy and beauty",
    "entertainment": "cinema, games and streaming", "kids_toys": "toys and children",
    "sports_outdoors": "sports and outdoor gear", "pets": "pets and vet",
}


def build_profiles(customers, transactions, top: int = 3):
    """One row per customer: spend figures, top categories and a text summary."""
    import pandas as pd

    spend = (transactions.groupby(["customer_id", "category"], as_index=False)
             .agg(amount=("amount", "sum"), txns=("txn_id", "count")))
    totals = transactions.groupby("customer_id").agg(
        total=("amount", "sum"), txns=("txn_id", "count"),
        channel=("channel", lambda s: s.mode().iat[0]))
    merchants = (transactions.groupby(["customer_id", "category", "merchant"])["amount"].sum()
                 .reset_index().sort_values("amount", ascending=False)
                 .groupby(["customer_id", "category"])["merchant"]
                 .apply(lambda s: list(s.head(2))))
    rows = []
    for customer in customers.itertuples(index=False):
        cid = customer.customer_id
        mine = spend[spend.customer_id == cid].sort_values(["amount", "category"],
                                                           ascending=[False, True])
        total = float(totals.loc[cid, "total"]) if cid in totals.index else 0.0
        count = int(totals.loc[cid, "txns"]) if cid in totals.index else 0
        cats = list(mine.category.head(top))
        shares = [round(100 * a / total) if total else 0 for a in mine.amount.head(top)]
        parts = [f"{LABELS.get(c, c)} {s}% (at {', '.join(merchants.get((cid, c), []))})"
                 for c, s in zip(cats, shares)]
        text = (f"{customer.segment.replace('_', ' ')} customer, age {customer.age}, "
                f"{customer.card_tier} card, {customer.city}. Spent USD {total:,.0f} in "
                f"{count} card transactions over 90 days. Main spending: "
                + ("; ".join(parts) if parts else "none") + ". Prefers "
                + (str(totals.loc[cid, "channel"]).replace("_", " ")
                   if cid in totals.index else "no channel") + " payments.")
        rows.append({"customer_id": cid, "segment": customer.segment,
                     "card_tier": customer.card_tier, "total_spend": round(total, 2),
                     "txns": count, "top_categories": cats, "top_shares": shares,
                     "top_merchants": [merchants.get((cid, c), []) for c in cats],
                     "profile_text": text})
    return pd.DataFrame(rows)
