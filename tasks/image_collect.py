"""collect, for image problems: read the problem's IDX files from a folder, an http(s) URL prefix or an S3 prefix.

`collect.source` names where the files are; the file names come from the problem definition (for Fashion-MNIST
`train-images-idx3-ubyte.gz` and friends). Outputs (data/raw/): `images.parquet` (split, label, image bytes; see
tasks.image_tables) and `manifest.json` (URI, sha256 and size of every file read, images per split).
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.atomic import atomic_dir
from tasks.collect import OUT_DIR
from tasks.errors import PipelineError
from tasks.idx import read_idx
from tasks.image_tables import to_table
from tasks.params import Params

HTTP_TIMEOUT_S = 60
log = logging.getLogger(__name__)


def file_uri(source: str, name: str) -> str:
    """Where file `name` lives under `source` (a folder, an http(s):// prefix or an s3:// prefix)."""
    if source.startswith(("http://", "https://", "s3://")):
        return source.rstrip("/") + "/" + name
    return str(Path(source) / name)


def fetch_bytes(uri: str, s3_endpoint_url: str | None = None, s3_region: str | None = None) -> bytes:
    """The bytes behind `uri`; a PipelineError naming it when it cannot be read.

    S3 credentials come from the environment or an AWS profile (boto3's usual chain); `s3_endpoint_url`
    (`collect.s3.endpoint_url`, else AWS_ENDPOINT_URL) points at an S3-compatible server.
    """
    if uri.startswith("s3://"):
        import boto3
        import botocore.exceptions

        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            client = boto3.client("s3", endpoint_url=s3_endpoint_url, region_name=s3_region)
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
            raise PipelineError(f"collect.source: could not read {uri}: {err}") from None
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_S) as response:
                return response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise PipelineError(f"collect.source: could not download {uri}: {err}") from None
    try:
        return Path(uri).read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"collect.source: no file at {uri}") from None
    except OSError as err:
        raise PipelineError(f"collect.source: could not read {uri}: {err}") from None


def read_image_source(
    source: str, problem: ImageProblem, fetch: Any = fetch_bytes
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every split of `problem` read from `source`: (one table of all images, a manifest entry per file read)."""
    frames, files = [], []
    for split, (images_name, labels_name) in problem.source_files.items():
        arrays: list[np.ndarray] = []
        for name in (images_name, labels_name):
            uri = file_uri(source, name)
            payload = fetch(uri)
            array = read_idx(payload, uri)
            files.append(
                {
                    "uri": uri,
                    "sha256": hashlib.sha256(payload).hexdigest(),
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


def main(params: Params, problem: ImageProblem) -> None:
    source = params.get("collect.source", str)
    endpoint = params.get("collect.s3.endpoint_url", (str, type(None)), None)
    region = params.get("collect.s3.region", (str, type(None)), None)
    table, files = read_image_source(source, problem, lambda uri: fetch_bytes(uri, endpoint, region))
    counts = table.groupby("split").size().to_dict()
    manifest = {
        "problem": problem.name,
        "sources": files,
        "images": {k: int(v) for k, v in counts.items()},
        "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with atomic_dir(OUT_DIR) as tmp:
        table.to_parquet(tmp / "images.parquet", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("collected %s images from %s", manifest["images"], source)
