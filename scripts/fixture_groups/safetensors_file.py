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
