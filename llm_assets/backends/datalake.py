"""The data lake: objects by key, one API on the local filesystem and on S3 (MinIO).

Areas: `raw/` source documents, `export/` results for people, `runs/` executed notebooks,
`io/` values passed between processes (IO manager).  Writes are atomic: a failed write
leaves no partial object under the key.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path, PurePosixPath

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from llm_assets.core.errors import ConfigError, ServiceUnavailable


def _check_key(key: str) -> str:
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
        return Path(self.root) / _check_key(key)

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
        return _check_key(key)

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

    def url(self, key: str) -> str:
        return self._path(key).resolve().as_uri()

    def describe(self) -> str:
        return f"directory {self.root}"


class S3DataLake(dg.ConfigurableResource, DataLakeMixin):
    """The data lake in an S3 bucket (MinIO in the compose profile)."""

    s3: S3Resource
    bucket: str
    prefix: str = ""
    presign_seconds: int = 7 * 24 * 3600
    _client = PrivateAttr(default=None)
    _bucket_ready = PrivateAttr(default=False)

    def describe(self) -> str:
        return f"bucket {self.bucket!r} at {self.s3.endpoint_url or 'AWS S3'}"

    def _full(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def _strip(self, full: str) -> str:
        p = self.prefix.strip("/")
        return full[len(p) + 1:] if p and full.startswith(p + "/") else full

    def client(self):
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _fail(self, action: str, key: str, err: Exception) -> ServiceUnavailable:
        return s3_error(action, key, err, self.s3.endpoint_url, self.bucket)

    def ensure_bucket(self) -> None:
        if not self._bucket_ready:
            ensure_bucket(self.client(), self.bucket, self.s3.endpoint_url)
            self._bucket_ready = True

    def put_bytes(self, key: str, data: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        self.ensure_bucket()
        try:
            self.client().put_object(Bucket=self.bucket, Key=self._full(key), Body=data)
        except (ClientError, BotoCoreError) as err:
            raise self._fail("write", key, err) from err
        return _check_key(key)

    def _read(self, key: str, call):
        """`call()` for the object at `key`, with a missing object as FileNotFoundError and
        every other S3 failure named (endpoint, bucket, what to check)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"no object {key!r} in {self.describe()}") from err
            raise self._fail("read", key, err) from err
        except BotoCoreError as err:
            raise self._fail("read", key, err) from err

    def get_bytes(self, key: str) -> bytes:
        return self._read(key, lambda: self.client().get_object(
            Bucket=self.bucket, Key=self._full(key))["Body"].read())

    def size(self, key: str) -> int:
        """Bytes of the object at `key` (a HEAD request: nothing is downloaded)."""
        return self._read(key, lambda: self.client().head_object(
            Bucket=self.bucket, Key=self._full(key))["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        full_prefix = self._full(prefix) if prefix else (self.prefix.strip("/") + "/"
                                                         if self.prefix.strip("/") else "")
        keys: list[str] = []
        try:
            pages = self.client().get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full_prefix)
            for page in pages:
                keys.extend(self._strip(obj["Key"]) for obj in page.get("Contents", []))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "NoSuchBucket":
                return []
            raise self._fail("list", prefix, err) from err
        except BotoCoreError as err:
            raise self._fail("list", prefix, err) from err
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client().delete_object(Bucket=self.bucket, Key=self._full(key))

    def url(self, key: str) -> str:
        """A presigned GET URL a person can open (valid `presign_seconds`)."""
        return self.client().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._full(key)},
            ExpiresIn=self.presign_seconds)


def ensure_bucket(client, bucket: str, endpoint: str | None) -> None:
    """Create `bucket` when it does not exist (the data lake and the IO manager share it);
    any other S3 failure is raised naming endpoint, bucket and what to check."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchBucket", "NotFound"):
            reason = explain_forbidden(client, bucket, err)
            if reason is not None:
                raise s3_error("check bucket", "", reason, endpoint, bucket) from err
            return
        try:
            client.create_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as create_err:
            raise s3_error("create bucket", "", create_err, endpoint, bucket) from create_err
    except BotoCoreError as err:
        raise s3_error("check bucket", "", err, endpoint, bucket) from err


def explain_forbidden(client, bucket: str, err: Exception) -> Exception | None:
    """HEAD answers a bare 403; ask again with a GET, whose reply names the reason
    (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied).  None: the bucket can be
    listed after all (only HEAD is refused), so go on."""
    from botocore.exceptions import ClientError

    if getattr(err, "response", {}).get("Error", {}).get("Code") not in ("403", "Forbidden"):
        return err
    try:
        client.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except ClientError as detailed:
        return detailed
    return None


def s3_error(action: str, key: str, err: Exception, endpoint: str | None,
             bucket: str) -> ServiceUnavailable:
    """An S3 failure as a message naming endpoint, bucket and what to check."""
    code = getattr(err, "response", {}).get("Error", {}).get("Code", "") if hasattr(
        err, "response") else ""
    hint = {
        "InvalidAccessKeyId": "the access key is unknown: check AWS_ACCESS_KEY_ID",
        "SignatureDoesNotMatch": "the secret key is wrong: check AWS_SECRET_ACCESS_KEY",
        "AccessDenied": "the credentials lack permission on this bucket: grant s3:GetObject, "
                        "s3:PutObject, s3:ListBucket (and s3:CreateBucket to create it)",
        "NoSuchBucket": "the bucket does not exist and could not be created",
    }.get(code, "check that the endpoint is reachable (LLM_ASSETS_S3_ENDPOINT) and that "
                "MinIO/S3 is running")
    target = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    return ServiceUnavailable(
        f"data lake: could not {action} {target} at endpoint {endpoint or 'AWS default'}: "
        f"{code or type(err).__name__}: {err}. {hint}."
    )
