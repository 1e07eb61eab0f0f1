"""The model store, laid out as TF Serving reads it: `<store>/<model>/<version>/saved_model.pb`.

Two kinds share one interface (`StoreBase`): a local folder (`ModelStore`, the default) and an S3 prefix
(`tasks/store/model_store_s3.py`, chosen by `deploy.store: s3://bucket/prefix`). `tasks/store/location.py` picks one.

`<store>/<model>/production.json` names the version in production and keeps the history of every promotion and
rollback. It is written last, after a version is complete (local: copied under a temporary name, then renamed; S3:
every object uploaded and verified, then its manifest), and replaced in one atomic write, so a reader sees the old
pointer or the new one, never half of either, and never a half-stored version. `shadow.json` names an optional
candidate scored beside production on live traffic. `model.config` mirrors both as a TF Serving model config
(`model_config_list` with `production`/`shadow` version labels) so a real TF Serving serves exactly these versions.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.core.atomic import write_text
from tasks.core.errors import PipelineError
from tasks.core.litter import sweep
from tasks.store.listing import previous_version, version_row
from tasks.store.model_identity import savedmodel_fingerprint

POINTER = "production.json"
SHADOW = "shadow.json"
MODEL_CONFIG = "model.config"
FINGERPRINT = "assets.extra/fingerprint.sha256"
CARD = "assets.extra/model_card.json"
BLESSING = "assets.extra/blessing.json"
REFERENCE_DATA = "assets.extra/training_data.parquet"  # the version's own training split, kept by deploy
DEPLOYMENT = "assets.extra/deployment.json"
HISTORY_KEPT = 100


def content_fingerprint(savedmodel: Path) -> str:
    """Identity of a SavedModel's content: its weights' values by name (tasks/store/model_identity.py), not file bytes,
    so two exports of one trained model share a fingerprint whatever order their checkpoints list variables in."""
    return savedmodel_fingerprint(savedmodel)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_version_files(
    staging: Path, savedmodel: Path, extra_files: dict[str, Path | bytes], fingerprint: str
) -> None:
    """A version's files in `staging`, for either store: the SavedModel, `assets.extra/` (a Path copied, bytes written
    as they are) and the content fingerprint."""
    shutil.copytree(savedmodel, staging, dirs_exist_ok=True)
    extra = staging / "assets.extra"
    extra.mkdir(exist_ok=True)
    for name, content in extra_files.items():
        if isinstance(content, bytes):
            (extra / name).write_bytes(content)
        else:
            shutil.copy2(content, extra / name)
    (staging / FINGERPRINT).write_text(fingerprint + "\n")


class StoreBase:
    """What every store kind provides. Subclasses implement the storage primitives marked below."""

    model_name: str

    # --- storage primitives (per kind) ---
    @property
    def location(self) -> str:
        """Where this model's versions live (a folder path or an s3:// URI), for messages and the model config."""
        raise NotImplementedError

    def versions(self) -> list[int]:
        """Complete versions, ascending. A half-stored version is never listed."""
        raise NotImplementedError

    def read_file(self, name: str) -> bytes | None:
        """The bytes of `<model>/<name>`, or None when it does not exist."""
        raise NotImplementedError

    def write_file(self, name: str, text: str) -> None:
        """Atomically replace `<model>/<name>` (top-level files: the pointer, the shadow, the model config)."""
        raise NotImplementedError

    def add_version(self, savedmodel: Path, extra_files: dict[str, Path | bytes]) -> tuple[int, bool]:
        """Store `savedmodel` as a new version, or return the existing one with identical content: (version, created).

        `extra_files` go into the version's `assets.extra/`: a Path is copied, bytes are written as they are.
        """
        raise NotImplementedError

    def version_dir(self, version: int) -> Path:
        """A local folder holding the version's SavedModel (S3: a verified download in a cache)."""
        raise NotImplementedError

    # --- shared logic ---
    def read_json(self, name: str) -> dict[str, Any] | None:
        raw = self.read_file(name)
        return json.loads(raw) if raw is not None else None

    def fingerprint(self, version: int) -> str | None:
        raw = self.read_file(f"{version}/{FINGERPRINT}")
        return raw.decode().strip() if raw is not None else None

    def find(self, fingerprint: str) -> int | None:
        """The version whose SavedModel has this content fingerprint, if any."""
        return next((v for v in self.versions() if self.fingerprint(v) == fingerprint), None)

    def production(self) -> dict[str, Any] | None:
        return self.read_json(POINTER)

    def shadow(self) -> dict[str, Any] | None:
        shadow = self.read_json(SHADOW)
        return shadow if shadow and shadow.get("version") is not None else None

    def card(self, version: int) -> dict[str, Any] | None:
        return self.read_json(f"{version}/{CARD}")

    def blessing(self, version: int) -> dict[str, Any] | None:
        return self.read_json(f"{version}/{BLESSING}")

    def reference_entry(self, version: int) -> dict[str, str] | None:
        """What monitoring compares production with, named in the pointer itself so that it changes in the same
        atomic write as the version (a rollback writes the old version's back): the version's own training data
        (`REFERENCE_DATA`) and the sha256 its card records for it. None when the card records no training data."""
        expected = (((self.card(version) or {}).get("lineage") or {}).get("data") or {}).get("train.parquet")
        return {"file": f"{version}/{REFERENCE_DATA}", "sha256": str(expected)} if expected else None

    def _require_version(self, version: int) -> None:
        if version not in self.versions():
            raise ValueError(f"{self.location}: no version {version} to promote (versions: {self.versions()})")

    def _refuse_unblessed(self, version: int, unblessed_reason: str | None) -> None:
        blessing = self.blessing(version) or {}
        if not blessing.get("blessed", False) and not (unblessed_reason or "").strip():
            why = "; ".join(blessing.get("failed", blessing.get("reasons", []))) or "no blessing stored with it"
            raise PipelineError(
                f"{self.location}: version {version} is not blessed ({why}); to use it anyway give the reason "
                "(--unblessed-reason '...'), which is recorded in the pointer's history"
            )

    def promote(
        self,
        version: int,
        reason: str,
        *,
        action: str = "promote",
        require_blessing: bool = False,
        unblessed_reason: str | None = None,
    ) -> dict[str, Any]:
        """Point production at `version` in one atomic write; the previous pointer goes into the history.

        With `require_blessing`, a version whose stored blessing is not blessed is refused unless `unblessed_reason`
        says why (recorded). The TF Serving model config is rewritten after the pointer.
        """
        self._require_version(version)
        if require_blessing:
            self._refuse_unblessed(version, unblessed_reason)
        previous = self.production()
        history = list(previous.get("history", [])) if previous else []
        if previous:
            history.append({k: v for k, v in previous.items() if k != "history"})
        pointer: dict[str, Any] = {
            "model": self.model_name,
            "version": version,
            "path": f"{self.location}/{version}",
            "action": action,
            "promoted_at": now_iso(),
            "reason": reason,
            "previous_version": previous["version"] if previous else None,
            "blessed": bool((self.blessing(version) or {}).get("blessed", False)),
        }
        if unblessed_reason:
            pointer["unblessed_reason"] = unblessed_reason
        reference = self.reference_entry(version)
        if reference is not None:
            pointer["reference"] = reference
        pointer["history"] = history[-HISTORY_KEPT:]
        self.write_file(POINTER, json.dumps(pointer, indent=2) + "\n")
        self.write_model_config()
        return pointer

    def rollback_target(self) -> int:
        """The version that was in production before the current one took over (undoing earlier rollbacks too)."""
        pointer = self.production()
        if pointer is None:
            raise PipelineError(f"{self.location}: nothing is in production; there is nothing to roll back")
        below = previous_version(pointer)
        if below is None:
            raise PipelineError(
                f"{self.location}: version {pointer['version']} has no earlier production version to roll back to"
            )
        return below

    def rollback(self, reason: str, *, unblessed_reason: str | None = None) -> dict[str, Any]:
        """Put the previous production version back (recorded as a rollback in the history)."""
        target = self.rollback_target()
        return self.promote(target, reason, action="rollback", require_blessing=True, unblessed_reason=unblessed_reason)

    def set_shadow(self, version: int | None, reason: str = "") -> dict[str, Any]:
        """Score `version` beside production on live traffic (None: stop shadow scoring)."""
        if version is not None and version not in self.versions():
            raise ValueError(f"{self.location}: no version {version} to shadow (versions: {self.versions()})")
        record = {"model": self.model_name, "version": version, "set_at": now_iso(), "reason": reason}
        self.write_file(SHADOW, json.dumps(record, indent=2) + "\n")
        self.write_model_config()
        return record

    def model_config(self) -> str:
        """TF Serving's model config (text protobuf) serving exactly the production (and shadow) versions."""
        pointer, shadow = self.production(), self.shadow()
        labels = {}
        if pointer:
            labels["production"] = int(pointer["version"])
        if shadow and int(shadow["version"]) != labels.get("production"):
            labels["shadow"] = int(shadow["version"])
        versions = "".join(f"        versions: {v}\n" for v in sorted(set(labels.values())))
        label_lines = "".join(
            f'    version_labels {{\n      key: "{k}"\n      value: {v}\n    }}\n' for k, v in labels.items()
        )
        policy = f"    model_version_policy {{\n      specific {{\n{versions}      }}\n    }}\n" if labels else ""
        return (
            "# Written by trainline from production.json (and shadow.json); do not edit by hand.\n"
            "model_config_list {\n  config {\n"
            f'    name: "{self.model_name}"\n    base_path: "{self.location}"\n    model_platform: "tensorflow"\n'
            f"{policy}{label_lines}  }}\n}}\n"
        )

    def write_model_config(self) -> None:
        self.write_file(MODEL_CONFIG, self.model_config())

    def describe(self) -> list[dict[str, Any]]:
        """Every complete version, ascending: its stage of life, blessing, deploy time, training data hash and
        headline metric (tasks/store/listing.py says where each comes from)."""
        pointer, shadow = self.production(), self.shadow()
        return [
            version_row(
                version,
                self.card(version),
                self.blessing(version),
                self.read_json(f"{version}/{DEPLOYMENT}"),
                pointer,
                shadow,
            )
            for version in self.versions()
        ]


