"""Which model store a location names: `s3://bucket/prefix` (tasks/store/model_store_s3.py) or a local folder
(tasks/store/model_store.py, the default)."""

from __future__ import annotations

from typing import Any

from tasks.core.errors import PipelineError
from tasks.store.model_store import ModelStore, StoreBase


def open_store(location: str, model_name: str, endpoint_url: str | None = None, region: str | None = None) -> StoreBase:
    """The store `location` names: `s3://bucket/prefix` (endpoint/region: these arguments, else the environment)
    or a local folder."""
    if location.startswith("s3://"):
        from tasks.store.model_store_s3 import S3ModelStore

        return S3ModelStore(location, model_name, endpoint_url=endpoint_url, region=region)
    if "://" in location:
        raise PipelineError(f"deploy.store: {location!r} is neither a local folder nor an s3://bucket/prefix URI")
    return ModelStore(location, model_name)


def store_from_params(params: Any, store: str | None = None, model_name: str | None = None) -> StoreBase:
    """The store `deploy.store` names (or the given override), with `deploy.s3` settings, for `model_name`: by default
    `deploy.model_name`, else the problem's name (as tasks/kinds/selection.py `model_name`)."""
    if model_name is None:
        model_name = params.get("deploy.model_name", (str, type(None)), None) or params.get("problem", str)
    return open_store(
        store or params.get("deploy.store", str),
        model_name,
        endpoint_url=params.get("deploy.s3.endpoint_url", (str, type(None)), None),
        region=params.get("deploy.s3.region", (str, type(None)), None),
    )
