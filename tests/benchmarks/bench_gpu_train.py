"""GPU training benchmark of the image CNN on the full Fashion-MNIST set: precision, input feeding, utilisation.

Trains the project's CNN (`pipelines/image_cnn.py`, hyper-parameters from `pipelines/fashion_mnist/params.yaml`) on the
60,000 training images (a seeded stratified 10% validation hold-out, as featurize makes it) and scores the 10,000 test
images, once per (precision, input) combination:

- precision: `float32`, `mixed_float16` (what `train.mixed_precision: auto` picks on a GPU), `mixed_bfloat16`;
- input: `host` (numpy arrays in host memory, sliced and copied to the device batch by batch, as the train stage feeds
  a GPU) or `device` (the whole set copied to the accelerator once, batches sliced there). If `host` is as fast as
  `device`, the input pipeline keeps up with the accelerator.

While each run trains, `nvidia-smi` samples GPU utilisation and memory every 200 ms. Figures: images/s (training images
over the median epoch time, the first epoch excluded because it compiles), test accuracy, utilisation (median of
the samples). Run it on a GPU machine, with any Keras 3 backend that is installed there (KERAS_BACKEND):

    KERAS_BACKEND=jax python -m tests.benchmarks.bench_gpu_train --source /path/to/fashion-mnist --epochs 20

A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipelines.image_cnn import build_cnn_classifier
from tasks.data.idx import read_idx

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def load_split(source: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = FILES[split]
    return (
        read_idx((source / images).read_bytes(), images),
        read_idx((source / labels).read_bytes(), labels).astype("int64"),
    )


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): `fraction` of each class held out, chosen with a seeded generator."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held.append(rng.choice(members, size=round(len(members) * fraction), replace=False))
    val = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), val), val


class GpuSampler:
    """Samples `nvidia-smi` utilisation (%) and memory used (MiB) in a background thread."""

    def __init__(self, period_ms: int = 200) -> None:
        self.period_ms = period_ms
        self.samples: list[tuple[float, float]] = []
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        try:
            self._proc = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu,memory.used",
                    "--format=csv,noheader,nounits",
                    f"-lms={self.period_ms}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            return self
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                util, mem = (float(v) for v in line.strip().split(",")[:2])
            except ValueError:
                continue
            self.samples.append((util, mem))

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def summary(self) -> dict[str, float | None]:
        if not self.samples:
            return {"gpu_util_median_pct": None, "gpu_util_mean_pct": None, "gpu_mem_peak_mib": None}
        utils = [s[0] for s in self.samples]
        return {
            "gpu_util_median_pct": statistics.median(utils),
            "gpu_util_mean_pct": round(statistics.fmean(utils), 1),
            "gpu_mem_peak_mib": max(s[1] for s in self.samples),
        }


def train_once(
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    hp: dict[str, Any],
    precision: str,
    feed: str,
    epochs: int,
    batch_size: int,
) -> dict[str, Any]:
    import keras

    keras.utils.set_random_seed(int(hp["seed"]))
    keras.mixed_precision.set_global_policy(precision)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    scaled = x_train.astype("float64") / 255.0
    spec = {
        "image_shape": list(x_train.shape[1:]),
        "classes": list(CLASSES),
        "pixel_mean": float(scaled.mean()),
        "pixel_variance": float(scaled.var()),
    }
    model = build_cnn_classifier(spec, hp)
    if feed == "device":
        x_train, y_train, x_val, y_val = (keras.ops.convert_to_tensor(a) for a in (x_train, y_train, x_val, y_val))

    epoch_times: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            epoch_times.append(time.perf_counter() - self.start)
            logs = logs or {}
            print(
                f"  {precision:>15} {feed:>6} epoch {epoch + 1}/{epochs}: {epoch_times[-1]:.2f}s "
                f"loss {logs.get('loss', float('nan')):.4f} val_accuracy {logs.get('val_accuracy', float('nan')):.4f}",
                flush=True,
            )

    with GpuSampler() as sampler:
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=epochs,
            batch_size=batch_size,
            shuffle=True,
            verbose=0,
            callbacks=[EpochClock()],
        )
    _, test_accuracy = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    steady = epoch_times[1:] or epoch_times
    return {
        "precision": precision,
        "feed": feed,
        "batch_size": batch_size,
        "epochs": epochs,
        "train_images": len(data["train"][1]),
        "first_epoch_s": round(epoch_times[0], 3),
        "median_epoch_s": round(statistics.median(steady), 3),
        "images_per_s": round(len(data["train"][1]) / statistics.median(steady)),
        "best_val_accuracy": round(max(history.history["val_accuracy"]), 4),
        "test_accuracy": round(float(test_accuracy), 4),
        **sampler.summary(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="folder with the four Fashion-MNIST IDX .gz files")
    parser.add_argument("--params", type=Path, default=Path("pipelines/fashion_mnist/params.yaml"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=None, help="default: train.batch_size of the params")
    parser.add_argument("--precision", nargs="+", default=["float32", "mixed_float16", "mixed_bfloat16"])
    parser.add_argument("--feed", nargs="+", default=["host", "device"], choices=["host", "device"])
    parser.add_argument("--no-augmentation", action="store_true", help="drop the augmentation layers (cost check)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here too")
    args = parser.parse_args(argv)

    import keras

    hp = dict(yaml.safe_load(args.params.read_text())["train"])
    batch_size = args.batch_size or int(hp["batch_size"])
    if args.no_augmentation:
        hp["augmentation"] = {}
    x, y = load_split(args.source, "train")
    train_idx, val_idx = stratified_holdout(y, 0.1, seed=0)
    data = {
        "train": (x[train_idx], y[train_idx]),
        "val": (x[val_idx], y[val_idx]),
        "test": load_split(args.source, "test"),
    }
    try:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
    except OSError:
        gpu = ""
    print(f"backend {keras.backend.backend()} keras {keras.__version__}; GPU: {gpu or 'none'}", flush=True)
    results = []
    for precision in args.precision:
        for feed in args.feed:
            results.append(train_once(data, hp, precision, feed, args.epochs, batch_size))
            print(json.dumps(results[-1]), flush=True)
    report = {"backend": keras.backend.backend(), "keras": keras.__version__, "gpu": gpu, "runs": results}
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("\nprecision        feed    img/s   epoch s  test acc  GPU util %  mem MiB")
    for r in results:
        print(
            f"{r['precision']:<16} {r['feed']:<6} {r['images_per_s']:>7} {r['median_epoch_s']:>8} "
            f"{r['test_accuracy']:>9} {r['gpu_util_median_pct']!s:>10} {r['gpu_mem_peak_mib']!s:>8}"
        )


if __name__ == "__main__":
    main()
