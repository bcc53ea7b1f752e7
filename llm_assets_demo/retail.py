"""The promo_reco data: promotions, customers, card transactions and the fitting promotions.

Each customer gets 2-3 hidden favourite categories (drawn with priors of their segment);
80% of their transactions fall in those categories.  A promotion fits a customer when its
category is a favourite, it targets the customer's segment (or `all`) and the customer's
card tier reaches its minimum tier: known by construction, never read by the pipeline.
"""

from __future__ import annotations

import datetime as dt
import random

CATEGORIES = {
    "grocery": ("FreshMart", "GreenBasket", "Daily Harvest", "CornerGrocer"),
    "dining": ("Bistro Lumiere", "Noodle House", "Burger Barn", "Sakura Sushi"),
    "travel": ("SkyWings Airlines", "Coastline Hotels", "RoamRail", "Globetrek Tours"),
    "fuel": ("PetroMax", "QuickFuel", "EcoCharge", "Highway Stop"),
    "electronics": ("VoltTech", "PixelPoint", "GadgetHub", "SoundWave"),
    "fashion": ("Urban Threads", "Silk & Stone", "Denim Co", "StepUp Shoes"),
    "home_garden": ("HomeNest", "GreenThumb Garden", "BuildRight", "CozyLiving"),
    "health_beauty": ("GlowPharma", "PureSkin", "VitaWell", "Serenity Spa"),
    "entertainment": ("CineMax", "StreamFlix", "LiveArena Tickets", "GameZone"),
    "kids_toys": ("ToyLand", "LittleSteps", "KidsCorner Books", "PlayPark"),
    "sports_outdoors": ("PeakGear", "RunFast", "AquaSwim Club", "TrailBlaze"),
    "pets": ("PawPals", "HappyTails Vet", "FurryFeast", "PetPlanet"),
}
DESCRIBE = {
    "grocery": "the weekly grocery shop: fresh produce, pantry staples and household essentials",
    "dining": "restaurants, cafes and takeaway meals",
    "travel": "flights, hotel stays, rail tickets and holiday packages",
    "fuel": "fuel, EV charging and car care on the road",
    "electronics": "laptops, phones, headphones and smart home gadgets",
    "fashion": "clothing, shoes and accessories",
    "home_garden": "furniture, DIY tools, plants and garden supplies",
    "health_beauty": "pharmacy, skincare, vitamins and spa treatments",
    "entertainment": "cinema, concerts, streaming subscriptions and video games",
    "kids_toys": "toys, children's books, baby products and family days out",
    "sports_outdoors": "sportswear, running shoes, gym, swimming and hiking gear",
    "pets": "pet food, vet visits and pet supplies",
}
AMOUNT = {"grocery": 60, "dining": 35, "travel": 420, "fuel": 55, "electronics": 260,
          "fashion": 90, "home_garden": 120, "health_beauty": 45, "entertainment": 30,
          "kids_toys": 50, "sports_outdoors": 80, "pets": 48}
SEGMENTS = {
    "student": (18, 25, {"dining": 4, "entertainment": 4, "fashion": 3, "electronics": 3,
                         "sports_outdoors": 2}),
    "young_professional": (25, 38, {"dining": 4, "travel": 3, "sports_outdoors": 3,
                                    "electronics": 3, "fashion": 2, "entertainment": 2}),
    "family": (30, 50, {"grocery": 5, "kids_toys": 5, "home_garden": 3, "fuel": 3,
                        "pets": 2}),
    "affluent": (35, 65, {"travel": 5, "dining": 3, "fashion": 3, "electronics": 2,
                          "home_garden": 2}),
    "senior": (62, 85, {"health_beauty": 5, "grocery": 4, "home_garden": 3, "travel": 2,
                        "pets": 2}),
}
TIERS = ("classic", "gold", "platinum")
TIER_WEIGHTS = {"student": (8, 2, 0), "young_professional": (4, 4, 2), "family": (4, 4, 2),
                "affluent": (0, 4, 6), "senior": (5, 4, 1)}
CITIES = ("Springfield", "Riverside", "Lakeview", "Fairmont", "Brookhaven", "Harbor City")
FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery",
         "Quinn", "Drew", "Rowan", "Emery", "Parker", "Reese", "Skyler", "Hayden", "Logan")
LAST = ("Nguyen", "Smith", "Garcia", "Okafor", "Kowalski", "Silva", "Haddad", "Muller",
        "Tanaka", "Brown", "Rossi", "Ivanova", "Khan", "Lopez", "Dubois", "Jensen")
