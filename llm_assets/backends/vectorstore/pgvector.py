"""The pgvector backend of the vector store (local profile); interface in `base`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import contextmanager

import dagster as dg
from pydantic import Field, PrivateAttr

from llm_assets.backends.vectorstore.base import Hit, check_name, check_vectors, fuse, mismatch
from llm_assets.core.chunking import Chunk
from llm_assets.core.errors import ConfigError, ServiceUnavailable


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


class PgVectorStore(dg.ConfigurableResource):
    """pgvector in the profile's Postgres: one table per collection in schema `vec`, an HNSW
    cosine index on the embedding and a GIN index on a generated tsvector (keyword side)."""

    url: str = Field(description="Postgres URL (postgresql://user:pw@host:port/db)")
    schema_name: str = Field(default="vec")
    text_search_config: str = Field(default="english", description="regconfig for tsvector")
    hnsw_m: int = Field(default=16, gt=1)
    hnsw_ef_construction: int = Field(default=64, gt=0)
    ef_search: int = Field(default=64, gt=0)
    batch_size: int = Field(default=500, gt=0)

    _dims: dict = PrivateAttr(default_factory=dict)

    @contextmanager
    def get_connection(self):
        import psycopg2

        try:
            conn = psycopg2.connect(self.url)
        except psycopg2.OperationalError as exc:
            host = self.url.rsplit("@", 1)[-1]
            raise ServiceUnavailable(f"cannot connect to the vector store Postgres at {host}: "
                                     f"{exc}. Start it (`llm-assets up`) or fix the URL") from exc
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def _table(self, name: str):
        from psycopg2 import sql

        return sql.Identifier(self.schema_name, check_name(name))

    def _built_dim(self, cur, name: str) -> int | None:
        cur.execute("SELECT a.atttypmod FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
                    "AND a.attname = 'embedding' AND NOT a.attisdropped",
                    (f'"{self.schema_name}"."{check_name(name)}"',))
        row = cur.fetchone()
        return int(row[0]) if row else None

    def _ddl(self, name: str, dim: int):
        from psycopg2 import sql

        table, ident = self._table(name), sql.Identifier
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} (id text PRIMARY KEY, doc text NOT NULL, "
            "chunk_index integer NOT NULL, text text NOT NULL, "
            "metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb, embedding vector({dim}) NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector({cfg}::regconfig, text)) STORED);"
            "CREATE INDEX IF NOT EXISTS {hnsw} ON {t} USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = {m}, ef_construction = {efc});"
            "CREATE INDEX IF NOT EXISTS {gin} ON {t} USING gin (tsv);"
            "CREATE INDEX IF NOT EXISTS {docx} ON {t} (doc);"
        ).format(t=table, dim=sql.Literal(int(dim)), cfg=sql.Literal(self.text_search_config),
                 hnsw=ident(f"{name}_hnsw"), gin=ident(f"{name}_tsv"), docx=ident(f"{name}_doc"),
                 m=sql.Literal(self.hnsw_m), efc=sql.Literal(self.hnsw_ef_construction))

    def ensure_collection(self, name: str, dim: int) -> None:
        from psycopg2 import sql

        check_name(name)
        if self._dims.get(name) == dim:
            return
        with self.get_connection() as conn, conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(self.schema_name)))
            built = self._built_dim(cur, name)
            if built is not None and built != dim:
                raise mismatch(name, built, dim, "pgvector")
            if built is None:
                cur.execute(self._ddl(name, dim))
        self._dims[name] = dim

    def _require(self, cur, name: str, dim: int | None = None) -> int:
        built = self._dims.get(name) or self._built_dim(cur, name)
        if built is None:
            raise ConfigError(f"pgvector collection {name!r} does not exist in schema "
                              f"{self.schema_name!r}; ingest into it first (ensure_collection)")
        if dim is not None and dim != built:
            raise mismatch(name, built, dim, "pgvector")
        self._dims[name] = built
        return built

    def upsert(self, name: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]],
               replace_docs: bool = False) -> int:
        from psycopg2 import sql
        from psycopg2.extras import execute_values

        dim = check_vectors(name, chunks, vectors)
        if not chunks:
            return 0
        self.ensure_collection(name, dim)
        table = self._table(name)
        rows = [(c.id, c.doc, c.index, c.text, json.dumps(c.metadata), _vector_literal(v))
                for c, v in zip(chunks, vectors)]
        with self.get_connection() as conn, conn.cursor() as cur:
            if replace_docs:
                for doc in sorted({c.doc for c in chunks}):
                    keep = [c.id for c in chunks if c.doc == doc]
                    cur.execute(sql.SQL("DELETE FROM {} WHERE doc = %s AND NOT id = ANY(%s)")
                                .format(table), (doc, keep))
            execute_values(cur, sql.SQL(
                "INSERT INTO {} (id, doc, chunk_index, text, metadata, embedding) VALUES %s "
                "ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, "
                "chunk_index = EXCLUDED.chunk_index, text = EXCLUDED.text, "
                "metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding").format(table),
                rows, template="(%s, %s, %s, %s, %s::jsonb, %s::vector)",
                page_size=self.batch_size)
        return len(rows)

    def delete_doc(self, name: str, doc: str) -> int:
        from psycopg2 import sql

        with self.get_connection() as conn, conn.cursor() as cur:
            self._require(cur, name)
            cur.execute(sql.SQL("DELETE FROM {} WHERE doc = %s").format(self._table(name)), (doc,))
            return cur.rowcount

    def count(self, name: str) -> int:
        from psycopg2 import sql

        with self.get_connection() as conn, conn.cursor() as cur:
            self._require(cur, name)
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(self._table(name)))
            return int(cur.fetchone()[0])

    def drop_collection(self, name: str) -> None:
        from psycopg2 import sql

        with self.get_connection() as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(name)))
        self._dims.pop(name, None)

    @staticmethod
    def _where(filters: dict | None):
        from psycopg2 import sql

        parts, params = [], []
        for key, value in (filters or {}).items():
            values = list(value) if isinstance(value, list | tuple | set) else None
            if key == "doc":
                parts.append(sql.SQL("doc = ANY(%s)") if values is not None
                             else sql.SQL("doc = %s"))
                params.append(values if values is not None else value)
            elif values is not None:
                parts.append(sql.SQL("metadata -> %s <@ %s::jsonb"))
                params += [key, json.dumps(values)]
            else:
                parts.append(sql.SQL("metadata @> %s::jsonb"))
                params.append(json.dumps({key: value}))
        clause = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts) if parts else sql.SQL("")
        return clause, params

    def _hits(self, cur) -> list[Hit]:
        return [Hit(id=r[0], doc=r[1], index=r[2], text=r[3], metadata=r[4], score=float(r[5]))
                for r in cur.fetchall()]

    def search(self, name: str, vector: Sequence[float], k: int = 5,
               filters: dict | None = None) -> list[Hit]:
        from psycopg2 import sql

        where, params = self._where(filters)
        literal = _vector_literal(vector)
        with self.get_connection() as conn, conn.cursor() as cur:
            self._require(cur, name, len(vector))
            cur.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(
                sql.Literal(max(self.ef_search, k))))
            if filters:
                cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cur.execute(sql.SQL(
                "SELECT id, doc, chunk_index, text, metadata, 1 - (embedding <=> %s::vector) "
                "FROM {t}{w} ORDER BY embedding <=> %s::vector LIMIT %s"
            ).format(t=self._table(name), w=where), [literal, *params, literal, int(k)])
            return self._hits(cur)

    def keyword_search(self, name: str, query_text: str, k: int = 5,
                       filters: dict | None = None) -> list[Hit]:
        """Postgres full-text search (websearch syntax), ranked by ts_rank_cd."""
        from psycopg2 import sql

        where, params = self._where(filters)
        match = sql.SQL("tsv @@ websearch_to_tsquery(%s::regconfig, %s)")
        where = (where + sql.SQL(" AND ") + match) if params else sql.SQL(" WHERE ") + match
        with self.get_connection() as conn, conn.cursor() as cur:
            self._require(cur, name)
            cur.execute(sql.SQL(
                "SELECT id, doc, chunk_index, text, metadata, "
                "ts_rank_cd(tsv, websearch_to_tsquery(%s::regconfig, %s)) AS score "
                "FROM {t}{w} ORDER BY score DESC, id LIMIT %s"
            ).format(t=self._table(name), w=where),
                [self.text_search_config, query_text, *params, self.text_search_config,
                 query_text, int(k)])
            return self._hits(cur)

    def hybrid_search(self, name: str, query_text: str, vector: Sequence[float], k: int = 5,
                      alpha: float = 0.5, filters: dict | None = None) -> list[Hit]:
        if not 0 <= alpha <= 1:
            raise ConfigError(f"hybrid_search alpha={alpha} must lie in [0, 1]")
        pool = max(4 * k, 20)
        vector_hits = self.search(name, vector, pool, filters) if alpha > 0 else []
        keyword_hits = self.keyword_search(name, query_text, pool, filters) if alpha < 1 else []
        return fuse(vector_hits, keyword_hits, alpha, k)
