"""The image model goes through the one gate every model goes through: a worse image candidate is refused against a
better production model and production stays; the override with its reason deploys it and says so; a blessing
measured against a production model that has since been replaced is refused by deploy.

Runs train -> evaluate -> export -> deploy in-process for fashion_mnist in a temporary workspace built from the
bundled sample (tests/image_workspace.py), with a tiny CNN on the CPU.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.image_workspace import make_workspace
from tests.workspace_params import set_params

# The one gate for every kind: tests/test_gate_pipeline.py runs it in the default suite on the bike model; this
# repeats its cases on images (and image_workspace blesses and deploys the image model), so it runs in
# `make test-all`.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PRODUCTION = Path("data/model_store/fashion_mnist/production.json")
TINY_CNN = {"filters": [8], "dense_units": 16, "batch_size": 64, "patience": 2}
GATE = {
    # the sample is small and the CNN tiny: the floor and the baselines are not what is under test here
    "evaluate.gate.floors": {"accuracy": {"min": 0.2}},
    "evaluate.gate.require_beating_baselines": False,
    "evaluate.gate.max_worse_than_champion_pct": {"accuracy": 1.0},
    "evaluate.linear_max_images": 200,
}
WORSE = {"train.epochs": 1, "train.learning_rate": 1.0e-6}  # barely trained: near chance


def run(root: Path, stages: tuple[str, ...] = ("train", "evaluate", "export", "deploy"), **changes: Any) -> dict:
    """Set `changes` (dotted keys) over the base params, run the stages in `root`, return what they wrote."""
    import tasks.evaluation.evaluate
    import tasks.store.deploy
    import tasks.training.export
    import tasks.training.train

    modules = {
        "train": tasks.training.train,
        "evaluate": tasks.evaluation.evaluate,
        "export": tasks.training.export,
        "deploy": tasks.store.deploy,
    }
    set_params(root, {"train.epochs": 3, "train.learning_rate": 0.003, "evaluate.gate.override": False, **changes})
    with contextlib.chdir(root):
        before = PRODUCTION.read_bytes() if PRODUCTION.exists() else None
        for stage in stages:
            modules[stage].main()
        read = {"before": before, "after": PRODUCTION.read_bytes() if PRODUCTION.exists() else None}
        for name, path in {
            "metrics": "reports/evaluation/metrics.json",
            "blessing": "data/evaluation/blessing.json",
            "card": "data/export/model_card.json",
            "receipt": "data/deploy/receipt.json",
        }.items():
            read[name] = json.loads(Path(path).read_text()) if Path(path).exists() else None
        read["html"] = Path("reports/evaluation/index.html").read_text()
        return read


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = make_workspace(tmp_path_factory.mktemp("image_gate"), TINY_CNN, every_nth_image=2)
    set_params(root, GATE)
    results: dict[str, Any] = {"champion": run(root)}
    results["worse"] = run(root, **WORSE)
    reason = "test: deploy the barely trained model on purpose"
    results["override"] = run(
        root, **WORSE, **{"evaluate.gate.override": True, "evaluate.gate.override_reason": reason}
    )
    # a blessing measured against production version 2, which is rolled back to version 1 before deploy runs
    results["stale"] = run(
        root,
        ("train", "evaluate", "export"),
        **WORSE,
        **{"train.seed": 7, "evaluate.gate.override": True, "evaluate.gate.override_reason": reason},
    )
    from tasks.store.model_store import ModelStore

    with contextlib.chdir(root):
        ModelStore("data/model_store", "fashion_mnist").promote(1, "test: roll back")
    results["stale"] |= run(root, ("deploy",), **WORSE, **{"train.seed": 7, "evaluate.gate.override": True})
    yield results
    shutil.rmtree(root, ignore_errors=True)


def test_first_image_model_is_blessed_by_the_gate_and_deployed(runs: dict[str, Any]) -> None:
    first = runs["champion"]
    assert first["blessing"]["blessed"] and first["blessing"]["champion"] is None
    assert first["blessing"]["primary_metric"] == "accuracy"
    assert {c["check"] for c in first["blessing"]["checks"]} == {"floor", "baseline", "champion"}
    assert first["receipt"]["deployed"] and first["receipt"]["production_version"] == 1


def test_worse_image_candidate_is_refused_against_the_better_production_model(runs: dict[str, Any]) -> None:
    worse = runs["worse"]
    assert worse["metrics"]["model"]["accuracy"] < worse["metrics"]["champion"]["accuracy"]
    assert not worse["blessing"]["blessed"] and worse["blessing"]["champion"]["version"] == 1
    assert any(
        r.startswith("vs production version 1: accuracy") and "exceeds" in r for r in worse["blessing"]["failed"]
    )
    assert not worse["receipt"]["deployed"] and worse["receipt"]["production_version"] == 1
    assert worse["after"] == worse["before"]
    assert "NOT BLESSED" in worse["html"] and "champion" in worse["html"]  # production beside the candidate


def test_the_champion_is_scored_as_served(runs: dict[str, Any]) -> None:
    champion = runs["worse"]["metrics"]["champion"]["accuracy"]
    assert champion == pytest.approx(runs["champion"]["metrics"]["model"]["accuracy"], abs=1e-6)


def test_override_deploys_the_image_model_and_says_why(runs: dict[str, Any]) -> None:
    over = runs["override"]
    reason = "test: deploy the barely trained model on purpose"
    assert over["blessing"]["overridden"] and over["blessing"]["failed"]
    assert over["receipt"]["deployed"] and over["receipt"]["production_version"] == 2
    assert over["receipt"]["override_reason"] == reason
    assert over["card"]["gate_override"] == {"overridden": True, "reason": reason}
    assert "BLESSED BY OVERRIDE" in over["html"] and reason in over["html"]


def test_a_stale_image_blessing_is_refused(runs: dict[str, Any]) -> None:
    stale = runs["stale"]
    assert stale["blessing"]["blessed"] and stale["blessing"]["champion"]["version"] == 2
    assert not stale["receipt"]["deployed"] and stale["receipt"]["production_version"] == 1
    assert any(
        r.startswith("stale blessing: the candidate was compared with production version 2")
        for r in stale["receipt"]["reasons"]
    )


def test_the_image_card_carries_the_serving_signature(runs: dict[str, Any]) -> None:
    signature = runs["champion"]["card"]["signature"]
    assert signature["kind"] == "image" and signature["objective"] == "multiclass"
    assert signature["inputs"] == [
        {"name": "image", "dtype": "uint8", "shape": [28, 28], "range": {"min": 0, "max": 255}}
    ]
    assert signature["output"]["shape"] == [10] and signature["output"]["classes"][0] == "T-shirt/top"