OFFERS = (
    ("{d}% cashback at {m}", "Get {d}% cashback on {desc} at {m}."),
    ("{x}x points at {m}", "Earn {x} times the usual reward points on {desc} at {m}."),
    ("USD {o} off at {m}", "Take USD {o} off a spend of USD {s} or more on {desc} at {m}."),
)
SEGMENT_PHRASE = {"all": "Open to every cardholder", "student": "For students",
                  "young_professional": "For young professionals", "family": "For families",
                  "affluent": "For premium cardholders", "senior": "For customers over 60"}


def _weighted(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    pool, chosen = dict(weights), []
    for _ in range(k):
        names = list(pool)
        pick = rng.choices(names, [pool[n] for n in names])[0]
        chosen.append(pick)
        pool.pop(pick)
    return chosen


def promotions(rng: random.Random, per_category: int) -> list[dict]:
    rows = []
    for category, merchants in CATEGORIES.items():
        fans = [s for s, (_, _, w) in SEGMENTS.items() if category in w] or list(SEGMENTS)
        for index in range(per_category):
            merchant = merchants[index % len(merchants)]
            segment = "all" if rng.random() < 0.45 else rng.choice(fans)
            tier = rng.choices(TIERS, (6, 3, 1))[0]
            title_t, text_t = OFFERS[rng.randrange(len(OFFERS))]
            values = {"d": rng.choice((5, 10, 15, 20)), "x": rng.choice((2, 3, 5)),
                      "o": rng.choice((10, 15, 25, 50)), "m": merchant,
                      "desc": DESCRIBE[category]}
            values["s"] = values["o"] * rng.choice((4, 5, 6))
            end = dt.date(2026, 12, 31) - dt.timedelta(days=rng.randrange(0, 120))
            text = (f"{text_t.format(**values)} {SEGMENT_PHRASE[segment]}"
                    f"{'' if tier == 'classic' else f' with a {tier} card or higher'}. "
                    f"Valid until {end.isoformat()}.")
            rows.append({"promo_id": f"P{len(rows) + 1:03d}", "title": title_t.format(**values),
                         "description": text, "category": category, "merchant": merchant,
                         "segment": segment, "min_tier": tier, "valid_to": end.isoformat()})
    return rows


def customers(rng: random.Random, count: int) -> tuple[list[dict], dict[str, list[str]]]:
    rows, favourites = [], {}
    for number in range(1, count + 1):
        segment = rng.choices(list(SEGMENTS), (3, 4, 5, 2, 3))[0]
        low, high, weights = SEGMENTS[segment]
        customer_id = f"C{number:04d}"
        favourites[customer_id] = _weighted(rng, weights, rng.choice((2, 3)))
        rows.append({
            "customer_id": customer_id,
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "age": rng.randint(low, high),
            "gender": rng.choice(("F", "M", "X")),
            "city": rng.choice(CITIES),
            "segment": segment,
            "card_tier": rng.choices(TIERS, TIER_WEIGHTS[segment])[0],
            "customer_since": (dt.date(2015, 1, 1)
                               + dt.timedelta(days=rng.randrange(0, 3800))).isoformat(),
        })
    return rows, favourites


def transactions(rng: random.Random, favourites: dict[str, list[str]], per_customer: tuple,
                 end: dt.date) -> list[dict]:
    rows = []
    for customer_id, cats in favourites.items():
        for _ in range(rng.randint(*per_customer)):
            category = (rng.choice(cats) if rng.random() < 0.8
                        else rng.choice(list(CATEGORIES)))
            amount = round(AMOUNT[category] * rng.lognormvariate(0, 0.45), 2)
            rows.append({
                "txn_id": f"T{len(rows) + 1:06d}", "customer_id": customer_id,
                "txn_date": (end - dt.timedelta(days=rng.randrange(0, 90))).isoformat(),
                "merchant": rng.choice(CATEGORIES[category]), "category": category,
                "amount": amount, "channel": rng.choice(("in_store", "online", "contactless")),
            })
    rows.sort(key=lambda r: (r["txn_date"], r["txn_id"]))
    return rows


def fits(customer: dict, promo: dict, favourite: list[str]) -> bool:
    return (promo["category"] in favourite
            and promo["segment"] in ("all", customer["segment"])
            and TIERS.index(customer["card_tier"]) >= TIERS.index(promo["min_tier"]))


def fitting(customer_rows: list[dict], promo_rows: list[dict],
            favourites: dict[str, list[str]]) -> list[dict]:
    return [{"customer_id": c["customer_id"], "promo_id": p["promo_id"]}
            for c in customer_rows for p in promo_rows
            if fits(c, p, favourites[c["customer_id"]])]
