"""The image kind's collect: read the problem's IDX files from a folder, an http(s) URL prefix or an S3 prefix.

`collect.source` names where the files are; the file names come from the problem definition (for Fashion-MNIST
`train-images-idx3-ubyte.gz` and friends). Reading goes through the same code as table sources: HTTP with
timeouts and retries (`collect.http`), S3 with the store's retries and one message per cause, the sha256 of every
file in the manifest, and `collect.checksums` ({file name: sha256}) refusing a file whose content differs.
Outputs (data/raw/): `data.parquet` (split, label, image bytes; see tasks.kinds.image_table) and `manifest.json`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.core.artifacts import write_raw
from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.data.idx import read_idx
from tasks.data.sources import HttpSettings, download, is_url
from tasks.kinds.image_table import to_table

log = logging.getLogger(__name__)


def file_uri(source: str, name: str) -> str:
    """Where file `name` lives under `source` (a folder, an http(s):// prefix or an s3:// prefix)."""
    if source.startswith(("http://", "https://", "s3://")):
        return source.rstrip("/") + "/" + name
    return str(Path(source) / name)


def fetch_bytes(
    uri: str, s3_endpoint_url: str | None = None, s3_region: str | None = None, http: HttpSettings | None = None
) -> bytes:
    """The bytes behind `uri`; a PipelineError naming it when it cannot be read.

    HTTP(S) retries timeouts, connection errors and 5xx/429 answers with backoff (`collect.http`, as for tables).
    S3 credentials come from the environment or an AWS profile (boto3's usual chain); `s3_endpoint_url`
    (`collect.s3.endpoint_url`, else AWS_ENDPOINT_URL) points at an S3-compatible server.
    """
    if uri.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        from tasks.data.s3_source import S3Settings, explain, make_client

        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            client = make_client(S3Settings(s3_endpoint_url, s3_region))
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as err:
            raise explain(err, f"collect.source: could not read {uri}") from None
    if is_url(uri):
        return download(uri, http or HttpSettings())
    try:
        return Path(uri).read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"collect.source: no file at {uri}") from None
    except OSError as err:
        raise PipelineError(f"collect.source: could not read {uri}: {err}") from None


def read_image_source(
    source: str,
    problem: ImageProblem,
    fetch: Callable[[str], bytes] = fetch_bytes,
    checksums: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every split of `problem` read from `source`: (one table of all images, a manifest entry per file read)."""
    frames, files = [], []
    for split, (images_name, labels_name) in problem.source_files.items():
        arrays: list[np.ndarray] = []
        for name in (images_name, labels_name):
            uri = file_uri(source, name)
            payload = fetch(uri)
            digest = hashlib.sha256(payload).hexdigest()
            expected = (checksums or {}).get(name)
            if expected and expected != digest:
                raise PipelineError(f"collect.checksums: {uri} has sha256 {digest}, expected {expected}")
            array = read_idx(payload, uri)
            files.append(
                {
                    "uri": uri,
                    "sha256": digest,
                    "bytes": len(payload),
                    "split": split,
                    "role": "images" if name == images_name else "labels",
                    "shape": list(array.shape),
                    "dtype": str(array.dtype),
                }
            )
            arrays.append(array)
        frames.append(to_table(arrays[0], arrays[1], split))
    return pd.concat(frames, ignore_index=True), files


def collect(problem: ImageProblem, params: Params) -> None:
    source = params.get("collect.source", str)
    endpoint = params.get("collect.s3.endpoint_url", (str, type(None)), None)
    region = params.get("collect.s3.region", (str, type(None)), None)
    http = HttpSettings.from_params(params)
    checksums = params.get("collect.checksums", (dict, type(None)), None) or {}
    unknown = sorted(set(checksums) - {name for pair in problem.source_files.values() for name in pair})
    if unknown:
        raise PipelineError(f"{params.source}: 'collect.checksums' names files the problem does not read: {unknown}")
    table, files = read_image_source(
        source, problem, lambda uri: fetch_bytes(uri, endpoint, region, http), {k: str(v) for k, v in checksums.items()}
    )
    counts = table.groupby("split").size().to_dict()
    manifest = {
        "problem": problem.name,
        "sources": files,
        "images": {k: int(v) for k, v in counts.items()},
    }
    write_raw(table, manifest)
    log.info("collected %s images from %s", manifest["images"], source)
