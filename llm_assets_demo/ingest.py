"""Ingestion into a vector collection: documents of one sys file, or rows of a table.

Both are idempotent: chunk ids are deterministic, `upsert(..., replace_docs=True)` drops the
chunks a document no longer produces, documents that left the raw area are deleted from the
collection, and the manifest `export/<stream>/ingest/<name>.json` (ids and texts) is
overwritten.  The manifest is what the quality checks compare the collection against.

Unchanged sources are skipped: the manifest, written only when an ingestion succeeded,
records each source's content hash and the settings its chunks were made with (collection,
embedding backend and model, chunking settings and the chunking code).  A source whose hash
and settings are those of the manifest, in a collection that still holds the manifest's
chunks, is neither chunked nor embedded again; its vectors and manifest entries stay.  A
changed source is re-chunked and re-embedded, its old chunks replaced.  A different embedding
model or chunking setting re-ingests every source.  `force=True` (nb_parm `reingest=1`)
re-ingests everything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from llm_assets.core import chunking
from llm_assets.core.chunking import Chunk, chunk_bytes, chunk_id, utf8_text
from llm_assets.core.errors import ConfigError, LlmAssetsError

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


def digest(data: bytes) -> str:
    """The content hash of a source (what decides whether it is ingested again)."""
    return hashlib.sha256(data).hexdigest()


def chunks_digest(chunks: list[Chunk]) -> str:
    """The content hash of a source given by its chunks (a table's rows)."""
    body = [[c.id, c.index, c.text, c.metadata] for c in chunks]
    return digest(json.dumps(body, sort_keys=True, default=str).encode())


_CHUNKER = digest(Path(chunking.__file__).read_bytes())[:16]  # the chunking code's version


def embedder(embeddings, embed_model: str | None) -> dict:
    """What makes the vectors: the embeddings backend and the model it runs (locally: the
    model the name maps to, LLM_ASSETS_LOCAL_MODEL_MAP)."""
    ident = {"backend": type(embeddings).__name__,
             "model": embed_model or getattr(embeddings, "model", None)}
    if hasattr(embeddings, "normalize"):
        ident["normalize"] = embeddings.normalize
    if type(embeddings).__name__ == "LocalEmbeddings":
        from llm_assets.backends.model_map import local_name

        ident["local_model"] = embeddings.model or local_name(embed_model, "embed")
    return ident


def settings_of(embeddings, *, collection: str, embed_model: str | None,
                chunking_settings: dict) -> dict:
    """Everything besides a source's content that its chunks and vectors depend on."""
    return {"collection": collection, "embedder": embedder(embeddings, embed_model),
            "chunking": {**chunking_settings, "code": _CHUNKER}}


def _collection_holds(vectorstore, collection: str, chunks: int) -> bool:
    """Whether `collection` still exists with at least the manifest's chunks (a dropped or
    emptied collection is ingested again)."""
    try:
        return vectorstore.count(collection) >= chunks
    except LlmAssetsError:  # the collection does not exist
        return False


def unchanged_sources(previous: dict, vectorstore, *, settings: dict, sources: dict,
                      force: bool = False) -> set[str]:
    """The sources whose content hash and settings are those of the last successful
    ingestion (its manifest `previous`), in a collection that still holds its chunks."""
    if force or previous.get("settings") != settings:
        return set()
    same = {doc for doc, value in sources.items()
            if previous.get("sources", {}).get(doc) == value}
    if same and not _collection_holds(vectorstore, settings["collection"],
                                      len(previous.get("chunks", ()))):
        return set()
    return same


def store(datalake, embeddings, vectorstore, *, stream: str, name: str, collection: str,
          embed_model: str | None, chunks: list[Chunk], documents: list[str],
          extra: dict | None = None, sources: dict | None = None,
          settings: dict | None = None, unchanged: set[str] | None = None,
          force: bool = False) -> dict:
    """Embed and upsert `chunks` (of `documents`), drop documents gone since the last run,
    write the manifest; returns the summary.

    `sources` ({document: content hash}): documents unchanged since the last successful
    ingestion with the same `settings` are skipped (their chunks neither embedded nor
    upserted; the manifest keeps their entries).  `unchanged`: those documents, when the
    caller already knows them (and gave no chunks for them)."""
    if not collection:
        raise ConfigError(f"process of stream {stream} ingesting {name} has no `collection`: "
                          "set cntl_cfg_prcs.collection")
    manifest_key = MANIFEST.format(stream=stream, name=name)
    previous = _read_manifest(datalake, manifest_key)
    settings = settings or settings_of(embeddings, collection=collection,
                                       embed_model=embed_model, chunking_settings={})
    sources = sources or {}
    if unchanged is None:
        unchanged = unchanged_sources(previous, vectorstore, settings=settings,
                                      sources=sources, force=force)
    fresh = [c for c in chunks if c.doc not in unchanged]
    kept = [Chunk(c["id"], c["doc"], c["index"], c["text"], c.get("metadata", {}))
            for c in previous.get("chunks", ()) if c["doc"] in unchanged]
    if not {c.doc for c in chunks} & unchanged:
        chunks = kept + chunks
    upserted, removed = 0, 0
    if fresh:
        vectors = embeddings.embed([c.text for c in fresh], model=embed_model)
        vectorstore.ensure_collection(collection, embeddings.dimension(embed_model))
        upserted = vectorstore.upsert(collection, fresh, vectors, replace_docs=True)
    changed = [doc for doc in documents if doc not in unchanged]
    produced = {c.doc for c in fresh}
    stale_docs = set(previous["documents"]) - set(documents)
    stale_docs |= {doc for doc in changed if doc in previous["documents"]
                   and doc not in produced}  # a changed source that now yields no chunks
    for doc in sorted(stale_docs):
        try:
            removed += vectorstore.delete_doc(collection, doc)
        except LlmAssetsError:
            if fresh:  # the collection exists after an upsert: a real failure
                raise
    per_doc = {doc: sum(1 for c in chunks if c.doc == doc) for doc in documents}
    manifest = {"stream": stream, "name": name, "collection": collection,
                "embed_model": embed_model, "documents": per_doc, **(extra or {}),
                "settings": settings, "sources": {d: sources[d] for d in documents
                                                  if d in sources},
                "chunks": [{"id": c.id, "doc": c.doc, "index": c.index, "text": c.text,
                            "metadata": c.metadata} for c in chunks]}
    datalake.put_text(manifest_key, json.dumps(manifest, indent=1))
    skipped = len([d for d in documents if d in unchanged])
    content = digest(json.dumps([manifest["settings"], manifest["sources"],
                                 [c.id for c in chunks]], sort_keys=True).encode())
    return {"collection": collection, "documents": len(documents), "chunks": len(chunks),
            "content": content,
            "upserted": upserted, "removed_stale": removed, "manifest": manifest_key,
            "skipped": skipped, "ingested": len(documents) - skipped,
            "collection_count": _count(vectorstore, collection),
            "message": f"{len(documents) - skipped} source(s) ingested ({upserted} chunk(s) "
                       f"embedded), {skipped} unchanged source(s) skipped"}


def _count(vectorstore, collection: str) -> int:
    try:
        return vectorstore.count(collection)
    except LlmAssetsError:  # nothing ever ingested (every source empty)
        return 0


def ingest_documents(datalake, embeddings, vectorstore, *, stream: str, sys_file: dict,
                     collection: str, embed_model: str | None, force: bool = False) -> dict:
    """Chunk every raw/<stream>/<file_type>/ document per its sys-file row; store them.
    Documents unchanged since the last successful ingestion are not chunked again."""
    if not sys_file:
        raise ConfigError(f"an ingestion process of stream {stream} has no sys_file: set "
                          "cntl_cfg_prcs.sys_file to a cntl_cfg_sys_file row")
    file_type = sys_file["file_type"].lower()
    keys = source_keys(datalake, stream, file_type)
    limit = max_source_bytes()
    for key in keys:  # before reading any: a file far too large fails fast, memory untouched
        _check_size(datalake, key, "document", limit)
    if not collection:
        raise ConfigError(f"process of stream {stream} ingesting {sys_file['sys_nm']} has no "
                          "`collection`: set cntl_cfg_prcs.collection")
    settings = settings_of(embeddings, collection=collection, embed_model=embed_model,
                           chunking_settings={k: sys_file.get(k) for k in (
                               "file_type", "dlm", "chunk_size", "overlap")})
    data = {key: datalake.get_bytes(key) for key in keys}
    sources = {key: digest(value) for key, value in data.items()}
    previous = _read_manifest(datalake, MANIFEST.format(stream=stream, name=sys_file["sys_nm"]))
    unchanged = unchanged_sources(previous, vectorstore, settings=settings, sources=sources,
                                  force=force)
    chunks: list[Chunk] = []
    for key in keys:
        if key in unchanged:
            continue
        found = chunk_bytes(data[key], doc=key, file_type=file_type,
                            chunk_size=sys_file["chunk_size"], overlap=sys_file["overlap"],
                            dlm=sys_file.get("dlm"), collection=collection)
        chunks += [Chunk(c.id, c.doc, c.index, c.text,
                         {**c.metadata, "sys_file": sys_file["sys_nm"],
                          "name": key.rsplit("/", 1)[-1]}) for c in found]
    return store(datalake, embeddings, vectorstore, stream=stream, name=sys_file["sys_nm"],
                 collection=collection, embed_model=embed_model, chunks=chunks,
                 documents=keys, extra={"sys_file": sys_file}, sources=sources,
                 settings=settings, unchanged=unchanged)


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
