"""The IDX reader on the bundled sample and on malformed payloads."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tasks.core.errors import PipelineError
from tasks.data.idx import read_idx, write_idx

SAMPLE = Path(__file__).resolve().parent.parent / "data/sources/fashion-mnist-sample"


def test_reads_the_bundled_sample_as_uint8_images_and_labels() -> None:
    images = read_idx((SAMPLE / "train-images-idx3-ubyte.gz").read_bytes())
    labels = read_idx((SAMPLE / "train-labels-idx1-ubyte.gz").read_bytes())
    assert images.shape == (1600, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1600,) and np.bincount(labels).tolist() == [160] * 10


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "float32", "float64"])
def test_write_then_read_gives_the_same_array(dtype: str) -> None:
    array = (np.arange(2 * 3 * 4).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        array = np.abs(array).astype(dtype)
    for compress in (True, False):
        back = read_idx(write_idx(array, compress=compress))
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)


def test_rejects_a_payload_shorter_than_its_header_declares() -> None:
    payload = gzip.decompress(write_idx(np.zeros((4, 2, 2), dtype=np.uint8)))[:-3]
    with pytest.raises(PipelineError, match=r"x.idx: IDX header declares shape \(4, 2, 2\) \(16 bytes\) but holds 13"):
        read_idx(payload, "x.idx")


def test_rejects_a_file_that_is_not_idx() -> None:
    with pytest.raises(PipelineError, match=r"x\.csv: not an IDX file"):
        read_idx(b"a,b\n1,2\n", "x.csv")
    with pytest.raises(PipelineError, match="unknown IDX type code 0x07"):
        read_idx(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "x")
