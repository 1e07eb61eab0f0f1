"""Fixtures for the model store and serving tests.

The SeaweedFS S3 server (`s3_server`, `aws_env`, `bucket`) is the one the data tests use, imported from
tests/data/conftest.py so there is one definition of it.
"""

from __future__ import annotations

from pathlib import Path

from tests.data.conftest import S3Server, aws_env, bucket, s3_server

__all__ = ["S3Server", "aws_env", "bucket", "fake_export", "s3_server"]


def fake_export(root: Path, weights: bytes, blessed: bool = True) -> Path:
    """A directory shaped like an export (savedmodel/ with variables/, model_card.json); no TensorFlow needed."""
    (root / "savedmodel/variables").mkdir(parents=True)
    (root / "savedmodel/variables/variables.data-00000-of-00001").write_bytes(weights)
    (root / "savedmodel/variables/variables.index").write_bytes(b"index" + weights)
    (root / "savedmodel/saved_model.pb").write_bytes(b"graph" + weights)
    (root / "model_card.json").write_text('{"created_at": "2026-11-27T00:00:00+00:00", "metrics": {"rmse": 50.5}}')
    return root
