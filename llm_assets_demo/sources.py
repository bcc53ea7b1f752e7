"""The doc_qa CSV and TXT sources (fee schedule, branch directory, FAQ, announcements)."""

from __future__ import annotations

import csv
import io
import random

from llm_assets_demo.corpus import BANK, Question

PRODUCTS = (("CLS", "Classic"), ("GLD", "Gold"), ("PLT", "Platinum"))
FEES = (
    ("FX", "Foreign transaction fee", "How much is the foreign transaction fee on the {p} card?",
     ("{v}% of the amount", (0, 1.5, 2.0, 2.5, 3.0))),
    ("RPL", "Replacement card", "What does a replacement card cost for {p} cardholders?",
     ("USD {v}", (0, 5, 10, 15))),
    ("CASH", "Cash advance fee", "What is the cash advance fee on the {p} card?",
     ("{v}% (minimum USD 10)", (3, 4, 5))),
    ("BT", "Balance transfer fee", "How much does a balance transfer cost on the {p} card?",
     ("{v}% of the amount transferred", (3, 4, 5))),
    ("STMT", "Paper statement copy", "What is the fee for a paper statement copy on the {p} "
     "card?", ("USD {v} per copy", (2, 3, 5))),
    ("EXP", "Express card delivery", "How much is express delivery of a {p} card?",
     ("USD {v}", (15, 20, 25, 30))),
    ("ATM", "ATM withdrawal abroad", "What is the fee for ATM withdrawals abroad with the {p} "
     "card?", ("USD {v} per withdrawal", (0, 2.5, 3.5, 5))),
)
CITIES = ("Springfield", "Riverside", "Lakeview", "Fairmont", "Brookhaven", "Cedar Falls",
          "Harbor City", "Maple Ridge", "Oakdale", "Westport", "Kingsbridge", "Pinecrest")
STREETS = ("Main Street", "Market Square", "River Road", "Station Avenue", "High Street",
           "Park Lane", "Elm Street", "Harbor Drive")
HOURS = ("Mon-Fri 9:00-17:00", "Mon-Fri 8:30-18:00, Sat 9:00-13:00",
         "Mon-Sat 10:00-18:00", "Mon-Fri 9:30-16:30, Sat 10:00-14:00",
         "Mon-Fri 8:00-19:00, Sat-Sun 10:00-16:00")
SERVICES = ("safe deposit boxes", "mortgage advice", "business banking", "foreign currency",
            "coin counting", "investment advice")


