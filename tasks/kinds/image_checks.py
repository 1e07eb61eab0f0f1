"""The image kind's validate: shape, dtype, value range, label set and class balance of the collected images.

Checks run on the arrays as collected (`data/raw/data.parquet` plus the manifest's shapes and dtypes); each is a
pure function returning a `Check`. Outputs: `data/validated/data.parquet` (only when every critical check passes)
and `reports/validation/` (`index.html` and `summary.json`, in the same summary shape as the tabular suites'). On
failure the stage exits non-zero naming each failed check; `data/validated/` keeps the last good data, and the
rejected batch and its report are kept in `data/quarantine/<id>/`, as for tables (tasks/checks/quarantine.py).
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipelines.problem import ImageProblem
from tasks.core.artifacts import (
    RAW,
    RAW_MANIFEST,
    VALIDATED,
    VALIDATED_DIR,
    VALIDATION_REPORT_DIR,
    read_json,
    read_parquet,
)
from tasks.core.atomic import atomic_dir
from tasks.core.params import Params
from tasks.core.reproducible import record_run
from tasks.kinds.checks import Check, refuse_batch, summary
from tasks.reports.html import page, table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImagePolicy:
    """Thresholds from params.yaml (`validate.*`)."""

    min_class_ratio: float = 0.5  # rarest class count / commonest class count, per split
    max_blank_share: float = 0.001  # share of images whose pixels are all one value


def check_arrays(manifest: dict[str, Any], problem: ImageProblem) -> list[Check]:
    """The IDX arrays as read: images (n, h, w) uint8, labels (n,) uint8, as many labels as images per split."""
    checks = []
    by_split: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in manifest["sources"]:
        by_split.setdefault(entry["split"], {})[entry["role"]] = entry
    for split, roles in sorted(by_split.items()):
        images, labels = roles["images"], roles["labels"]
        want = [images["shape"][0], *problem.image_shape]
        checks.append(
            Check(
                f"{split}: image shape",
                images["shape"] == want,
                f"{images['uri']}: shape {images['shape']}, expected (n, {problem.image_shape[0]}, "
                f"{problem.image_shape[1]})",
            )
        )
        for role, entry in (("images", images), ("labels", labels)):
            checks.append(
                Check(f"{split}: {role} dtype", entry["dtype"] == "uint8", f"{entry['uri']}: dtype {entry['dtype']}")
            )
        checks.append(
            Check(
                f"{split}: one label per image",
                labels["shape"] == [images["shape"][0]],
                f"{images['shape'][0]} images, labels shaped {labels['shape']}",
            )
        )
    return checks


def check_values(
    images: np.ndarray, labels: np.ndarray, split: str, problem: ImageProblem, policy: ImagePolicy
) -> list[Check]:
    """Pixel range, blank images, label set and class balance of one split."""
    n_classes = len(problem.classes)
    flat = images.reshape(len(images), -1)
    lo, hi = int(flat.min(initial=255)), int(flat.max(initial=0))
    blank = int((flat.min(axis=1) == flat.max(axis=1)).sum()) if len(flat) else 0
    bad_labels = sorted({int(v) for v in labels if not 0 <= v < n_classes})
    counts = np.bincount(labels[(labels >= 0) & (labels < n_classes)], minlength=n_classes)
    missing = [problem.classes[i] for i in np.flatnonzero(counts == 0)]
    ratio = float(counts.min() / counts.max()) if counts.max() > 0 else 0.0
    return [
        Check(f"{split}: not empty", len(images) > 0, f"{len(images)} images"),
        Check(
            f"{split}: pixel range", 0 <= lo <= hi <= 255 and hi > 0, f"pixels span {lo}..{hi}, expected within 0..255"
        ),
        Check(
            f"{split}: blank images",
            blank <= policy.max_blank_share * max(len(images), 1),
            f"{blank} image(s) of one flat value (at most {policy.max_blank_share:.2%} allowed)",
        ),
        Check(
            f"{split}: label set",
            not bad_labels,
            f"labels outside 0..{n_classes - 1}: {bad_labels[:10]}"
            if bad_labels
            else f"labels within 0..{n_classes - 1}",
        ),
        Check(
            f"{split}: every class present",
            not missing,
            f"classes with no image: {missing}" if missing else f"all {n_classes} classes present",
        ),
        Check(
            f"{split}: class balance",
            ratio >= policy.min_class_ratio,
            f"rarest/commonest class = {counts.min()}/{counts.max()} = {ratio:.2f} "
            f"(validate.min_class_ratio {policy.min_class_ratio})",
        ),
    ]


def validate_images(
    table_: pd.DataFrame, manifest: dict[str, Any], problem: ImageProblem, policy: ImagePolicy
) -> list[Check]:
    """Every check over every split; array-level checks first, value checks only where the shapes are right."""
    checks = check_arrays(manifest, problem)
    for split, part in table_.groupby("split", sort=True):
        sizes = part["image"].map(len)
        if (sizes != problem.pixels).any():
            continue  # the shape check above already failed for this split
        pixels = np.frombuffer(b"".join(part["image"].tolist()), dtype=np.uint8).reshape(
            len(part), *problem.image_shape
        )
        checks += check_values(pixels, part["label"].to_numpy(), str(split), problem, policy)
    return checks


def render_report(checks: list[Check], problem: ImageProblem, counts: dict[str, int]) -> str:
    rows = [[c.name, "pass" if c.success else "FAIL", c.detail] for c in checks]
    verdict = all(c.success for c in checks if c.severity == "critical")
    return page(
        f"Validation: {problem.name}",
        [
            ("Verdict", f'<p class="{"pass" if verdict else "fail"}">{"PASSED" if verdict else "FAILED"}</p>'),
            ("Images", table(["split", "images"], sorted(counts.items()))),
            ("Checks", table(["check", "result", "detail"], rows)),
        ],
        subtitle=html.escape(problem.description),
    )


def validate(problem: ImageProblem, params: Params) -> None:
    policy = ImagePolicy(
        min_class_ratio=params.get("validate.min_class_ratio", float, 0.5, minimum=0.0, maximum=1.0),
        max_blank_share=params.get("validate.max_blank_share", float, 0.001, minimum=0.0, maximum=1.0),
    )
    images = read_parquet(RAW)
    manifest = read_json(RAW_MANIFEST)
    checks = validate_images(images, manifest, problem, policy)
    run_time = datetime.now(UTC)
    record_run("validate", {"source": str(RAW)})  # the time of the run: outside the DVC out
    outcome: dict[str, Any] = {"source": str(RAW)}
    outcome |= summary(checks)
    counts = {str(k): int(v) for k, v in images.groupby("split").size().items()}
    with atomic_dir(VALIDATION_REPORT_DIR) as docs:
        (docs / "index.html").write_text(render_report(checks, problem, counts))
        (docs / "summary.json").write_text(json.dumps(outcome, indent=2) + "\n")
    if not outcome["success"]:
        refuse_batch(outcome, checks, run_time)
    with atomic_dir(VALIDATED_DIR) as tmp:
        images.to_parquet(tmp / VALIDATED.name, index=False)
    log.info("%d images passed %d checks", len(images), len(checks))
