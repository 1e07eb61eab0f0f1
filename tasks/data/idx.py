"""The IDX file format (MNIST, Fashion-MNIST): a big-endian header, then the array's bytes.

Header: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions, then one big-endian uint32 per
dimension. `.gz` payloads are decompressed first. Pure functions of bytes: reading files or URLs is the caller's.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np

from tasks.core.errors import PipelineError

# IDX type codes and the numpy dtypes they stand for (big-endian where it matters).
IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(payload: bytes, name: str = "IDX payload") -> np.ndarray:
    """Decode an IDX payload (gzip-compressed or not) into an array of its declared shape and type.

    Raises a PipelineError naming `name` when the header is malformed or the data is shorter or longer than the
    header declares.
    """
    if payload[:2] == GZIP_MAGIC:
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError) as err:
            raise PipelineError(f"{name}: not a valid gzip file: {err}") from None
    if len(payload) < 4 or payload[:2] != b"\x00\x00":
        raise PipelineError(f"{name}: not an IDX file (expected two zero bytes, a type code and a rank)")
    type_code, rank = payload[2], payload[3]
    if type_code not in IDX_TYPES:
        raise PipelineError(f"{name}: unknown IDX type code 0x{type_code:02x}; expected one of {sorted(IDX_TYPES)}")
    header_end = 4 + 4 * rank
    if rank == 0 or len(payload) < header_end:
        raise PipelineError(f"{name}: IDX header declares rank {rank} but the file is too short for it")
    shape = struct.unpack(f">{rank}I", payload[4:header_end])
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = payload[header_end:]
    if len(body) != expected:
        raise PipelineError(f"{name}: IDX header declares shape {shape} ({expected} bytes) but holds {len(body)} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray, compress: bool = True) -> bytes:
    """Encode `array` as IDX (gzip-compressed unless `compress` is false); the inverse of `read_idx`."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}
    dtype = array.dtype.newbyteorder("=")
    if dtype not in codes:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}")
    header = bytes([0, 0, codes[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(np.dtype(IDX_TYPES[codes[dtype]])).tobytes()
    data = header + body
    # mtime=0: the same array always gives the same bytes (stable checksums for DVC and the manifest).
    return gzip.compress(data, mtime=0) if compress else data
