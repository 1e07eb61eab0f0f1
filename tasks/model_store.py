"""A local model store laid out as TF Serving expects: `<store>/<model>/<version>/saved_model.pb`.

`<store>/<model>/production.json` names the version in production. Promotion and rollback rewrite that one file
with an atomic rename, so a reader sees the old pointer or the new one, never half of either. A version directory
is complete before it gets its number (copied under a temporary name, then renamed).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.atomic import write_text
from tasks.lineage import sha256_path
from tasks.litter import sweep

POINTER = "production.json"
FINGERPRINT = "assets.extra/fingerprint.sha256"


def content_fingerprint(savedmodel: Path) -> str:
    """Identity of a SavedModel's content: the sha256 of its weights (`variables/`).

    `saved_model.pb` is not byte-stable across exports of the same model (TensorFlow names functions afresh),
    while the variables checkpoint is; two exports of one trained model therefore share a fingerprint.
    """
    return sha256_path(savedmodel / "variables")


class ModelStore:
    def __init__(self, root: str | Path, model_name: str) -> None:
        self.model_dir = Path(root) / model_name
        self.model_name = model_name

    def versions(self) -> list[int]:
        if not self.model_dir.is_dir():
            return []
        return sorted(int(p.name) for p in self.model_dir.iterdir() if p.is_dir() and p.name.isdigit())

    def version_dir(self, version: int) -> Path:
        return self.model_dir / str(version)

    def fingerprint(self, version: int) -> str | None:
        path = self.version_dir(version) / FINGERPRINT
        return path.read_text().strip() if path.exists() else None

    def find(self, fingerprint: str) -> int | None:
        """The version whose SavedModel has this content fingerprint, if any."""
        return next((v for v in self.versions() if self.fingerprint(v) == fingerprint), None)

    def add_version(self, savedmodel: Path, extra_files: dict[str, Path | bytes]) -> tuple[int, bool]:
        """Store `savedmodel` as a new version (or return the existing one with identical content).

        Returns (version, created). `extra_files` go into the version's `assets.extra/`: a Path is copied, bytes
        are written as they are.
        """
        fingerprint = content_fingerprint(savedmodel)
        existing = self.find(fingerprint)
        if existing is not None:
            return existing, False
        self.model_dir.mkdir(parents=True, exist_ok=True)
        sweep(self.model_dir, ".incoming.")  # what killed writers left (tasks.litter)
        staging = Path(tempfile.mkdtemp(prefix=f".incoming.{os.getpid()}.", dir=self.model_dir))
        try:
            shutil.copytree(savedmodel, staging, dirs_exist_ok=True)
            extra = staging / "assets.extra"
            extra.mkdir(exist_ok=True)
            for name, content in extra_files.items():
                if isinstance(content, bytes):
                    (extra / name).write_bytes(content)
                else:
                    shutil.copy2(content, extra / name)
            (staging / FINGERPRINT).write_text(fingerprint + "\n")
            version = max(self.versions(), default=0) + 1
            staging.rename(self.version_dir(version))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version, True

    def production(self) -> dict[str, Any] | None:
        path = self.model_dir / POINTER
        return json.loads(path.read_text()) if path.exists() else None

    def promote(self, version: int, reason: str) -> dict[str, Any]:
        """Point production at `version` in one atomic rename; the previous pointer is kept in the history."""
        if version not in self.versions():
            raise ValueError(f"{self.model_dir}: no version {version} to promote")
        previous = self.production()
        pointer = {
            "model": self.model_name,
            "version": version,
            "path": str(self.version_dir(version)),
            "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": reason,
            "previous_version": previous["version"] if previous else None,
        }
        write_text(self.model_dir / POINTER, json.dumps(pointer, indent=2) + "\n")
        return pointer
