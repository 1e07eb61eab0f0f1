"""Images as Parquet tables: one row per image, its pixels as raw bytes, its label as an integer.

Every image stage reads and writes this one layout (`split`, `label`, `image`), so DVC tracks a few Parquet files
instead of tens of thousands of small ones, and the shared `data/features/{train,val,test}.parquet` contract holds
for images as it does for tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.core.errors import PipelineError


def to_table(images: np.ndarray, labels: np.ndarray, split: str) -> pd.DataFrame:
    """A frame of `images` (n, h, w) uint8 and `labels` (n,) with one row per image."""
    if len(images) != len(labels):
        raise PipelineError(f"{split}: {len(images)} images but {len(labels)} labels")
    return pd.DataFrame(
        {
            "split": split,
            "label": labels.astype("int64"),
            "image": [row.tobytes() for row in images.reshape(len(images), -1)],
        }
    )


def to_arrays(frame: pd.DataFrame, image_shape: tuple[int, int] | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `to_table`: (images (n, h, w) uint8, labels (n,) int64).

    Raises a PipelineError when an image's byte length does not match `image_shape`.
    """
    height, width = (int(v) for v in image_shape)
    sizes = frame["image"].map(len)
    wrong = sizes != height * width
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        raise PipelineError(
            f"{int(wrong.sum())} image(s) do not hold {height}x{width} pixels, e.g. row {first} "
            f"has {int(sizes.iloc[first])} bytes"
        )
    pixels = np.frombuffer(b"".join(frame["image"].tolist()), dtype=np.uint8)
    return pixels.reshape(len(frame), height, width), frame["label"].to_numpy(dtype="int64")
