"""Recognising weight artifacts: safetensors, GGUF, or any other file.

Why: the registry records each artifact's format and, where the file says it, the number
of parameters, which feeds the 6·N·D compute estimate when a developer has no measured
training compute. Only headers are read (safetensors: an 8-byte length and a JSON table;
GGUF: magic, version and counts), never the tensors, so this is instant on 100 GB files.
`write_safetensors` exists for tests and benchmarks (no torch needed).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from distillguard.errors import DistillguardError

_ST_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
    "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip
_NP_TO_ST = {"float32": "F32", "float16": "F16", "float64": "F64", "int8": "I8", "uint8": "U8",
             "int32": "I32", "int64": "I64"}  # fmt: skip
MAX_ST_HEADER = 100 << 20


@dataclass(frozen=True)
class ArtifactInfo:
    format: str  # "safetensors" | "gguf" | "other"
    size: int
    parameters: int | None  # from the header where the format says it
    tensors: int | None


def _safetensors(path: Path, size: int) -> ArtifactInfo | None:
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return None
        (n,) = struct.unpack("<Q", head)
        if n < 2 or n > min(MAX_ST_HEADER, size - 8):
            return None
        raw = fh.read(n)
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        table = json.loads(raw)
    except ValueError:
        raise DistillguardError(f"{path}: safetensors header is not valid JSON") from None
    params = 0
    tensors = 0
    for name, meta in table.items():
        if name == "__metadata__":
            continue
        try:
            count = 1
            for dim in meta["shape"]:
                count *= int(dim)
            start, end = (int(x) for x in meta["data_offsets"])
            if end - start != count * _ST_DTYPE_BYTES[meta["dtype"]] or end + 8 + n > size:
                raise DistillguardError(f"{path}: tensor {name} does not fit its declared bytes")
        except (KeyError, TypeError, ValueError):
            raise DistillguardError(f"{path}: malformed safetensors entry {name!r}") from None
        params += count
        tensors += 1
    return ArtifactInfo("safetensors", size, params, tensors)


def inspect_artifact(path: Path) -> ArtifactInfo:
    """Format and parameter count of one file (headers only)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DistillguardError(f"{path} not found") from None
    if path.suffix == ".gguf" or _magic(path) == b"GGUF":
        with open(path, "rb") as fh:
            head = fh.read(24)
        if len(head) < 24 or head[:4] != b"GGUF":
            raise DistillguardError(f"{path}: not a GGUF file (bad magic)")
        _, n_tensors, _ = struct.unpack("<IQQ", head[4:24])
        return ArtifactInfo("gguf", size, None, int(n_tensors))
    if path.suffix == ".safetensors" or size >= 10:
        info = _safetensors(path, size)
        if info is not None:
            return info
        if path.suffix == ".safetensors":
            raise DistillguardError(f"{path}: not a valid safetensors file")
    return ArtifactInfo("other", size, None, None)


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4)


def write_safetensors(path: Path, tensors: dict[str, object]) -> None:
    """Write numpy arrays as a safetensors file (little-endian, C order)."""
    import numpy as np

    header: dict[str, object] = {}
    blobs = []
    off = 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr)
        dtype = _NP_TO_ST.get(a.dtype.name)
        if dtype is None:
            raise DistillguardError(f"unsupported dtype {a.dtype} for safetensors")
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": dtype,
            "shape": list(a.shape),
            "data_offsets": [off, off + len(data)],
        }
        blobs.append(data)
        off += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        for b in blobs:
            fh.write(b)
