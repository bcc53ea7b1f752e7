"""Grounded answers: the answer is a quote of a retrieved sentence, never generated text.

    units = grounded.units(hits)                     # numbered sentences of the passages
    picked = grounded.candidates(question, units, embeddings, embed_model)
    result = docqa.answer(llm, question, hits, ...)  # uses both

1. **Units.** Each retrieved passage is split into answerable units: a sentence of a PDF
   page, a row of a CSV chunk, a paragraph of a text file (an FAQ entry with its question,
   an announcement with its title).  Fragments cut by the chunker (a unit starting in the
   middle of a word or sentence), headings and page footers are dropped; the whole sentence
   is in the neighbouring chunk the overlap repeats.
2. **Grounding gate.** A unit can answer the question only when it holds every *specific*
   term of the question (a capitalised name such as a card, branch or product, and every
   number), at least half of its content words (`min_coverage`; light stemming, so
   "closing" meets "close" and "reimbursed" "reimbursement"), states an amount when the
   question asks for one ("how many", "when", "fee", ...), and its score (cosine
   similarity of the question and unit embeddings + that coverage) reaches `min_score`.
   A question no unit passes gets "not found in the sources", with no model call.
3. **Selection.** The passing units, best first by score, are numbered 1..n; the model answers
   in a schema whose only field is an enum 0..n (0 = none of them answers), enforced by the
   grammar.  The answer is the chosen unit verbatim, cited by the passage that holds it, so
   a model of 100-300M parameters cannot state a value that is not in the retrieved text;
   0 gives "not found in the sources".  Without a model (`llm=None`), the best-scored unit
   is the answer: the extractive baseline the models are measured against.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NOT_FOUND = "Not found in the sources."
MIN_UNIT_CHARS = 20
_SENTENCE_END = re.compile(r"(?<=[.?!])(?<![ap]\.m\.)\s+(?=[A-Z0-9\[(])")
_HEADING = re.compile(r"^\d+\.\s+\S[^.]{0,60}$|^.{0,80} - page \d+$")  # headings, footers
_PART = re.compile(r",?\s+and\s+(?=(?:how|when|what|where|which|who|why|can|do|does|is|are|"
                   r"will)\b)", re.IGNORECASE)
_ASKS_AMOUNT = re.compile(r"\bhow (many|much|long|soon|often|quickly)\b|\bwhen\b|\b(minimum|"
                          r"maximum|number|limit|rate|fee|cost|price|age|hours|time|"
                          r"deductible)\b", re.IGNORECASE)
_STATES_AMOUNT = re.compile(r"\d|\bno fee\b|\bfree\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.,:][0-9]+)*")
STOPWORDS = frozenset("""
a about after an and any are as at be before by can could do does for from get give given
had has have how i if in into is it its long many may me might much my of on or our own per
quickly should so soon some than that the their them then there these they this those to
was we were what when where which who why will with would you your often must shall
""".split())


@dataclass(frozen=True)
class Unit:
    passage: int  # 1-based number of the retrieved passage holding it
    text: str


def parts(question: str) -> list[str]:
    """A compound question split into its questions ("How many days ..., and when do I
    ...?" -> two), each answered and cited on its own."""
    pieces = [p.strip(" ,;?") for p in _PART.split(question.strip())]
    pieces = [p[0].upper() + p[1:] + "?" for p in pieces if p]
    return pieces or [question]


def stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word[:6]  # "reimbursement" meets "reimbursed", "cancelled" "cancellation"


def content_terms(text: str) -> set[str]:
    return {stem(t) for t in _TOKEN.findall(text.replace("_", " "))
            if t.lower() not in STOPWORDS and (len(t) > 1 or t.isdigit())}


def specific_terms(question: str) -> set[str]:
    """Names (capitalised words after the first) and numbers a grounding unit must hold."""
    words = [w.strip(".,:;?!'\"()") for w in question.split()[1:]]
    return {w.lower() for w in words
            if w and (w[0].isupper() or any(c.isdigit() for c in w))
            and w.lower() not in STOPWORDS}


def _paragraphs(text: str) -> list[str]:
    return [" ".join(line.strip() for line in block.splitlines() if line.strip())
            for block in re.split(r"\n\s*\n", text)]


def _pdf_units(text: str) -> list[str]:
    segments, current = [], []
    for line in text.splitlines():
        line = line.strip()
        if _HEADING.match(line):  # a section heading ends the running text
            segments.append(" ".join(current))
            current = []
        elif line:
            current.append(line)
    segments.append(" ".join(current))
    return [s for segment in segments for s in _SENTENCE_END.split(segment)]


def split_units(text: str, file_type: str) -> list[str]:
    """The answerable units of one passage, fragments dropped."""
    if file_type == "csv":
        raw = text.splitlines()
    elif file_type == "txt":
        raw = _paragraphs(text)
    else:
        raw = _pdf_units(text)
    out = []
    for unit in (u.strip() for u in raw):
        if len(unit) < MIN_UNIT_CHARS or set(unit) <= set("=-_ "):
            continue
        if file_type != "csv" and unit[0].islower():  # starts inside a word or sentence
            continue
        if file_type == "pdf" and len(unit) < 60 and unit[-1] not in ".?!;:)":
            continue  # a title or a line the chunker cut short, not a sentence
        out.append(unit)
    return out


def units(hits: list) -> list[Unit]:
    """Numbered units of the retrieved passages; a unit repeated (overlap) is kept once."""
    seen: list[Unit] = []
    for number, hit in enumerate(hits, start=1):
        kind = str((hit.metadata or {}).get("file_type") or hit.doc.rsplit(".", 1)[-1])
        for text in split_units(hit.text, kind.lower()):
            key = re.sub(r"\s+", " ", text).lower()
            if any(key in re.sub(r"\s+", " ", u.text).lower() for u in seen):
                continue
            seen = [u for u in seen if re.sub(r"\s+", " ", u.text).lower() not in key]
            seen.append(Unit(number, text))
    return seen


def coverage(question: str, text: str) -> float:
    """Share of the question's content words the text holds."""
    wanted = content_terms(question)
    return len(wanted & content_terms(text)) / len(wanted) if wanted else 0.0


def grounds(question: str, text: str, min_coverage: float = 0.5) -> bool:
    """The gate: every specific term of the question, and at least `min_coverage` of its
    content words, are in the text; a question asking for an amount, a time or a number
    needs a text that states one."""
    if _ASKS_AMOUNT.search(question) and not _STATES_AMOUNT.search(text):
        return False
    lowered = " " + re.sub(r"[^a-z0-9.,:-]+", " ", text.lower().replace("_", " ")) + " "
    for term in specific_terms(question):
        if not re.search(rf"(?<![a-z0-9]){re.escape(term)}", lowered):
            return False
    return coverage(question, text) >= min_coverage


def _cosine(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def candidates(question: str, found: list[Unit], embeddings, embed_model: str | None,
               limit: int = 5, min_coverage: float = 0.5,
               min_score: float = 1.0) -> list[tuple[Unit, float]]:
    """The units that pass the gate, best first, at most `limit`, with their scores
    (cosine similarity of question and unit + coverage; at least `min_score`)."""
    passing = [u for u in found if grounds(question, u.text, min_coverage)]
    if not passing:
        return []
    vectors = embeddings.embed([question] + [u.text for u in passing], model=embed_model)
    scored = [(u, round(_cosine(vectors[0], v) + coverage(question, u.text), 4))
              for u, v in zip(passing, vectors[1:])]
    scored = [item for item in scored if item[1] >= min_score]
    scored.sort(key=lambda item: -item[1])
    return scored[:limit]
