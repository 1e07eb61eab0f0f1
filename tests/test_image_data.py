"""Image collect, validate and featurize on the bundled Fashion-MNIST sample (no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.fashion_mnist import PROBLEM
from tasks.core.errors import PipelineError
from tasks.data.idx import write_idx
from tasks.kinds.image_checks import ImagePolicy, validate_images
from tasks.kinds.image_source import file_uri, read_image_source
from tasks.kinds.image_split import fit_image_spec, split_images
from tasks.kinds.image_table import to_arrays

SAMPLE = Path(__file__).resolve().parent.parent / "data/sources/fashion-mnist-sample"
POLICY = ImagePolicy()


@pytest.fixture(scope="module")
def collected() -> tuple[pd.DataFrame, dict]:
    table, files = read_image_source(str(SAMPLE), PROBLEM)
    return table, {"sources": files}


def failed(checks: list) -> dict[str, str]:
    return {c.name: c.detail for c in checks if not c.success}


def test_collects_both_splits_with_checksums(collected: tuple[pd.DataFrame, dict]) -> None:
    table, manifest = collected
    assert table.groupby("split").size().to_dict() == {"test": 400, "train": 1600}
    assert len(manifest["sources"]) == 4
    assert all(len(f["sha256"]) == 64 and f["dtype"] == "uint8" for f in manifest["sources"])
    images, labels = to_arrays(table, (28, 28))
    assert images.shape == (2000, 28, 28) and set(labels) == set(range(10))


def test_source_prefixes_name_each_file() -> None:
    assert file_uri("s3://bucket/fmnist/", "a.gz") == "s3://bucket/fmnist/a.gz"
    assert file_uri("https://host/data", "a.gz") == "https://host/data/a.gz"
    assert file_uri("/data/fmnist", "a.gz") == "/data/fmnist/a.gz"


def test_a_missing_file_is_named() -> None:
    with pytest.raises(PipelineError, match=r"collect.source: no file at .*nowhere/train-images-idx3-ubyte.gz"):
        read_image_source("/nowhere", PROBLEM)


def test_the_sample_passes_every_check(collected: tuple[pd.DataFrame, dict]) -> None:
    checks = validate_images(*collected, PROBLEM, POLICY)
    assert failed(checks) == {}
    assert len(checks) >= 16


def test_labels_outside_the_class_set_fail_naming_them(collected: tuple[pd.DataFrame, dict]) -> None:
    table = collected[0].copy()
    table.loc[[3, 5], "label"] = [10, 42]
    problems = failed(validate_images(table, collected[1], PROBLEM, POLICY))
    assert "labels outside 0..9: [10, 42]" in problems["train: label set"]


def test_class_imbalance_fails(collected: tuple[pd.DataFrame, dict]) -> None:
    table = collected[0]
    bags = table.index[(table.split == "train") & (table.label == 8)]
    unbalanced = table.drop(bags[:120])  # 40 bags left against 160 of every other class
    problems = failed(validate_images(unbalanced, collected[1], PROBLEM, POLICY))
    assert set(problems) == {"train: class balance"}
    assert "40/160 = 0.25" in problems["train: class balance"]


def test_blank_images_and_wrong_shapes_fail(collected: tuple[pd.DataFrame, dict]) -> None:
    table = collected[0].copy()
    table.loc[table.index[:5], "image"] = [bytes(784)] * 5
    assert "train: blank images" in failed(validate_images(table, collected[1], PROBLEM, POLICY))
    manifest = json.loads(json.dumps(collected[1]))
    manifest["sources"][0]["shape"] = [1600, 32, 32]
    manifest["sources"][1]["dtype"] = "int32"
    problems = failed(validate_images(collected[0], manifest, PROBLEM, POLICY))
    assert {"train: image shape", "train: labels dtype"} <= set(problems)


def test_a_wrong_pixel_count_is_reported_not_crashed(tmp_path: Path) -> None:
    for images_name, labels_name in PROBLEM.source_files.values():
        (tmp_path / images_name).write_bytes(write_idx(np.ones((20, 32, 32), dtype=np.uint8)))
        (tmp_path / labels_name).write_bytes(write_idx(np.arange(20, dtype=np.uint8) % 10))
    table, files = read_image_source(str(tmp_path), PROBLEM)
    problems = failed(validate_images(table, {"sources": files}, PROBLEM, POLICY))
    assert set(problems) == {"train: image shape", "test: image shape"}


def test_featurize_holds_out_a_stratified_validation_part(collected: tuple[pd.DataFrame, dict]) -> None:
    splits = split_images(collected[0], 0.1, seed=0)
    assert {k: len(v) for k, v in splits.items()} == {"train": 1440, "val": 160, "test": 400}
    assert np.bincount(splits["val"].label).tolist() == [16] * 10
    train_bytes, val_bytes = set(splits["train"].image), set(splits["val"].image)
    assert not train_bytes & val_bytes
    spec = fit_image_spec(splits["train"], PROBLEM)
    assert 0.2 < spec["pixel_mean"] < 0.4 and spec["pixel_variance"] > 0
    assert spec["classes"][9] == "Ankle boot" and spec["kind"] == "image"
    assert split_images(collected[0], 0.1, seed=0)["val"].equals(splits["val"])  # seeded
