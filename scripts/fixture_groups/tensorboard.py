"""TensorBoard event-file bytes from a reference encoder written here by hand (no TensorFlow):
CRC-32C and the protobuf encoding of Event/Summary/Value/HistogramProto, as the spec in
src/report/tensorboard.ts describes. Bytes are stored base64 in params.
"""
import base64
import struct

GROUP = "tensorboard"


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_double(field, v, always=False):
    return b"" if v == 0 and not always else key(field, 1) + struct.pack("<d", v)


def f_float(field, v):
    return key(field, 5) + struct.pack("<f", v)


def f_int64(field, v):
    return b"" if v == 0 else key(field, 0) + varint(v)


def f_bytes(field, b):
    return key(field, 2) + varint(len(b)) + b


def f_packed_doubles(field, vs):
    return b"" if not vs else f_bytes(field, b"".join(struct.pack("<d", v) for v in vs))


def histo(h):
    return (f_double(1, h["min"]) + f_double(2, h["max"]) + f_double(3, h["num"]) + f_double(4, h["sum"])
            + f_double(5, h["sum_squares"]) + f_packed_doubles(6, h["bucket_limit"]) + f_packed_doubles(7, h["bucket"]))


def event(wall_time, step, file_version=None, values=()):
    out = f_double(1, wall_time) + f_int64(2, step)
    if file_version is not None:
        return out + f_bytes(3, file_version.encode())
    summary = b""
    for v in values:
        body = f_bytes(1, v["tag"].encode())
        body += f_float(2, v["simple_value"]) if "simple_value" in v else f_bytes(5, histo(v["histo"]))
        summary += f_bytes(1, body)
    return out + f_bytes(5, summary)


def record(data):
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked(crc32c(header))) + data + struct.pack("<I", masked(crc32c(data)))


def make():
    from fixture_lib import case

    wall = 1700000000.25
    events = [
        {"step": 1, "values": [{"tag": "acc/train", "simple_value": 0.5}, {"tag": "loss/train", "simple_value": 1.25}]},
        {"step": 0, "values": [{"tag": "zero", "simple_value": 0.0}]},
        {"step": 300, "values": [{"tag": "act/conv1", "histo": {
            "min": -1.5, "max": 2.0, "num": 6.0, "sum": 1.5, "sum_squares": 9.25,
            "bucket_limit": [-1.0, 0.0, 1.0, 2.0], "bucket": [1.0, 2.0, 0.0, 3.0]}}]},
        {"step": 2, "values": [{"tag": "empty", "histo": {
            "min": 0.0, "max": 0.0, "num": 0.0, "sum": 0.0, "sum_squares": 0.0, "bucket_limit": [], "bucket": []}}]},
    ]
    data = record(event(wall, 0, file_version="brain.Event:2"))
    for e in events:
        data += record(event(wall, e["step"], values=e["values"]))
    crcs = {s: crc32c(s.encode()) for s in ["", "a", "123456789", "normlab"]}
    return [case("event_file", {"wall_time": wall, "events": events, "file": base64.b64encode(data).decode(), "crc32c": crcs})]
