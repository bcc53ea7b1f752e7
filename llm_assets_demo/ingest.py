"""Ingestion into a vector collection: documents of one sys file, or rows of a table.

Both are idempotent: chunk ids are deterministic, `upsert(..., replace_docs=True)` drops the
chunks a document no longer produces, documents that left the raw area are deleted from the
collection, and the manifest `export/<stream>/ingest/<name>.json` (ids and texts) is
overwritten.  The manifest is what the quality checks compare the collection against.
"""

from __future__ import annotations

import json

from llm_assets.core.chunking import Chunk, chunk_bytes, chunk_id, utf8_text
from llm_assets.core.errors import ConfigError

MANIFEST = "export/{stream}/ingest/{name}.json"


def max_source_bytes() -> int:
    """The largest source file ingestion reads into memory (LLM_ASSETS_MAX_SOURCE_MB)."""
    from llm_assets.core import settings

    return int(settings.number("LLM_ASSETS_MAX_SOURCE_MB", "256") * 2**20)


def _amount(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB" if size >= 2**20 else f"{size:,} bytes"


def _check_size(datalake, key: str, what: str, limit: int) -> None:
    """Refuse a source above the limit from its size alone (a HEAD on S3), before reading."""
    size = datalake.size(key)
    if size > limit:
        raise ConfigError(
            f"{what} {key} is {_amount(size)}, above the {_amount(limit)} limit for one "
            "source file (LLM_ASSETS_MAX_SOURCE_MB)"
            ": split it into smaller files, or raise the limit if the workers have the "
            "memory")


def source_keys(datalake, stream: str, file_type: str) -> list[str]:
    prefix = f"raw/{stream}/{file_type}/"
    keys = [k for k in datalake.list(prefix) if k.lower().endswith(f".{file_type}")]
    if not keys:
        raise ConfigError(f"no {file_type} documents under {prefix} in the data lake "
                          f"({datalake.describe()}): land them first (process "
                          f"{stream}_land_sources) or fix the sys file's file_type")
    return keys


def _read_manifest(datalake, key: str) -> dict:
    return json.loads(datalake.get_text(key)) if datalake.exists(key) else {"documents": {}}


def store(datalake, embeddings, vectorstore, *, stream: str, name: str, collection: str,
          embed_model: str | None, chunks: list[Chunk], documents: list[str],
          extra: dict | None = None) -> dict:
    """Embed and upsert `chunks` (of `documents`), drop documents gone since the last run,
    write the manifest; returns the summary."""
    if not collection:
        raise ConfigError(f"process of stream {stream} ingesting {name} has no `collection`: "
                          "set cntl_cfg_prcs.collection")
    manifest_key = MANIFEST.format(stream=stream, name=name)
    previous = _read_manifest(datalake, manifest_key)
    vectors = embeddings.embed([c.text for c in chunks], model=embed_model)
    vectorstore.ensure_collection(collection, embeddings.dimension(embed_model))
    upserted = vectorstore.upsert(collection, chunks, vectors, replace_docs=True)
    removed = 0
    for doc in sorted(set(previous["documents"]) - set(documents)):
        removed += vectorstore.delete_doc(collection, doc)
    per_doc = {doc: sum(1 for c in chunks if c.doc == doc) for doc in documents}
    manifest = {"stream": stream, "name": name, "collection": collection,
                "embed_model": embed_model, "documents": per_doc, **(extra or {}),
                "chunks": [{"id": c.id, "doc": c.doc, "index": c.index, "text": c.text,
                            "metadata": c.metadata} for c in chunks]}
    datalake.put_text(manifest_key, json.dumps(manifest, indent=1))
    return {"collection": collection, "documents": len(documents), "chunks": len(chunks),
            "upserted": upserted, "removed_stale": removed, "manifest": manifest_key,
            "collection_count": vectorstore.count(collection)}


def ingest_documents(datalake, embeddings, vectorstore, *, stream: str, sys_file: dict,
                     collection: str, embed_model: str | None) -> dict:
    """Chunk every raw/<stream>/<file_type>/ document per its sys-file row; store them."""
    if not sys_file:
        raise ConfigError(f"an ingestion process of stream {stream} has no sys_file: set "
                          "cntl_cfg_prcs.sys_file to a cntl_cfg_sys_file row")
    file_type = sys_file["file_type"].lower()
    keys = source_keys(datalake, stream, file_type)
    limit = max_source_bytes()
    for key in keys:  # before reading any: a file far too large fails fast, memory untouched
        _check_size(datalake, key, "document", limit)
    chunks: list[Chunk] = []
    for key in keys:
        found = chunk_bytes(datalake.get_bytes(key), doc=key, file_type=file_type,
                            chunk_size=sys_file["chunk_size"], overlap=sys_file["overlap"],
                            dlm=sys_file.get("dlm"), collection=collection)
        chunks += [Chunk(c.id, c.doc, c.index, c.text,
                         {**c.metadata, "sys_file": sys_file["sys_nm"],
                          "name": key.rsplit("/", 1)[-1]}) for c in found]
    return store(datalake, embeddings, vectorstore, stream=stream, name=sys_file["sys_nm"],
                 collection=collection, embed_model=embed_model, chunks=chunks,
                 documents=keys, extra={"sys_file": sys_file})


def read_table(datalake, key: str, sys_file: dict | None, required: list[str]):
    """A raw CSV table read with the sys file's delimiter; its required columns checked."""
    import io

    import pandas as pd

    if not datalake.exists(key):
        raise ConfigError(f"table {key} is not in the data lake ({datalake.describe()}): "
                          "land it first or fix nb_parm `file`")
    dlm = (sys_file or {}).get("dlm") or ","
    _check_size(datalake, key, "table", max_source_bytes())
    data = datalake.get_bytes(key)
    if not data.strip():
        raise ConfigError(f"table {key} is empty ({len(data)} bytes): land the complete file "
                          "again")
    text = utf8_text(data, key)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=dlm)
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[0].removeprefix("Error tokenizing data. C error: ")
        raise ConfigError(f"table {key} is not a valid CSV with delimiter {dlm!r}: {reason}; "
                          "fix that line of the file (or the delimiter of its sys file) and "
                          "land it again") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ConfigError(f"table {key} lacks columns {missing} (has {list(frame.columns)}); "
                          f"check the file or the delimiter {dlm!r} of its sys file")
    return frame


def record_chunks(frame, *, doc: str, key_column: str, text_columns: list[str],
                  meta_columns: list[str], collection: str, max_chars: int) -> list[Chunk]:
    """One chunk per table row (a promotion = one vector); id stable per key value."""
    chunks = []
    for index, row in enumerate(frame.to_dict("records")):
        text = ". ".join(str(row[c]).rstrip(".") for c in text_columns)[:max_chars]
        record = str(row[key_column])
        chunks.append(Chunk(id=chunk_id(f"{doc}#{record}", 0, record, collection), doc=doc,
                            index=index, text=text,
                            metadata={c: row[c] for c in meta_columns}))
    return chunks
