"""IO managers of the two profiles: values passed between processes.

- local:   dagster's FilesystemIOManager under <home>/datalake/io
- compose: dagster-aws S3PickleIOManager over S3Resource(endpoint_url=MinIO), with S3
           failures turned into messages naming endpoint, bucket and what to check, and the
           bucket created when missing.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_aws.s3 import S3PickleIOManager


class DataLakeS3IOManager(S3PickleIOManager):
    """S3PickleIOManager with clear errors and bucket creation."""

    def _wrap(self, action: str, context, call):
        from botocore.exceptions import BotoCoreError, ClientError

        from llm_assets.backends.s3_datalake import s3_error

        try:
            return call()
        except (ClientError, BotoCoreError) as err:
            key = "/".join(context.asset_key.path) if context.has_asset_key else ""
            raise s3_error(action, f"{self.s3_prefix}/{key}", err,
                           self.s3_resource.endpoint_url, self.s3_bucket) from err

    def _ensure_bucket(self, context) -> None:
        from llm_assets.backends.s3_datalake import ensure_bucket

        ensure_bucket(self.s3_resource.get_client(), self.s3_bucket,
                      self.s3_resource.endpoint_url)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._ensure_bucket(context)
        return self._wrap("write result", context,
                          lambda: self.inner_io_manager().handle_output(context, obj))

    def load_input(self, context: dg.InputContext) -> Any:
        return self._wrap("read result", context,
                          lambda: self.inner_io_manager().load_input(context))
