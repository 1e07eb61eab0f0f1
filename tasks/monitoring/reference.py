"""The reference monitoring compares production with: the production version's own training data, found through its
model card.

The production pointer names the reference (file and sha256), written in the same atomic write as the version at
promotion, so a promotion renews it and a rollback restores the old one (tasks/store/model_store.py
`reference_entry`); a pointer written before that is read through the version's card. The card
(`assets.extra/model_card.json`) records the sha256 of the training split it was trained on
(`lineage.data["train.parquet"]`). Deploy stores that very file beside the version
(`assets.extra/training_data.parquet`, tasks/store/deploy.py); a version deployed before it did is served from the
workspace's `data/features/train.parquet` when, and only when, that file has the card's hash. Anything else stops
with a message naming the version and the hash expected: monitoring never compares against the wrong data.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError
from tasks.store.model_store import StoreBase
from tasks.store.pointer import checked_production

TRAINING_DATA = "training_data.parquet"  # in the version's assets.extra/
CARD_TRAINING_KEY = "train.parquet"  # the card's lineage.data entry of the training split
WORKSPACE_TRAINING_DATA = Path("data/features/train.parquet")


@dataclass
class Reference:
    """The production version, its card and its training data (the columns monitoring compares), in time order."""

    model: str
    version: int
    card: dict[str, Any]
    frame: pd.DataFrame
    found_at: str  # where the training data was read from, for the report

    def __post_init__(self) -> None:
        if self.time_column:  # the drift engine cuts its calibration windows from the reference in arrival order
            self.frame = self.frame.sort_values(self.time_column, kind="stable").reset_index(drop=True)

    @property
    def task(self) -> str:
        return str(self.card.get("task", "regression"))

    @property
    def target(self) -> str:
        return str((self.card.get("output") or {}).get("meaning", ""))

    @property
    def numeric(self) -> list[str]:
        return list((self.card.get("inputs") or {}).get("numeric", []))

    @property
    def categorical(self) -> list[str]:
        return list((self.card.get("inputs") or {}).get("categorical", {}))

    @property
    def time_column(self) -> str | None:
        times = [c for c in self.frame.columns if pd.api.types.is_datetime64_any_dtype(self.frame[c])]
        return times[0] if times else None

    @property
    def test_metrics(self) -> dict[str, float]:
        """The model's figures on its test split, as evaluate measured them (the card's `metrics.model`)."""
        metrics = (self.card.get("metrics") or {}).get("model") or {}
        return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def production_reference(store: StoreBase, workspace: Path = Path()) -> Reference:
    """The production version of `store` with its training data; a PipelineError when there is no production model,
    the card names no training data, or no copy with the card's hash can be found."""
    pointer = checked_production(store)
    if pointer is None:
        raise PipelineError(f"{store.location}: no model in production, so nothing to monitor (run `make run`)")
    version = int(pointer["version"])
    named = pointer.get("reference")
    if isinstance(named, dict) and named.get("file") and named.get("sha256"):
        return pointer_reference(store, version, named)
    return version_reference(store, version, workspace)  # a pointer written before it named its reference


def pointer_reference(store: StoreBase, version: int, named: dict[str, Any]) -> Reference:
    """The reference the production pointer names (written with it at promotion: tasks/store/model_store.py
    `reference_entry`), checked against the sha256 the pointer records."""
    where = f"{store.location}/{named['file']}"
    card = store.card(version)
    if card is None:
        raise PipelineError(f"{store.location}/{version}/assets.extra/model_card.json: not found")
    stored = store.read_file(str(named["file"]))
    if stored is None:
        raise PipelineError(
            f"{where}: the production pointer names it as version {version}'s reference, but it is not in the store; "
            "re-deploy the version from a workspace holding its data, then promote it again"
        )
    if sha256_bytes(stored) != named["sha256"]:
        raise PipelineError(
            f"{where}: its sha256 is not the {str(named['sha256'])[:12]}... the production pointer records: the "
            "reference was changed after promotion"
        )
    return Reference(store.model_name, version, card, pd.read_parquet(io.BytesIO(stored)), named["file"])


def version_reference(store: StoreBase, version: int, workspace: Path = Path()) -> Reference:
    card = store.card(version)
    where = f"{store.location}/{version}/assets.extra/model_card.json"
    if card is None:
        raise PipelineError(f"{where}: not found; version {version} has no model card to find its training data by")
    expected = ((card.get("lineage") or {}).get("data") or {}).get(CARD_TRAINING_KEY)
    if not expected:
        raise PipelineError(
            f"{where}: the card records no hash of its training data (lineage.data.{CARD_TRAINING_KEY})"
        )
    stored = store.read_file(f"{version}/assets.extra/{TRAINING_DATA}")
    if stored is not None:
        if sha256_bytes(stored) != expected:
            raise PipelineError(
                f"{store.location}/{version}/assets.extra/{TRAINING_DATA}: its sha256 is not the card's "
                f"{expected[:12]}...: the stored training data was changed after deploy"
            )
        return Reference(
            store.model_name, version, card, pd.read_parquet(io.BytesIO(stored)), f"{version}/assets.extra"
        )
    local = workspace / WORKSPACE_TRAINING_DATA
    if local.is_file() and sha256_bytes(local.read_bytes()) == expected:
        return Reference(store.model_name, version, card, pd.read_parquet(local), str(WORKSPACE_TRAINING_DATA))
    raise PipelineError(
        f"version {version} of {store.location}: its training data (sha256 {expected[:12]}...) is neither stored with "
        f"it ({TRAINING_DATA}: deployed before deploy kept it) nor in {WORKSPACE_TRAINING_DATA}; re-deploy the version "
        "from a workspace holding its data (`dvc checkout` at the commit that trained it, then `dvc repro deploy`)"
    )


def model_outputs(store: StoreBase, version: int, frame: pd.DataFrame, batch: int = 1024) -> np.ndarray:
    """What `version` answers for the rows of `frame`, through the same signature checks the server applies
    (out-of-range values are kept, as the server's `warn` mode does). Imports TensorFlow."""
    from tasks.serving.model_holder import load_version
    from tasks.serving.request_checks import CheckPolicy, check_request

    loaded = load_version(store, version)
    names = [spec["name"] for spec in loaded.signature["inputs"]]
    policy = CheckPolicy(max_batch=batch, out_of_range="warn")
    outputs = []
    for first in range(0, len(frame), batch):
        part = frame.iloc[first : first + batch]
        payload = {"inputs": {name: json.loads(part[name].to_json(orient="values")) for name in names}}
        outputs.append(loaded.predict(check_request(payload, loaded.signature, policy).arrays))
    return np.concatenate(outputs) if outputs else np.empty((0, 1))


def as_prediction_column(outputs: np.ndarray) -> pd.Series:
    """Model outputs as the log's `prediction` column: a number per row for one output, else the list."""
    flat = outputs.reshape(len(outputs), -1)
    if flat.shape[1] == 1:
        return pd.Series(flat[:, 0].astype(float))
    return pd.Series([row.tolist() for row in flat])
