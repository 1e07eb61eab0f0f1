"""What `store_cli list` says about each stored version, as pure functions of what the store keeps.

Per version: its stage of life, from the production pointer (`production.json` and its history) and the shadow
pointer; its headline metric, the one its gate decided on (the blessing's `primary_metric`, which is
`evaluate.gate.primary_metric` of the problem's params), read from the card's `metrics` block as the export stage
writes it (`metrics.json` of evaluate: one flat dict of scores per model, the candidate under `model`); when it was
deployed (`assets.extra/deployment.json`, `deployed_at`); and the hash of the data it was trained on (the card's
`lineage.data`, `train.parquet`). No I/O here: `tasks/store/model_store.py` reads the files and calls these.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tasks.objectives.metrics import HEADLINE

PRODUCTION = "production"
SHADOW = "shadow"
PREVIOUS = "previous"  # what `store_cli rollback` would put back
ARCHIVED = "archived"  # was in production once, and is not the rollback target
UNPROMOTED = "unpromoted"  # stored, never in production
STAGES = (PRODUCTION, SHADOW, PREVIOUS, ARCHIVED, UNPROMOTED)
SHORT_HASH = 12
TRAINING_DATA = "train.parquet"


def production_stack(pointer: Mapping[str, Any] | None) -> list[int]:
    """The production versions in order, each rollback undoing the promotion before it; the current one last."""
    stack: list[int] = []
    if not pointer:
        return stack
    for entry in [*pointer.get("history", []), pointer]:
        if entry.get("action") == "rollback" and stack:
            stack.pop()
        else:
            stack.append(int(entry["version"]))
    return stack


def previous_version(pointer: Mapping[str, Any] | None) -> int | None:
    """The version that was in production before the current one took over (undoing earlier rollbacks too)."""
    if not pointer:
        return None
    current = int(pointer["version"])
    below = [v for v in production_stack(pointer)[:-1] if v != current]
    return below[-1] if below else None


def ever_in_production(pointer: Mapping[str, Any] | None) -> set[int]:
    if not pointer:
        return set()
    return {int(entry["version"]) for entry in [*pointer.get("history", []), pointer] if "version" in entry}


def life_stage(version: int, pointer: Mapping[str, Any] | None, shadow: Mapping[str, Any] | None) -> str:
    """production, shadow, previous (the rollback target), archived (once in production) or unpromoted."""
    if pointer and int(pointer["version"]) == version:
        return PRODUCTION
    if shadow and shadow.get("version") is not None and int(shadow["version"]) == version:
        return SHADOW
    if previous_version(pointer) == version:
        return PREVIOUS
    return ARCHIVED if version in ever_in_production(pointer) else UNPROMOTED


def _numbers(scores: Any) -> dict[str, float]:
    if not isinstance(scores, Mapping):
        return {}
    return {k: float(v) for k, v in scores.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def candidate_scores(metrics: Any) -> dict[str, float]:
    """The model's own scores from a card's `metrics` block: `model` (evaluate's metrics.json), else an older
    `candidate` block, else the block itself when it is flat."""
    if not isinstance(metrics, Mapping):
        return {}
    for key in ("model", "candidate"):
        if isinstance(metrics.get(key), Mapping):
            return _numbers(metrics[key])
    return _numbers(metrics)


def headline_name(
    card: Mapping[str, Any], blessing: Mapping[str, Any] | None, scores: Mapping[str, float]
) -> str | None:
    """The metric the version's gate decided on: the blessing's `primary_metric` (the stored blessing, else the
    card's), else the first headline metric of the card's task, else the first known headline score present."""
    for source in (blessing, card.get("blessing")):
        if isinstance(source, Mapping) and isinstance(source.get("primary_metric"), str):
            return str(source["primary_metric"])
    task = card.get("task")
    if isinstance(task, str) and task in HEADLINE:
        return HEADLINE[task][0]
    return next((name for names in HEADLINE.values() for name in names if name in scores), None)


def data_hash(card: Mapping[str, Any]) -> str | None:
    """The training data's sha256 from the card's lineage, shortened (`train.parquet`; else a digest of every
    recorded data file's hash)."""
    data = (card.get("lineage") or {}).get("data") if isinstance(card.get("lineage"), Mapping) else None
    if not isinstance(data, Mapping) or not data:
        return None
    if isinstance(data.get(TRAINING_DATA), str):
        return str(data[TRAINING_DATA])[:SHORT_HASH]
    digest = hashlib.sha256(json.dumps(dict(sorted(data.items())), sort_keys=True).encode()).hexdigest()
    return digest[:SHORT_HASH]


def deployed_at(card: Mapping[str, Any], deployment: Mapping[str, Any] | None) -> str | None:
    """When the version was deployed (deployment.json beside it), else a time the card itself records."""
    for source, key in ((deployment, "deployed_at"), (card, "created_at")):
        if isinstance(source, Mapping) and isinstance(source.get(key), str) and source[key]:
            return str(source[key])
    return None


def version_row(
    version: int,
    card: Mapping[str, Any] | None,
    blessing: Mapping[str, Any] | None,
    deployment: Mapping[str, Any] | None,
    pointer: Mapping[str, Any] | None,
    shadow: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One line of the listing (JSON-ready) for a stored version."""
    card = card or {}
    scores = candidate_scores(card.get("metrics"))
    name = headline_name(card, blessing, scores)
    stage = life_stage(version, pointer, shadow)
    roles = [
        role
        for role, record in ((PRODUCTION, pointer), (SHADOW, shadow))
        if record and record.get("version") is not None and int(record["version"]) == version
    ]
    return {
        "version": version,
        "stage": stage,
        "roles": roles,
        "blessed": bool((blessing or {}).get("blessed", False)),
        "overridden": bool((blessing or {}).get("overridden", False)),
        "created_at": deployed_at(card, deployment),
        "data_sha256": data_hash(card),
        "headline": {"metric": name, "value": scores.get(name)} if name else None,
        "metrics": scores,
        "git": (deployment or {}).get("git"),
    }
