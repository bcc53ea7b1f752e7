"""Chunking of source documents per sys-file type (CNTL_CFG_SYS_FILE).

`chunk_size` and `overlap` are measured in CHARACTERS (Python `str` length), not tokens:
a chunk holds at most `chunk_size` characters and consecutive windows of one text share
`overlap` characters.  Windows end at a paragraph, line, sentence or word boundary when one
lies in the second half of the window, so words are rarely cut.

File types:
- `pdf`: text of each page (pypdf), chunked per page; metadata `page` (1-based).
- `csv`/`tsv`: rows read with the sys file's `dlm` (default `,` / tab); each row is rendered
  `column: value | column: value` and whole rows are packed into chunks (overlap applies only
  inside a row longer than `chunk_size`); metadata `rows` = [first, last] data-row numbers.
- `txt`: the whole text.
- `md`: split at headings first, then chunked per section; metadata `heading`.
- `json`: a list becomes one record per element, an object one `path: value` line per leaf;
  records are packed like csv rows.

Chunk ids are deterministic (UUID5 over collection, document key, chunk index and text), so
re-ingesting the same file produces the same ids and replaces rows instead of adding them.
UUIDs are accepted as ids by both pgvector (text) and Weaviate (uuid).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llm_assets.core.errors import ConfigError

FILE_TYPES = ("pdf", "csv", "tsv", "txt", "md", "json")
_NAMESPACE = uuid.UUID("6f1c8f7e-2b0a-5c39-9d47-4a1e0b7c2d55")
_BREAKS = ("\n\n", "\n", ". ", " ")


@dataclass(frozen=True)
class Chunk:
    """One piece of a source document, ready to embed and store."""

    id: str
    doc: str
    index: int
    text: str
    metadata: dict = field(default_factory=dict)


def chunk_id(doc: str, index: int, text: str, collection: str | None = None) -> str:
    """Deterministic id of a chunk: UUID5 of (collection, doc, index, text)."""
    key = json.dumps([collection or "", doc, index, text], ensure_ascii=False)
    return str(uuid.uuid5(_NAMESPACE, key))


def _check_sizes(chunk_size: int, overlap: int) -> None:
    if chunk_size <= 0 or overlap < 0 or overlap >= chunk_size:
        raise ConfigError(
            f"chunk_size={chunk_size}, overlap={overlap}: need chunk_size > 0 and "
            "0 <= overlap < chunk_size (characters); fix the CNTL_CFG_SYS_FILE row"
        )


def split_text(text: str, chunk_size: int, overlap: int) -> list[str]:
    """Split `text` into windows of at most `chunk_size` characters sharing `overlap`."""
    _check_sizes(chunk_size, overlap)
    text = text.strip()
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + chunk_size, len(text))
        if end < len(text):
            window = text[start:end]
            for sep in _BREAKS:
                cut = window.rfind(sep)
                if cut >= chunk_size // 2:
                    end = start + cut + len(sep)
                    break
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return pieces


def _pack(records: Iterable[tuple[str, int]], chunk_size: int, overlap: int
          ) -> Iterator[tuple[str, dict]]:
    """Pack whole records (text, number) into chunks of at most `chunk_size` characters."""
    buf: list[str] = []
    first = last = 0
    for text, number in records:
        if len(text) > chunk_size:
            if buf:
                yield "\n".join(buf), {"rows": [first, last]}
                buf = []
            for piece in split_text(text, chunk_size, overlap):
                yield piece, {"rows": [number, number]}
            continue
        if buf and len("\n".join(buf)) + 1 + len(text) > chunk_size:
            yield "\n".join(buf), {"rows": [first, last]}
            buf = []
        if not buf:
            first = number
        buf.append(text)
        last = number
    if buf:
        yield "\n".join(buf), {"rows": [first, last]}


def _delimiter(file_type: str, dlm: str | None) -> str:
    if not dlm:
        return "\t" if file_type == "tsv" else ","
    dlm = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(dlm, dlm)
    if len(dlm) != 1:
        raise ConfigError(
            f"delimiter dlm={dlm!r} must be one character (use '\\t' for tab); "
            "fix the CNTL_CFG_SYS_FILE row"
        )
    return dlm


def utf8_text(data: bytes, doc: str) -> str:
    """`data` decoded as UTF-8 (a BOM dropped), or a ConfigError naming `doc`, the byte, its
    offset and line, and the fix."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(
            f"document {doc!r} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start} (line {line}) cannot be decoded; save the file as UTF-8 (it may be "
            "Latin-1 / Windows-1252) and land it again") from None