class ModelStore(StoreBase):
    """The local folder store (the default)."""

    def __init__(self, root: str | Path, model_name: str) -> None:
        self.model_dir = Path(root) / model_name
        self.model_name = model_name

    @property
    def location(self) -> str:
        return str(self.model_dir.resolve())

    def versions(self) -> list[int]:
        if not self.model_dir.is_dir():
            return []
        return sorted(int(p.name) for p in self.model_dir.iterdir() if p.is_dir() and p.name.isdigit())

    def version_dir(self, version: int) -> Path:
        return self.model_dir / str(version)

    def read_file(self, name: str) -> bytes | None:
        path = self.model_dir / name
        return path.read_bytes() if path.is_file() else None

    def write_file(self, name: str, text: str) -> None:
        write_text(self.model_dir / name, text)

    def add_version(self, savedmodel: Path, extra_files: dict[str, Path | bytes]) -> tuple[int, bool]:
        fingerprint = content_fingerprint(savedmodel)
        existing = self.find(fingerprint)
        if existing is not None:
            return existing, False
        self.model_dir.mkdir(parents=True, exist_ok=True)
        sweep(self.model_dir, ".incoming.")  # what killed writers left (tasks.core.litter)
        staging = Path(tempfile.mkdtemp(prefix=f".incoming.{os.getpid()}.", dir=self.model_dir))
        try:
            write_version_files(staging, savedmodel, extra_files, fingerprint)
            version = max(self.versions(), default=0) + 1
            staging.rename(self.version_dir(version))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version, True

    def clean_incomplete(self, grace: timedelta = timedelta(hours=1)) -> list[str]:
        """Remove staging folders left by interrupted deploys (older than `grace`); returns what was removed."""
        removed = []
        cutoff = datetime.now(UTC).timestamp() - grace.total_seconds()
        if self.model_dir.is_dir():
            for path in self.model_dir.glob(".incoming.*"):
                if path.stat().st_mtime > cutoff:
                    continue
                shutil.rmtree(path, ignore_errors=True)
                removed.append(str(path))
        return removed
