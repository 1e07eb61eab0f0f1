"""Benchmark: samples/s of the train stage against a plain Keras script training the same model on the same data.

    .venv/bin/python -m tests.benchmarks.bench_train --source /path/to/fashion-mnist --train-images 12000

The stage side runs `python -m tasks.training.train` in a scratch workspace (its tf.data pipeline, EarlyStopping,
per-epoch
resume checkpoints, CSVLogger, TensorBoard, strategy scope) and reads the samples/s it records in train.json. The
plain side is one process: the same CNN from pipelines.image_cnn, `model.fit` on NumPy arrays with the same batch
size, epochs and validation data, timed around `fit` alone. Both exclude interpreter start-up and TensorFlow's
import. Runs alternate (plain, stage, plain, stage, ...) so that load from other processes hits both alike; the
ratio is median(stage) / median(plain). Target: >= 0.95. Writes .bench/bench_train.json. Not a test: no assertion
on time; tests/benchmarks/test_bench_train.py only checks that it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data/sources/fashion-mnist-sample"

PLAIN_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import keras, pandas as pd
    from pipelines.image_cnn import build_cnn_classifier
    from tasks.kinds.image_table import to_arrays

    workspace, hp = sys.argv[1], json.loads(sys.argv[2])
    spec = json.load(open(f"{workspace}/data/features/spec.json"))
    x, y = to_arrays(pd.read_parquet(f"{workspace}/data/features/train.parquet"), spec["image_shape"])
    vx, vy = to_arrays(pd.read_parquet(f"{workspace}/data/features/val.parquet"), spec["image_shape"])
    keras.utils.set_random_seed(hp["seed"])
    model = build_cnn_classifier(spec, hp)
    started = time.perf_counter()
    model.fit(x, y, batch_size=hp["batch_size"], epochs=hp["epochs"], validation_data=(vx, vy), verbose=0)
    seconds = time.perf_counter() - started
    print(json.dumps({"samples_per_second": len(x) * hp["epochs"] / seconds, "seconds": seconds}))
    """
)


def prepare_workspace(root: Path, source: str, train_images: int, hp: dict) -> None:
    """Params (image problem, `hp`) and features made by the pipeline's own collect/featurize functions."""
    from pipelines.fashion_mnist import PROBLEM
    from tasks.kinds.image_source import read_image_source
    from tasks.kinds.image_split import fit_image_spec, split_images

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["problem"] = "fashion_mnist"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "pipelines/fashion_mnist").mkdir(parents=True)
    overrides = yaml.safe_load((REPO / "pipelines/fashion_mnist/params.yaml").read_text())
    overrides["train"].update(hp)
    (root / "pipelines/fashion_mnist/params.yaml").write_text(yaml.safe_dump(overrides))
    splits = split_images(read_image_source(source, PROBLEM)[0], 0.1, seed=0)
    splits["train"] = splits["train"].iloc[:train_images]
    (root / "data/features").mkdir(parents=True)
    for name, part in splits.items():
        part.drop(columns=["split"]).to_parquet(root / f"data/features/{name}.parquet", index=False)
    (root / "data/features/spec.json").write_text(json.dumps(fit_image_spec(splits["train"], PROBLEM)))


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_plain(workspace: Path, hp: dict) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_SCRIPT, str(workspace), json.dumps(hp)],
        capture_output=True, text=True, check=True, env=environment(), cwd=workspace,
    )  # fmt: skip
    return float(json.loads(done.stdout.strip().splitlines()[-1])["samples_per_second"])


def run_stage(workspace: Path) -> float:
    subprocess.run(
        [sys.executable, "-m", "tasks.training.train"],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
        cwd=workspace,
    )
    return float(json.loads((workspace / "data/runs/train.json").read_text())["samples_per_second"])  # outside DVC


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(SAMPLE), help="folder (or URL/S3 prefix) with the four IDX files")
    parser.add_argument("--train-images", type=int, default=12_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / ".bench/bench_train.json"))
    args = parser.parse_args(argv)

    hp = {"seed": 42, "epochs": args.epochs, "batch_size": args.batch_size, "patience": 100}
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch)
        prepare_workspace(workspace, args.source, args.train_images, hp)
        full_hp = {**yaml.safe_load((workspace / "pipelines/fashion_mnist/params.yaml").read_text())["train"], **hp}
        plain, stage = [], []
        for _ in range(args.repeats):
            plain.append(run_plain(workspace, full_hp))
            stage.append(run_stage(workspace))
            print(f"plain {plain[-1]:.0f} samples/s, stage {stage[-1]:.0f} samples/s", flush=True)
        train_rows = len(__import__("pandas").read_parquet(workspace / "data/features/train.parquet"))
    result = {
        "source": args.source,
        "train_images": train_rows,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "plain_samples_per_second": plain,
        "stage_samples_per_second": stage,
        "ratio": statistics.median(stage) / statistics.median(plain),
        "target": 0.95,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"ratio stage/plain = {result['ratio']:.3f} (target >= 0.95); written to {args.out}")
    return result


if __name__ == "__main__":
    main()
