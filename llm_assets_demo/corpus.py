"""The doc_qa corpus: a fictional card issuer's documents and a labelled question set.

Every fact sentence carries a seeded value and has a question whose answer it is; the
label of a question is the document and the key strings a chunk must contain to answer it
(`Question.keys`), so labels hold whatever the chunk size, overlap or chunker, and the seeded
value a correct answer states (`Question.value`).  `UNANSWERABLE` questions ask, in the
same words a customer would use, for facts no source states (a near miss of a stated fact
or a plausible bank question): the right answer is "not found in the sources".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BANK = "Northwind Bank"


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    document: str  # "" for an unanswerable question
    keys: tuple[str, ...]
    value: str = ""  # the seeded value a correct answer states ("" when unanswerable)


@dataclass(frozen=True)
class Section:
    heading: str
    facts: tuple[tuple[str, str, tuple], ...]  # (sentence template, question, value choices)
    topic: str


GENERAL = (
    f"{BANK} may update the wording of this document without changing its meaning.",
    "Capitalised terms have the meaning given to them in the definitions section.",
    "Nothing in this section limits any right you have under applicable consumer law.",
    "Please keep this document together with your card carrier for future reference.",
    "Where this section mentions a business day, weekends and public holidays are excluded.",
    "If any part of this document is found unenforceable, the remaining parts stay in force.",
    "Amounts are stated in US dollars unless a different currency is stated expressly.",
    "You can ask for a copy of this document in large print or braille at any branch.",
    "Our customer care team can explain any part of this section before you rely on it.",
    "Notices to you are sent to the most recent postal or e-mail address on our records.",
)

TOPIC = {
    "credit": (
        "Interest is calculated on the average daily balance of each balance type.",
        "Your monthly statement shows the balances to which each rate applies.",
        "Promotional rates, when offered, are described in a separate offer letter.",
        "We apply payments above the minimum to the balance with the highest rate first.",
        "Variable rates move with the prime rate published on the first day of each cycle.",
    ),
    "fees": (
        "Fees are charged to your account and appear as separate lines on your statement.",
        "A fee charged in error is refunded once we have reviewed your request.",
        "Some fees are waived for accounts enrolled in paperless statements.",
        "Fees count towards your balance and may accrue interest like purchases.",
    ),
    "service": (
        "You can reach us through the mobile app, online banking or by telephone.",
        "We record calls to our service centre for quality and training purposes.",
        "Keep your card details and PIN secret and never share one-time passcodes.",
        "Our fraud systems may decline a transaction that looks unusual for your account.",
        "Alerts by text message can be switched on or off in the mobile app at any time.",
    ),
    "travel": (
        "Benefits apply only when the common carrier fare was paid in full with the card.",
        "Coverage is secondary to any other insurance that applies to the same loss.",
        "Keep original receipts, boarding passes and carrier letters to support a claim.",
        "The benefit administrator may ask for further documents to assess a claim.",
        "Benefits are provided by an insurer and are subject to the policy's conditions.",
    ),
    "rewards": (
        "Points are credited when a purchase posts to your account, not when it is made.",
        "Returns and refunds reduce the points earned on the original purchase.",
        "Points have no cash value except when redeemed as described in these terms.",
        "Fraudulent or abusive earning may lead to forfeiture of the points concerned.",
    ),
}

AGREEMENT = (
    Section("1. About this agreement", (
        ("This agreement takes effect when you first use the card or {v} days after it is "
         "issued, whichever is earlier.",
         "When does the credit card agreement take effect?", (30, 45, 60)),
    ), "service"),
    Section("2. Interest rates and interest charges", (
        ("The purchase interest rate on the Platinum card is {v}% per year (variable).",
         "What is the purchase interest rate of the Platinum card?", (19.9, 21.4, 22.9, 24.4)),
        ("Cash advances are charged interest at {v}% per year from the day they are taken.",
         "What interest rate applies to cash advances?", (26.9, 27.4, 28.9)),
        ("The interest-free grace period on purchases is {v} days when the balance is paid "
         "in full.", "How long is the interest-free grace period on purchases?", (21, 23, 25)),
    ), "credit"),
    Section("3. Fees", (
        ("The annual fee is USD {v} for the Platinum card and is charged on the card "
         "anniversary.", "How much is the annual fee for the Platinum card?", (395, 450, 495)),
        ("A late payment fee of up to USD {v} applies when the minimum payment is not received "
         "by the due date.", "How much is the late payment fee?", (29, 35, 39, 41)),
        ("A returned payment fee of USD {v} is charged when a payment is returned unpaid by "
         "your bank.", "What is the fee when a payment is returned unpaid?", (25, 27, 30)),
    ), "fees"),
    Section("4. Payments", (
        ("The minimum payment is {v}% of the statement balance or USD 25, whichever is "
         "greater.", "How is the minimum payment calculated?", (2, 3, 4)),
        ("Payments made through the mobile app before {v} Eastern time are credited the same "
         "day.", "What is the cut-off time for same-day crediting of app payments?",
         ("5 p.m.", "6 p.m.", "8 p.m.")),
    ), "credit"),
    Section("5. Disputing a transaction", (
        ("You must dispute a transaction within {v} days of the statement date on which it "
         "first appeared.", "How many days do I have to dispute a transaction?", (60, 90, 120)),
        ("While we investigate a dispute we give a provisional credit within {v} business "
         "days.", "When do I receive a provisional credit for a disputed transaction?",
         (5, 7, 10)),
    ), "service"),
    Section("6. Lost or stolen cards", (
        ("Report a lost or stolen card at any hour on 1-800-555-{v}; you are not liable for "
         "purchases made after the report.",
         "What number do I call to report a lost or stolen card?", (1234, 2468, 7310)),
        ("A replacement card is delivered within {v} business days of the report.",
         "How quickly is a replacement card delivered?", (3, 5, 7)),
    ), "service"),
    Section("7. Credit limit", (
        ("We review your credit limit for an automatic increase every {v} months.",
         "How often is my credit limit reviewed for an increase?", (6, 9, 12)),
    ), "credit"),
    Section("8. Closing your account", (
        ("Either party may close the account; we give at least {v} days notice unless the "
         "account is misused.", "How much notice does the bank give before closing an "
         "account?", (30, 45, 60)),
    ), "service"),
    Section("9. Privacy and records", (
        ("We keep records of your account for {v} years after it is closed.",
         "How long does the bank keep records after an account is closed?", (5, 7, 10)),
    ), "service"),
    Section("10. Changes to this agreement", (
        ("We will tell you about a change to rates or fees at least {v} days before it takes "
         "effect.", "How much advance notice is given before rates or fees change?",
         (45, 60)),
    ), "fees"),
)

TRAVEL = (
    Section("1. Who is covered", (
        ("Travel protection covers Gold and Platinum cardholders and up to {v} travelling "
         "family members.", "How many family members does travel protection cover?", (4, 5, 6)),
    ), "travel"),
    Section("2. Trip cancellation and interruption", (
        ("Non-refundable trip costs are reimbursed up to USD {v} per covered traveller per "
         "trip.", "What is the maximum reimbursement for a cancelled trip?",
         (1500, 2000, 5000)),
    ), "travel"),
    Section("3. Flight delay", (
        ("A flight delay of more than {v} hours is covered for reasonable meals, lodging and "
         "toiletries.", "How long must a flight be delayed before the delay benefit applies?",
         (4, 6, 12)),
        ("The flight delay benefit pays up to USD {v} per ticket.",
         "How much does the flight delay benefit pay per ticket?", (300, 500, 750)),
    ), "travel"),
    Section("4. Baggage", (
        ("Lost checked baggage is covered up to USD {v} per traveller.",
         "What is the coverage limit for lost checked baggage?", (1000, 2500, 3000)),
        ("Essential items are reimbursed when checked baggage is delayed by more than {v} "
         "hours.", "After how many hours of baggage delay are essential items reimbursed?",
         (6, 8, 12)),
    ), "travel"),
    Section("5. Emergency medical and evacuation", (
        ("Emergency medical treatment abroad is covered up to USD {v}.",
         "How much emergency medical treatment abroad is covered?", (50000, 100000)),
    ), "travel"),
    Section("6. Rental car collision damage", (
        ("Collision damage to a rental car is covered for rentals of up to {v} consecutive "
         "days.", "For how many days is a rental car covered against collision damage?",
         (15, 31)),
    ), "travel"),
    Section("7. Making a claim", (
        ("Notify the benefit administrator within {v} days of the incident to open a claim.",
         "How soon must I notify the administrator to open a travel claim?", (20, 30, 60)),
    ), "travel"),
)

REWARDS = (
    Section("1. Earning points", (
        ("You earn {v} points per dollar spent on dining and 1 point per dollar on other "
         "purchases.", "How many points do I earn per dollar on dining?", (3, 4, 5)),
    ), "rewards"),
    Section("2. Redeeming points", (
        ("Points redeemed for travel booked through the rewards portal are worth {v} cents "
         "each.", "How much is a point worth when redeemed for travel?", (1.25, 1.5)),
        ("The minimum redemption is {v} points.", "What is the minimum number of points I "
         "can redeem?", (1000, 2500, 5000)),
    ), "rewards"),
    Section("3. Expiry", (
        ("Points expire after {v} months without any purchase on the account.",
         "When do reward points expire?", (18, 24, 36)),
    ), "rewards"),
    Section("4. Referral bonus", (
        ("You receive {v} bonus points for each friend who is approved for a card through "
         "your referral link.", "How many bonus points do I get for referring a friend?",
         (5000, 10000, 15000)),
    ), "rewards"),
)

PDFS = {
    "northwind_card_agreement.pdf": (f"{BANK} Credit Card Agreement", AGREEMENT),
    "travel_protection_guide.pdf": (f"{BANK} Travel Protection Guide", TRAVEL),
    "rewards_program_terms.pdf": (f"{BANK} Rewards Program Terms", REWARDS),
}


def _fill(rng: random.Random, topic: str, count: int) -> str:
    pool = list(TOPIC[topic]) + list(GENERAL)
    return " ".join(rng.sample(pool, count))


def _render_value(value) -> str:
    return f"{value:,}" if isinstance(value, int) and value >= 10000 else str(value)


def pdf_document(name: str, rng: random.Random) -> tuple[str, list, list[Question]]:
    """(title, blocks, questions) of one PDF document."""
    title, sections = PDFS[name]
    blocks: list[tuple[str, str]] = [("title", title)]
    blocks.append(("body", f"This document applies to credit card accounts opened with {BANK}. "
                           + _fill(rng, "service", 3)))
    questions = []
    for section in sections:
        blocks.append(("heading", section.heading))
        blocks.append(("body", _fill(rng, section.topic, 4)))
        for template, question, choices in section.facts:
            value = _render_value(rng.choice(choices))
            sentence = template.format(v=value)
            blocks.append(("body", sentence + " " + _fill(rng, section.topic, 2)))
            qid = f"{name.split('.')[0]}-{len(questions) + 1:02d}"
            questions.append(Question(qid, question, name, (sentence,), value))
        blocks.append(("body", _fill(rng, section.topic, 5)))
        blocks.append(("body", _fill(rng, section.topic, 3)))
    return title, blocks, questions


# Asked like the labelled questions; no source states the answer (several are near misses of
# a stated fact: another card, another branch, another attribute of the same benefit).
UNANSWERABLE = (
    "What is the interest rate on a 30-year fixed mortgage?",
    "How much is the annual fee for the Gold card?",
    "What are the opening hours of the Boston branch?",
    "What is the fee for an international wire transfer?",
    "What interest rate does a savings account earn?",
    "What is the overdraft limit on a checking account?",
    "What is the foreign transaction fee on the Diamond card?",
    "What is the deductible for rental car collision damage?",
    "How long does a balance transfer take to complete?",
    "What is the minimum age to apply for a card?",
    "Which airlines are partners of the rewards portal?",
    "What is the fee for a cashier's check?",
    "What is the daily ATM withdrawal limit?",
    "How much is the monthly maintenance fee on a checking account?",
    "What is the credit limit of a new Classic card?",
)


def unanswerable() -> list[Question]:
    return [Question(f"unanswerable-{n:02d}", text, "", ())
            for n, text in enumerate(UNANSWERABLE, start=1)]
