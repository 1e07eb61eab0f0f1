"""Fixtures for the model store and serving tests.

The SeaweedFS S3 server (`s3_server`, `aws_env`, `bucket`) is the one the data tests use, imported from
tests/data/conftest.py so there is one definition of it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tasks.serving.server import ServerSettings
from tasks.store.model_store import StoreBase
from tests.data.conftest import S3Server, aws_env, bucket, s3_server
from tests.serving.tiny_models import TinyModel, bike_model, fashion_model
from tests.tiny_export import write_tiny_export

__all__ = ["S3Server", "aws_env", "bucket", "fake_export", "s3_server"]


def fake_export(root: Path, weights: bytes, blessed: bool = True) -> Path:
    """An export (a real tiny SavedModel whose weights `weights` sets, model_card.json with a metric)."""
    return write_tiny_export(root, weights, '{"created_at": "2026-11-27T00:00:00+00:00", "metrics": {"rmse": 50.5}}')


@pytest.fixture(scope="session")
def tiny_bike(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """Two versions of a tiny bike-demand model (imports TensorFlow and trains: about 15 s, once per session)."""
    return bike_model(tmp_path_factory.mktemp("tiny-bike"))


@pytest.fixture(scope="session")
def tiny_fashion(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return fashion_model(tmp_path_factory.mktemp("tiny-fashion"))


def store_versions(store: StoreBase, tiny: TinyModel, blessed: bool = True) -> StoreBase:
    """Put every version of `tiny` into `store` (as deploy does) and promote version 1."""
    for export in tiny.versions.values():
        blessing = json.dumps({"blessed": blessed}).encode()
        store.add_version(
            export / "savedmodel", {"model_card.json": export / "model_card.json", "blessing.json": blessing}
        )
    store.promote(1, "first")
    return store


def fast_settings(tmp_path: Path, **changes: Any) -> ServerSettings:
    """Server settings for tests: port 0, quick polling and log flushes, the log in tmp_path."""
    return replace(ServerSettings(port=0, poll_s=0.1, log_dir=str(tmp_path / "log"), flush_s=0.2), **changes)
