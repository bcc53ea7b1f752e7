"""The data lake in an S3 bucket (MinIO in the compose profile), and the S3 error messages
shared with the IO manager.  Its own module: boto3 and dagster-aws load only where the S3
backend is used, not in every code location of the local profile."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from llm_assets.backends.datalake import DataLakeMixin, check_key, content_type
from llm_assets.core.errors import ConfigError, ServiceUnavailable

PRESIGN_MAX_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may be valid


class S3DataLake(dg.ConfigurableResource, DataLakeMixin):
    """The data lake in an S3 bucket (MinIO in the compose profile).

    Links for people: presigned GET URLs signed for `public_endpoint` (the address a browser
    reaches, e.g. http://localhost:9000, where the step's own `s3.endpoint_url` may be a host
    name of the compose network), valid `presign_seconds` (at most 7 days).  With
    `links_url` set, links are stable instead: `<links_url>/<key>`, served by
    `llm-assets datalake serve-links`, which redirects each click to a fresh presigned URL."""

    s3: S3Resource
    bucket: str
    prefix: str = ""
    presign_seconds: int = PRESIGN_MAX_SECONDS
    public_endpoint: str | None = None
    links_url: str | None = None
    _client = PrivateAttr(default=None)
    _public_client = PrivateAttr(default=None)
    _bucket_ready = PrivateAttr(default=False)

    def describe(self) -> str:
        return f"bucket {self.bucket!r} at {self.s3.endpoint_url or 'AWS S3'}"

    def _full(self, key: str) -> str:
        key = check_key(key)
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
        extra = {"ContentType": kind} if (kind := content_type(key)) else {}
        try:
            self.client().put_object(Bucket=self.bucket, Key=self._full(key), Body=data,
                                     **extra)
        except (ClientError, BotoCoreError) as err:
            raise self._fail("write", key, err) from err
        return check_key(key)

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

    def _signing_client(self):
        """The client presigned URLs are signed with: for the public endpoint when one is set
        (a signature covers the host name, so it must be the host the browser asks)."""
        if not self.public_endpoint:
            return self.client()
        if self._public_client is None:  # signing is local: this client sends nothing
            import boto3
            from botocore.config import Config

            session = boto3.session.Session(profile_name=self.s3.profile_name)
            self._public_client = session.client(
                "s3", endpoint_url=self.public_endpoint, region_name=self.s3.region_name,
                use_ssl=self.s3.use_ssl, verify=self.s3.verify,
                aws_access_key_id=self.s3.aws_access_key_id,
                aws_secret_access_key=self.s3.aws_secret_access_key,
                aws_session_token=self.s3.aws_session_token,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        return self._public_client

    def url(self, key: str) -> str:
        """A presigned GET URL a person can open, on the public endpoint when one is set
        (valid `presign_seconds`, at most 7 days); HTML and text open in the browser."""
        if not 0 < self.presign_seconds <= PRESIGN_MAX_SECONDS:
            raise ConfigError(f"presign_seconds {self.presign_seconds} is outside 1..."
                              f"{PRESIGN_MAX_SECONDS} (S3 signatures last at most 7 days)")
        params = {"Bucket": self.bucket, "Key": self._full(key)}
        if kind := content_type(key):
            params["ResponseContentType"] = kind
        return self._signing_client().generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.presign_seconds)

    def link(self, key: str) -> str:
        """What a person opens from the UI: a stable link through `links_url` when set (it
        never expires), else a presigned URL on the public endpoint."""
        if self.links_url:
            from urllib.parse import quote

            return f"{self.links_url.rstrip('/')}/{quote(check_key(key))}"
        return self.url(key)


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
