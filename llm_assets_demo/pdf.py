"""A minimal PDF writer: pages of wrapped Helvetica text, no dependency.

Enough for the demo documents (titles, headings, paragraphs) and readable by any PDF
library (the ingestion uses pypdf).  Text must be Latin-1; the layout is US Letter.
"""

from __future__ import annotations

import textwrap

PAGE_W, PAGE_H = 612, 792
MARGIN = 64
STYLES = {"title": (18, 30), "heading": (13, 22), "body": (10.5, 14.5)}
WRAP = {"title": 50, "heading": 70, "body": 98}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _layout(blocks: list[tuple[str, str]]) -> list[list[tuple[str, str, float]]]:
    """Blocks (style, text) -> pages of lines (style, text, y)."""
    pages: list[list[tuple[str, str, float]]] = [[]]
    y = PAGE_H - MARGIN
    for style, text in blocks:
        size, leading = STYLES[style]
        lines = textwrap.wrap(text, WRAP[style]) or [""]
        keep = len(lines) + (3 if style != "body" else 0)  # a heading stays with its text
        if pages[-1] and y - leading * keep < MARGIN:
            pages.append([])  # paragraphs are never split across pages
            y = PAGE_H - MARGIN
        for line in lines:
            if y - leading < MARGIN:
                pages.append([])
                y = PAGE_H - MARGIN
            y -= leading
            pages[-1].append((style, line, y))
        y -= leading * 0.6
    return pages


def _content(lines: list[tuple[str, str, float]], page_no: int, footer: str) -> bytes:
    ops = ["BT"]
    for style, text, y in lines:
        font = "/F2" if style != "body" else "/F1"
        ops.append(f"{font} {STYLES[style][0]} Tf 1 0 0 1 {MARGIN} {y:.1f} Tm "
                   f"({_escape(text)}) Tj")
    ops.append(f"/F1 8 Tf 1 0 0 1 {MARGIN} 36 Tm ({_escape(footer)} - page {page_no}) Tj")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def write_pdf(title: str, blocks: list[tuple[str, str]]) -> bytes:
    """A PDF of `blocks` (style in title/heading/body, text); deterministic bytes."""
    pages = _layout(blocks)
    objects: list[bytes] = [b"", b""]  # 1 catalog, 2 page tree: filled below
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   b"/Encoding /WinAnsiEncoding >>")  # 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
                   b"/Encoding /WinAnsiEncoding >>")  # 4
    kids = []
    for number, lines in enumerate(pages, start=1):
        stream = _content(lines, number, title)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream
                       + b"\nendstream")
        content_id = len(objects)
        objects.append((f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                        f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                        f"/Contents {content_id} 0 R >>").encode())
        kids.append(f"{len(objects)} 0 R")
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    info = f"<< /Title ({_escape(title)}) /Producer (llm_assets demo) >>".encode("latin-1")
    objects.append(info)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)