def _check_delimiter(text: str, dlm: str, doc: str) -> None:
    """A header that is one column while another usual delimiter splits it means the sys
    file names the wrong delimiter (the rows would silently become one column)."""
    header = text.split("\n", 1)[0]
    if dlm in header:
        return
    for other in (";", ",", "\t", "|"):
        if other != dlm and header.count(other) >= 1:
            shown = {"\t": "\\t"}.get(other, other)
            raise ConfigError(
                f"document {doc!r} has no {dlm!r} in its header line but {header.count(other)} "
                f"{shown!r}: set cntl_cfg_sys_file.dlm to {shown!r} (or fix the file)")


def _csv_pieces(text: str, dlm: str, chunk_size: int, overlap: int):
    rows = csv.reader(io.StringIO(text), delimiter=dlm)
    header = next(rows, None)
    if header is None:
        return
    records = (
        (" | ".join(f"{h}: {v}" for h, v in zip(header, row)), n)
        for n, row in enumerate(rows, start=1)
        if any(cell.strip() for cell in row)
    )
    yield from _pack(records, chunk_size, overlap)


def _leaves(value, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield f"{path or '$'}: {json.dumps(value, ensure_ascii=False)}"


def _json_pieces(text: str, doc: str, chunk_size: int, overlap: int):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"document {doc!r} is not valid JSON ({exc}); fix the file "
                          "or its sys file's file_type") from exc
    if isinstance(data, list):
        records = ((json.dumps(item, ensure_ascii=False, sort_keys=True), n)
                   for n, item in enumerate(data, start=1))
    else:
        records = ((line, n) for n, line in enumerate(_leaves(data), start=1))
    yield from _pack(records, chunk_size, overlap)


_HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)


def _md_pieces(text: str, chunk_size: int, overlap: int):
    marks = list(_HEADING.finditer(text))
    sections = [("", text[: marks[0].start()] if marks else text)]
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        sections.append((mark.group(1).strip(), text[mark.start():end]))
    for heading, body in sections:
        for piece in split_text(body, chunk_size, overlap):
            yield piece, {"heading": heading} if heading else {}


def _pdf_pieces(data: bytes, doc: str, chunk_size: int, overlap: int):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        raise ConfigError(f"document {doc!r} is not a readable PDF ({exc})") from exc
    for number, page in enumerate(pages, start=1):
        for piece in split_text(page, chunk_size, overlap):
            yield piece, {"page": number}


def chunk_bytes(data: bytes, *, doc: str, file_type: str, chunk_size: int, overlap: int = 0,
                dlm: str | None = None, collection: str | None = None) -> list[Chunk]:
    """Chunk one document.  `chunk_size` and `overlap` are in characters.

    `doc` is the source document's key (data lake key or file name); it becomes `Chunk.doc`
    and enters the chunk ids, so the same document re-chunked gives the same ids.
    """
    file_type = (file_type or "").strip().lower().lstrip(".")
    _check_sizes(chunk_size, overlap)
    if not data.strip():
        raise ConfigError(f"document {doc!r} is empty ({len(data)} bytes): land the complete "
                          "file again, or remove it from the raw area")
    if file_type == "pdf":
        pieces = _pdf_pieces(data, doc, chunk_size, overlap)
    else:
        text = utf8_text(data, doc)
        if file_type in ("csv", "tsv"):
            delimiter = _delimiter(file_type, dlm)
            _check_delimiter(text, delimiter, doc)
            pieces = _csv_pieces(text, delimiter, chunk_size, overlap)
        elif file_type == "json":
            pieces = _json_pieces(text, doc, chunk_size, overlap)
        elif file_type == "md":
            pieces = _md_pieces(text, chunk_size, overlap)
        elif file_type == "txt":
            pieces = ((p, {}) for p in split_text(text, chunk_size, overlap))
        else:
            raise ConfigError(
                f"file_type {file_type!r} of document {doc!r} is not supported; use one of "
                f"{', '.join(FILE_TYPES)} in CNTL_CFG_SYS_FILE"
            )
    return [
        Chunk(id=chunk_id(doc, i, text, collection), doc=doc, index=i, text=text,
              metadata={"file_type": file_type, **meta})
        for i, (text, meta) in enumerate(pieces)
    ]


def chunk_sys_file(data: bytes, doc: str, sys_file, collection: str | None = None
                   ) -> list[Chunk]:
    """Chunk a document with the settings of a `SysFile` row (file_type, dlm, sizes)."""
    return chunk_bytes(data, doc=doc, file_type=sys_file.file_type,
                       chunk_size=sys_file.chunk_size, overlap=sys_file.overlap,
                       dlm=sys_file.dlm, collection=collection)


def chunk_path(path: str | Path, *, file_type: str | None = None, doc: str | None = None,
               **kwargs) -> list[Chunk]:
    """Chunk a file on disk; file_type defaults to the suffix, doc to the file name."""
    path = Path(path)
    return chunk_bytes(path.read_bytes(), doc=doc or path.name,
                       file_type=file_type or path.suffix, **kwargs)
