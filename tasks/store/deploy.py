"""deploy: put the exported SavedModel into the model store and point production at it, only if blessed.

An unblessed model is refused, and so is a blessing measured against a production model that has been replaced
since (see tasks/evaluation/champion.py): the stage says why and leaves production as it was. Re-deploying identical
model
content reuses its version instead of adding a copy. A promoted version carries `holdout.parquet`, the rows it was
blessed on (hashed in its card): the trusted holdout of the next gate (tasks/evaluation/holdout.py).
Outputs: `data/deploy/receipt.json` (the state this deploy left and why) and the same receipt inside the store,
`<deploy.store>/<problem>/deploy_receipt.json` (STORE_RECEIPT): DVC tracks that copy as an output of this stage, so a
fresh clone, or a store deleted or moved, re-runs deploy, while a promote or rollback by hand (tasks/store/cli.py),
which does not write it, does not. The store's copy tells what the store holds: it is rewritten when this deploy put
(or found) the model in production, and left as it was when the deploy was refused (an experiment with a worse
model changes nothing in the store, its copy included); a store without one gets the refusal. The receipt states
the outcome, not the action: "version 1, this model, is in production" whether this run promoted it or found it
there (the log says which), so re-running deploy on an unchanged store rewrites the same bytes.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.core.artifacts import BLESSING, EXPORT_DIR, FEATURES_DIR, MODEL_CARD, RECEIPT, SAVEDMODEL
from tasks.core.atomic import write_text
from tasks.core.errors import PipelineError, run_stage
from tasks.core.lineage import git_revision, sha256_path
from tasks.evaluation.holdout import HOLDOUT_FILE
from tasks.kinds.selection import model_name, select
from tasks.store.location import store_from_params
from tasks.store.model_store import StoreBase, content_fingerprint
from tasks.store.pointer import checked_production

log = logging.getLogger(__name__)
# The store's copy of the receipt, in the folder of the problem's name (dvc.yaml can interpolate only params.yaml:
# `${deploy.store}/${problem}/deploy_receipt.json`), whatever `deploy.model_name` says.
STORE_RECEIPT = "deploy_receipt.json"


def blessing_problems(
    blessing: dict[str, Any],
    current: dict[str, Any] | None,
    card: dict[str, Any],
    candidate_in_production: bool = False,
) -> list[str]:
    """Why `blessing` does not allow deploying this export now; empty when it does.

    The same checks for every model, whatever its kind. Refused: an unblessed candidate; a blessing that does not
    record the production model it was measured against; a blessing measured against a production model that is no
    longer the one in production (the comparison would be stale), unless production already is this very candidate
    (deploy re-run after it promoted it); a blessing of another model than the exported one.
    """
    if not blessing.get("blessed", False):
        return ["the candidate is not blessed", *blessing.get("failed", blessing.get("reasons", []))]
    problems = []
    # every blessing comes from the one gate (tasks/evaluation/gate.py) and records the champion it was measured against
    if "champion" not in blessing:
        return [
            "the blessing does not record which production model it was compared with (not made by the gate); "
            "re-run the evaluate stage"
        ]
    if not candidate_in_production:
        measured = (blessing["champion"] or {}).get("version")
        now = current["version"] if current else None
        if measured != now:
            problems.append(
                f"stale blessing: the candidate was compared with production version {measured}, but production is "
                f"now version {now}; re-run the evaluation (`dvc repro --force --single-item evaluate`, then "
                "`dvc repro`)"
            )
    blessed_model = (blessing.get("candidate") or {}).get("keras_model_sha256")
    exported_model = card.get("lineage", {}).get("keras_model_sha256")
    if blessed_model and exported_model and blessed_model != exported_model:
        problems.append("the blessing is for another model than the exported one; re-run evaluate and export")
    return problems


def holds_this_model(
    store: StoreBase, current: dict[str, Any] | None, export_dir: Path, card: dict[str, Any] | None
) -> bool:
    """Whether production already holds the exported model: same SavedModel weights, or the same trained Keras model
    according to the model cards (two exports of one model can differ in their checkpoint bytes)."""
    if current is None:
        return False
    version = int(current["version"])
    if store.fingerprint(version) == content_fingerprint(export_dir / "savedmodel"):
        return True
    ours = ((card or {}).get("lineage") or {}).get("keras_model_sha256")
    theirs = ((store.card(version) or {}).get("lineage") or {}).get("keras_model_sha256")
    return bool(ours) and ours == theirs


def deployment_facts() -> dict[str, Any]:
    """When and from which git commit this deploy ran (wall-clock facts, stored beside the version)."""
    return {"deployed_at": datetime.now(UTC).isoformat(timespec="seconds"), "git": git_revision()}


def training_data_copy(card: dict[str, Any] | None, features_dir: Path = FEATURES_DIR) -> dict[str, Path]:
    """The training split to keep beside the version (monitoring's reference, tasks/monitoring/reference.py): the
    features' train.parquet when its sha256 is the one the card records, else nothing (the card still names it)."""
    train = features_dir / "train.parquet"
    expected = (((card or {}).get("lineage") or {}).get("data") or {}).get("train.parquet")
    if expected and train.is_file() and sha256_path(train) == expected:
        return {"training_data.parquet": train}
    if expected:
        log.warning("%s does not have the model card's hash: the version is stored without its training data", train)
    return {}


def deploy(
    store: StoreBase, export_dir: Path, blessing: dict[str, Any], card: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Deploy `export_dir` into `store` if `blessing` allows it; return the receipt."""
    current = checked_production(store)
    in_production = holds_this_model(store, current, export_dir, card)
    problems = blessing_problems(blessing, current, card or {}, in_production)
    if problems:
        return {
            "deployed": False,
            "reasons": problems,
            "production_version": current["version"] if current else None,
        }
    if current and in_production:  # a re-export of the production model is not a new version
        reason = f"version {current['version']} holds this exact model and is already in production"
        return {"deployed": True, "reasons": [reason], "production_version": current["version"], "new_version": False}
    holdout = export_dir / HOLDOUT_FILE  # the rows it was blessed on: the next candidates' trusted holdout
    version, created = store.add_version(
        export_dir / "savedmodel",
        {
            **({HOLDOUT_FILE: holdout} if holdout.is_file() else {}),
            "model_card.json": export_dir / "model_card.json",
            # the blessing this deploy was decided on, not whatever file the working directory holds
            "blessing.json": (json.dumps(blessing, indent=2) + "\n").encode(),
            # when and from which commit: kept in the store, not in the byte-reproducible export
            "deployment.json": (json.dumps(deployment_facts(), indent=2) + "\n").encode(),
            # the data it was trained on, which monitoring compares production with (the card holds its hash)
            **training_data_copy(card),
        },
    )
    if current and current["version"] == version:
        reason = f"version {version} holds this exact model and is already in production"
    else:
        store.promote(version, "; ".join(blessing.get("reasons", [])))
        reason = f"promoted version {version}" + ("" if created else " (identical content already stored)")
    return {"deployed": True, "reasons": [reason], "production_version": version, "new_version": created}


def receipt_of(outcome: dict[str, Any]) -> dict[str, Any]:
    """What the receipt keeps of `deploy`'s outcome: the state it left, the same for a promotion and its re-run."""
    if not outcome["deployed"]:
        return {"deployed": False, "reasons": outcome["reasons"], "production_version": outcome["production_version"]}
    version = outcome["production_version"]
    return {
        "deployed": True,
        "reasons": [f"version {version} holds this exact model and is in production"],
        "production_version": version,
    }


def main() -> None:
    selection = select()
    params = selection.params
    # a local folder, or s3://bucket/prefix (tasks/store/model_store_s3.py)
    store = store_from_params(params, model_name=model_name(selection))
    for required in (SAVEDMODEL, MODEL_CARD, BLESSING):
        if not required.exists():
            raise PipelineError(f"{required}: not found; run the evaluate and export stages first")
    blessing = json.loads(BLESSING.read_text())
    card = json.loads(MODEL_CARD.read_text())
    outcome = deploy(store, EXPORT_DIR, blessing, card)
    receipt = {"model": store.model_name, "store": params.get("deploy.store", str), **receipt_of(outcome)}
    if blessing.get("overridden"):
        receipt["override_reason"] = blessing.get("override_reason")
    text = json.dumps(receipt, indent=2) + "\n"
    write_text(RECEIPT, text)
    stamp_store = store_from_params(params, model_name=selection.problem.name)
    if receipt["deployed"] or stamp_store.read_file(STORE_RECEIPT) is None:
        stamp_store.write_file(STORE_RECEIPT, text)
    if receipt["deployed"]:
        log.info("%s; production is version %s", outcome["reasons"][0], receipt["production_version"])
    else:
        log.warning(
            "NOT deployed: %s. Production stays at version %s.",
            "; ".join(receipt["reasons"]),
            receipt["production_version"],
        )


if __name__ == "__main__":
    run_stage("deploy", main)
