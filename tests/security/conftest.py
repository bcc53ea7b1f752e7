from tests.support.s3 import s3_endpoint  # noqa: F401  (session fixture)