def _csv(header: list[str], rows: list[list], dlm: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dlm, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def fee_schedule(rng: random.Random, dlm: str) -> tuple[bytes, list[Question]]:
    rows, questions = [], []
    for code, fee, question, (fmt, choices) in FEES:
        for pcode, product in PRODUCTS:
            value = rng.choice(choices)
            amount = "No fee" if value == 0 else fmt.format(v=value)
            fee_code = f"FEE-{pcode}-{code}"
            rows.append([fee_code, product, fee, amount, f"Applies to {product} accounts"])
            questions.append(Question(f"fee_schedule-{fee_code}", question.format(p=product),
                                      "fee_schedule.csv", (fee_code, amount), amount))
    return _csv(["fee_code", "product", "fee", "amount", "notes"], rows, dlm), questions


def branch_directory(rng: random.Random, dlm: str) -> tuple[bytes, list[Question]]:
    rows, questions = [], []
    for number, city in enumerate(CITIES, start=1):
        branch = f"BR-{number:03d}"
        address = f"{rng.randint(1, 480)} {rng.choice(STREETS)}, {city}"
        hours = rng.choice(HOURS)
        phone = f"555-{rng.randint(1000, 9999)}"
        services = ", ".join(sorted(rng.sample(SERVICES, 2)))
        rows.append([branch, f"{city} branch", address, hours, phone, services])
        questions.append(Question(f"branch_directory-{branch}",
                                  f"What are the opening hours of the {city} branch?",
                                  "branch_directory.csv", (branch, hours), hours))
    header = ["branch_id", "branch", "address", "opening_hours", "phone", "services"]
    return _csv(header, rows, dlm), questions


FAQ = (
    ("How do I activate my new card?", "Activate it in the mobile app under Cards > Activate, "
     "or call the number on the sticker; activation takes {v} minutes at most.", (2, 5)),
    ("Can I choose my own PIN?", "Yes. Set or change your PIN at any {b} ATM or in the app; a "
     "new PIN works after {v} minutes.", (10, 15, 30)),
    ("How do I add an authorised user?", "Add up to {v} authorised users in online banking; "
     "each gets their own card with the same account.", (3, 4, 5)),
    ("Can I pay my bill with a debit card?", "No, but you can pay from any checking account; "
     "set up autopay at least {v} days before the due date.", (3, 5)),
    ("How do I raise my credit limit?", "Request an increase in the app; we answer within {v} "
     "business days and may ask for proof of income.", (2, 3, 5)),
    ("What happens if I travel abroad?", "You do not need to tell us, but keep the app's "
     "location alerts on; the card works in more than {v} countries.", (150, 180, 200)),
    ("How do I download statements?", "Statements from the last {v} months are in online "
     "banking under Documents, as PDF files.", (24, 36, 84)),
    ("Is contactless payment safe?", "Yes. Each contactless payment uses a one-time code, and "
     "single payments above USD {v} need your PIN.", (100, 150, 250)),
    ("How do I close my card?", "Call customer care or send a secure message; the account "
     "closes once the balance is zero and pending rewards are kept for {v} days.", (30, 60, 90)),
    ("Where can I see my reward points?", "The points balance is on the app's home screen and "
     "on every statement; it updates {v}.", ("daily", "every hour", "overnight")),
)

ANNOUNCEMENTS = (
    ("Scheduled maintenance", "Online banking and the app are unavailable on {v} between "
     "01:00 and 04:00 Eastern time.", ("2026-03-14", "2026-03-21", "2026-04-04")),
    ("New branch", "Our new branch in Harbor City opens on {v} with extended weekend hours.",
     ("2026-05-02", "2026-05-16")),
    ("Contactless limit", "The contactless limit without PIN rises to USD {v} from 1 June.",
     (150, 200, 250)),
    ("Phone support hours", "Phone support for business cards now runs until {v} on weekdays.",
     ("20:00", "21:00", "22:00")),
    ("Card design", "Platinum cards issued from {v} are made of recycled metal.",
     ("July 2026", "August 2026")),
    ("Rewards portal", "The rewards portal adds {v} new airline partners this quarter.",
     (3, 4, 5)),
)


def _text_questions(name: str, entries, rng: random.Random, heading_fmt: str):
    lines, questions = [], []
    for number, (title, template, choices) in enumerate(entries, start=1):
        value = rng.choice(choices)
        body = template.format(v=value, b=BANK)
        lines.append(heading_fmt.format(n=number, t=title))
        lines.append(body)
        lines.append("")
        question = title if title.endswith("?") else f"What was announced about: {title}?"
        questions.append(Question(f"{name.split('.')[0]}-{number:02d}", question, name, (body,),
                                  str(value)))
    return lines, questions


def support_faq(rng: random.Random) -> tuple[bytes, list[Question]]:
    lines, questions = _text_questions("support_faq.txt", FAQ, rng, "Q{n}. {t}")
    head = [f"{BANK} card support: frequently asked questions", "=" * 48, ""]
    return "\n".join(head + lines).encode("utf-8"), questions


def service_announcements(rng: random.Random) -> tuple[bytes, list[Question]]:
    lines, questions = _text_questions("service_announcements.txt", ANNOUNCEMENTS, rng,
                                       "[{n}] {t}")
    head = [f"{BANK} service announcements", "=" * 30, ""]
    return "\n".join(head + lines).encode("utf-8"), questions
