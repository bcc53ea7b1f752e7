"""Chunking per sys-file type; sizes in characters; deterministic ids."""

from __future__ import annotations

import io
import json

import pytest

from llm_assets.core.chunking import chunk_bytes, chunk_id, chunk_sys_file, split_text
from llm_assets.core.errors import ConfigError
from llm_assets.core.models import SysFile

pytestmark = pytest.mark.unit

TEXT = " ".join(f"word{i}" for i in range(400))


def test_split_text_respects_size_and_overlap_in_characters():
    pieces = split_text(TEXT, chunk_size=100, overlap=20)
    assert all(len(p) <= 100 for p in pieces)
    assert len(pieces) > 1
    for a, b in zip(pieces, pieces[1:]):
        # the next window starts inside the last `overlap` characters of the previous one
        assert b.split()[0] in a[-25:]
    assert " ".join(pieces).replace(" ", "").startswith(TEXT.replace(" ", "")[:50])
    assert pieces[-1].endswith("word399")


@pytest.mark.parametrize("size,overlap", [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_config_errors(size, overlap):
    with pytest.raises(ConfigError, match="CNTL_CFG_SYS_FILE"):
        split_text("abc", size, overlap)


def test_ids_are_deterministic_and_depend_on_every_part():
    a = chunk_bytes(TEXT.encode(), doc="a.txt", file_type="txt", chunk_size=200, overlap=10)
    b = chunk_bytes(TEXT.encode(), doc="a.txt", file_type="txt", chunk_size=200, overlap=10)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    assert chunk_id("a.txt", 0, "x") != chunk_id("b.txt", 0, "x")
    assert chunk_id("a.txt", 0, "x") != chunk_id("a.txt", 1, "x")
    assert chunk_id("a.txt", 0, "x", "c1") != chunk_id("a.txt", 0, "x", "c2")
    assert [c.index for c in a] == list(range(len(a)))


def test_csv_uses_the_delimiter_and_keeps_rows_whole():
    rows = "sku|name|price\n" + "\n".join(f"{i}|item {i}|{i}.99" for i in range(50))
    sys_file = SysFile(sys_nm="pipe", file_type="csv", dlm="|", chunk_size=150, overlap=0)
    chunks = chunk_sys_file(rows.encode(), "items.csv", sys_file)
    assert chunks[0].text.startswith("sku: 0 | name: item 0 | price: 0.99")
    assert all(len(c.text) <= 150 for c in chunks)
    assert chunks[0].metadata["rows"][0] == 1 and chunks[-1].metadata["rows"][1] == 50
    texts = "\n".join(c.text for c in chunks)
    assert texts.count("sku: ") == 50


def test_tsv_defaults_to_tab_and_accepts_escaped_tab():
    data = b"a\tb\n1\t2\n"
    for dlm in (None, "\\t"):
        chunks = chunk_bytes(data, doc="x.tsv", file_type="tsv", chunk_size=100, dlm=dlm)
        assert chunks[0].text == "a: 1 | b: 2"


def test_markdown_sections_carry_their_heading():
    md = "# Intro\nhello there\n\n## Returns\nreturn within 30 days\n"
    chunks = chunk_bytes(md.encode(), doc="faq.md", file_type="md", chunk_size=200)
    assert [c.metadata.get("heading") for c in chunks] == ["Intro", "Returns"]
    assert "30 days" in chunks[1].text


def test_json_list_and_object():
    data = json.dumps([{"id": i, "q": f"question {i}"} for i in range(20)]).encode()
    chunks = chunk_bytes(data, doc="faq.json", file_type="json", chunk_size=120)
    assert sum(c.text.count('"id"') for c in chunks) == 20
    obj = json.dumps({"store": {"name": "A", "hours": {"mon": "9-5"}}}).encode()
    (only,) = chunk_bytes(obj, doc="s.json", file_type="json", chunk_size=500)
    assert 'store.hours.mon: "9-5"' in only.text
    with pytest.raises(ConfigError, match="not valid JSON"):
        chunk_bytes(b"{", doc="bad.json", file_type="json", chunk_size=10)


def _pdf(pages: list[str]) -> bytes:
    """A small real PDF with one text line per page (written by hand, read by pypdf)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        page_no = len(objects) + 1
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Contents {page_no + 1} 0 R /Resources << /Font << /F1 "
                       f"{len(pages) * 2 + 3} 0 R >> >> >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        kids.append(f"{page_no} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF"
              .encode())
    return out.getvalue()


def test_pdf_pages_are_chunked_with_page_numbers():
    data = _pdf(["Returns are accepted within thirty days", "Shipping is free over fifty"])
    chunks = chunk_bytes(data, doc="policy.pdf", file_type="pdf", chunk_size=200)
    assert [c.metadata["page"] for c in chunks] == [1, 2]
    assert "thirty days" in chunks[0].text and "fifty" in chunks[1].text
    with pytest.raises(ConfigError, match="policy2.pdf"):
        chunk_bytes(b"not a pdf", doc="policy2.pdf", file_type="pdf", chunk_size=100)


def test_unknown_file_type_names_the_document():
    with pytest.raises(ConfigError, match="'docx'.*report.docx"):
        chunk_bytes(b"x", doc="report.docx", file_type="docx", chunk_size=10)
