"""The model store on S3 (`deploy.store: s3://bucket/prefix`), in TF Serving's layout: `<prefix>/<model>/<version>/`.

A version is complete only when its manifest (`<version>/assets.extra/manifest.json`: every file's sha256 and size)
exists, and the manifest is written only after every object was uploaded and verified: the server checks each body
against its Content-MD5, and a HEAD then compares the stored ETag (the MD5 of a single-part upload) and the sha256
kept in the object's metadata with the local file. An upload interrupted at any point (even `kill -9`) leaves a
version without a manifest: it is never listed, never promoted, and `clean_incomplete()` (store command `clean`)
removes it. Version numbers count the incomplete ones too, so a new upload never lands in a half-written folder.
The `production.json` pointer is written after that, in one PUT (atomic on S3).

Endpoint and region: the arguments (params `deploy.s3`), else the environment as boto3 reads it
(`AWS_ENDPOINT_URL`, `AWS_REGION`). Credentials only from boto3's chain (environment, `AWS_PROFILE`, roles).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.core.errors import PipelineError
from tasks.data.s3_source import S3Location, S3Settings, explain, make_client
from tasks.store.model_store import StoreBase, content_fingerprint, write_version_files

MANIFEST = "assets.extra/manifest.json"
CACHE_ENV = "TRAINLINE_MODEL_CACHE"
log = logging.getLogger(__name__)
# An incomplete version younger than this may still be uploading: `clean` leaves it unless told otherwise.
INCOMPLETE_GRACE = timedelta(hours=1)


def file_digests(path: Path) -> tuple[str, str]:
    """(md5 hex, sha256 hex) of a file, read once."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


class S3ModelStore(StoreBase):
    def __init__(self, uri: str, model_name: str, endpoint_url: str | None = None, region: str | None = None) -> None:
        root = S3Location.parse(uri.rstrip("/") + "/")
        self.bucket = root.bucket
        self.model_name = model_name
        self.prefix = f"{root.prefix}{model_name}/"
        self.client = make_client(S3Settings(endpoint_url, region))
        cache = os.environ.get(CACHE_ENV) or str(Path(tempfile.gettempdir()) / "trainline-model-cache")
        self.cache_dir = Path(cache) / self.bucket / self.prefix

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.rstrip('/')}"

    def _fail(self, err: Exception, what: str) -> PipelineError:
        message = str(explain(err, what)).replace("check collect.s3.endpoint_url", "check deploy.s3.endpoint_url")
        return PipelineError(message)

    def _list(self, prefix: str = "") -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            return [item for page in pages for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as err:
            raise self._fail(err, f"model store {self.location}") from None

    def _scan(self) -> tuple[set[int], set[int], dict[int, datetime]]:
        """(every version folder seen, complete versions, newest object time per version)."""
        seen: set[int] = set()
        complete: set[int] = set()
        newest: dict[int, datetime] = {}
        for item in self._list():
            match = re.fullmatch(r"(\d+)/(.+)", item["Key"][len(self.prefix) :])
            if not match:
                continue
            version = int(match.group(1))
            seen.add(version)
            newest[version] = max(newest.get(version, item["LastModified"]), item["LastModified"])
            if match.group(2) == MANIFEST:
                complete.add(version)
        return seen, complete, newest

    def versions(self) -> list[int]:
        return sorted(self._scan()[1])

    def read_file(self, name: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read())
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in ("NoSuchKey", "404"):
                return None
            raise self._fail(err, f"{self.location}/{name}") from None
        except BotoCoreError as err:
            raise self._fail(err, f"{self.location}/{name}") from None

    def write_file(self, name: str, text: str) -> None:
        self._put(name, text.encode())

    def _put(self, name: str, body: bytes, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        md5 = hashlib.md5(body, usedforsecurity=False)
        try:
            return dict(
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.prefix + name,
                    Body=body,
                    ContentMD5=base64.b64encode(md5.digest()).decode(),
                    Metadata=metadata or {},
                )
            )
        except (BotoCoreError, ClientError) as err:
            raise self._fail(err, f"{self.location}/{name}") from None

    def upload_verified(self, name: str, path: Path) -> dict[str, Any]:
        """Upload one file and check the stored object against it; returns its manifest entry."""
        from botocore.exceptions import BotoCoreError, ClientError

        md5, sha = file_digests(path)
        self._put(name, path.read_bytes(), {"sha256": sha})
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except (BotoCoreError, ClientError) as err:
            raise self._fail(err, f"{self.location}/{name}") from None
        etag = str(head.get("ETag", "")).strip('"')
        stored_sha = (head.get("Metadata") or {}).get("sha256")
        if etag != md5 or stored_sha != sha or int(head["ContentLength"]) != path.stat().st_size:
            raise PipelineError(
                f"{self.location}/{name}: the stored object does not match {path} (ETag {etag} vs MD5 {md5}, "
                f"sha256 {stored_sha} vs {sha}); the version stays incomplete and never becomes production"
            )
        return {"sha256": sha, "size": path.stat().st_size}

    def add_version(self, savedmodel: Path, extra_files: dict[str, Path | bytes]) -> tuple[int, bool]:
        fingerprint = content_fingerprint(savedmodel)
        existing = self.find(fingerprint)
        if existing is not None:
            return existing, False
        seen, _, _ = self._scan()
        version = max(seen, default=0) + 1
        with tempfile.TemporaryDirectory(prefix="trainline-upload-") as tmp:
            staging = Path(tmp) / "version"
            write_version_files(staging, savedmodel, extra_files, fingerprint)
            manifest = {
                "version": version,
                "files": {
                    rel: self.upload_verified(f"{version}/{rel}", staging / rel)
                    for rel in sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
                },
            }
        self._put(f"{version}/{MANIFEST}", (json.dumps(manifest, indent=2) + "\n").encode())
        return version, True

    def clean_incomplete(self, grace: timedelta = INCOMPLETE_GRACE) -> list[str]:
        """Delete the objects of versions without a manifest whose newest object is older than `grace`."""
        seen, complete, newest = self._scan()
        cutoff = datetime.now(UTC) - grace
        removed = []
        for version in sorted(seen - complete):
            if newest[version] > cutoff:
                continue
            keys = [item["Key"] for item in self._list(f"{version}/")]
            for start in range(0, len(keys), 1000):
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            removed.append(f"{self.location}/{version}/")
        return removed

    def version_dir(self, version: int) -> Path:
        """Download the version into the local cache, checking every file against its manifest.

        A cached copy is used only while its manifest is the store's current one: a bucket recreated or a version
        replaced under the same number (another store at the same address) is downloaded again, never served stale.
        """
        target = self.cache_dir / str(version)
        manifest = self.read_json(f"{version}/{MANIFEST}")
        if manifest is None:
            raise PipelineError(f"{self.location}/{version}: not a complete version (no {MANIFEST})")
        cached = target / MANIFEST
        if cached.is_file():
            if json.loads(cached.read_text()) == manifest:
                return target
            log.warning("%s: the cached copy of version %s is not the store's; downloading it again", target, version)
            shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=target.parent))
        try:
            for rel, entry in manifest["files"].items():
                body = self.read_file(f"{version}/{rel}")
                if body is None or hashlib.sha256(body).hexdigest() != entry["sha256"]:
                    raise PipelineError(f"{self.location}/{version}/{rel}: missing or does not match its manifest")
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                (staging / rel).write_bytes(body)
            (staging / MANIFEST).write_text(json.dumps(manifest))
            try:
                staging.rename(target)
            except OSError:  # another process downloaded it meanwhile
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target
