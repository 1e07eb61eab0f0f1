"""A folder the train stage can run in on its own: params for the image problem and the sample's features."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from pipelines.fashion_mnist import PROBLEM
from tasks.kinds.image_source import read_image_source
from tasks.kinds.image_split import fit_image_spec, split_images
from tests.workspaces import export_files

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data/sources/fashion-mnist-sample"


def make_workspace(root: Path, train: dict[str, Any], every_nth_image: int = 1) -> Path:
    """params.yaml (problem: fashion_mnist), its params with `train` merged in, data/features from the sample."""
    export_files(root, ["params.yaml", "pipelines/fashion_mnist/params.yaml"])  # as committed, not as edited
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["problem"] = "fashion_mnist"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    overrides = yaml.safe_load((root / "pipelines/fashion_mnist/params.yaml").read_text())
    overrides["train"].update(train)
    (root / "pipelines/fashion_mnist/params.yaml").write_text(yaml.safe_dump(overrides, sort_keys=False))
    splits = split_images(read_image_source(str(SAMPLE), PROBLEM)[0], 0.1, seed=0)
    splits["train"] = splits["train"].iloc[::every_nth_image]
    features = root / "data/features"
    features.mkdir(parents=True)
    for name, part in splits.items():
        part.drop(columns=["split"]).to_parquet(features / f"{name}.parquet", index=False)
    (features / "spec.json").write_text(json.dumps(fit_image_spec(splits["train"], PROBLEM)))
    return root


def start_training(workspace: Path, **env: str) -> subprocess.Popen[str]:
    """`python -m tasks.training.train` in `workspace`, as DVC would run it, on the CPU."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tasks.training.train"],
        cwd=workspace,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so kill_tree can end it and anything it started
    )


def free_port() -> int:
    """A port free right now; another process may take it before it is bound (callers retry on a clash)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
