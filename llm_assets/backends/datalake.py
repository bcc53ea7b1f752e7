"""The data lake: objects by key, one API on the local filesystem and on S3 (MinIO).

Areas: `raw/` source documents, `export/` results for people, `runs/` executed notebooks,
`io/` values passed between processes (IO manager).  Writes are atomic: a failed write
leaves no partial object under the key.

The S3 backend is `llm_assets.backends.s3_datalake` (it imports boto3, which the local
profile never loads).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path, PurePosixPath

import dagster as dg

from llm_assets.core.errors import ConfigError


def check_key(key: str) -> str:
    clean = PurePosixPath(key.lstrip("/"))
    if not key or ".." in clean.parts:
        raise ConfigError(f"data lake key {key!r} is empty or climbs out with '..'")
    return str(clean)


class DataLakeMixin:
    """Typed helpers over the backend's put_bytes / get_bytes."""

    def put_bytes(self, key: str, data: bytes) -> str:
        raise NotImplementedError

    def get_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def put_text(self, key: str, text: str) -> str:
        return self.put_bytes(key, text.encode("utf-8"))

    def get_text(self, key: str) -> str:
        return self.get_bytes(key).decode("utf-8")

    def put_df(self, key: str, df, fmt: str | None = None) -> str:
        fmt = fmt or ("csv" if key.endswith(".csv") else "parquet")
        buffer = io.BytesIO()
        if fmt == "csv":
            df.to_csv(buffer, index=False)
        elif fmt == "parquet":
            df.to_parquet(buffer, index=False)
        else:
            raise ConfigError(f"data frame format {fmt!r} unknown: use csv or parquet")
        return self.put_bytes(key, buffer.getvalue())

    def get_df(self, key: str, fmt: str | None = None):
        import pandas as pd

        fmt = fmt or ("csv" if key.endswith(".csv") else "parquet")
        data = io.BytesIO(self.get_bytes(key))
        return pd.read_csv(data) if fmt == "csv" else pd.read_parquet(data)


class LocalDataLake(dg.ConfigurableResource, DataLakeMixin):
    """The data lake as a directory (local profile)."""

    root: str

    def _path(self, key: str) -> Path:
        return Path(self.root) / check_key(key)

    def put_bytes(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return check_key(key)

    def size(self, key: str) -> int:
        """Bytes of the object at `key` (without reading it)."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object {key!r} in the data lake at {self.root}")
        return path.stat().st_size

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object {key!r} in the data lake at {self.root}")
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = Path(self.root)
        start = base / prefix if prefix else base
        search = start if start.is_dir() else start.parent
        if not search.exists():
            return []
        keys = (str(p.relative_to(base)) for p in search.rglob("*")
                if p.is_file() and not p.name.startswith(".tmp-"))
        return sorted(k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """The absolute path of the object at `key` (the local profile's links point here)."""
        return self._path(key).resolve()

    def url(self, key: str) -> str:
        return self.path(key).as_uri()

    def link(self, key: str) -> str:
        """What a person opens: the file's URI (on this machine)."""
        return self.url(key)

    def describe(self) -> str:
        return f"directory {self.root}"



def content_type(key: str) -> str | None:
    """The media type a browser needs to show the object (HTML, text, JSON, CSV...)."""
    import mimetypes

    if key.endswith((".md", ".ipynb")):
        return "text/plain; charset=utf-8" if key.endswith(".md") else "application/json"
    kind, _ = mimetypes.guess_type(key)
    if kind and (kind.startswith("text/") or kind.endswith(("+xml", "/json"))):
        return f"{kind}; charset=utf-8"
    return kind
