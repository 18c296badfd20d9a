"""A safetensors file written by Python for the round-trip test (tensors of several dtypes)."""
import os
import struct
import json

import numpy as np

GROUP = "safetensors"


def write(path, tensors):
    # The safetensors layout written by hand (the `safetensors` package is not in Debian):
    # u64 header length, JSON header, data.
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, arr) in sorted(tensors.items()):
        b = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def read(path):
    # The inverse of write(): name -> numpy array (the bench's PyTorch twins load normlab's files).
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=DTYPES[h["dtype"]]).reshape(h["shape"]).copy()
    return out


def make():
    from fixture_lib import ROOT, case

    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 3, 2, 2)).astype("<f4")
    tensors = {
        "conv.weight": ("F32", w),
        "bn.running_var": ("F64", np.array([1.5, 2.25], dtype="<f8")),
        "bn.num_batches_tracked": ("I64", np.array(7, dtype="<i8")),
        "half": ("F16", np.array([1.0, -2.5, 0.099975586], dtype="<f2")),
    }
    write(os.path.join(ROOT, "test", "fixtures", "python_written.safetensors"), tensors)
    return [case("python_written", {"file": "python_written.safetensors"}, conv_weight=w)]
