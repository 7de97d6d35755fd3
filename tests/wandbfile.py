"""Read the records of an offline W&B run file (``run-<id>.wandb``) back, as ``wandb sync``
would: a LevelDB-style log of protobuf ``Record`` messages in 32 KiB blocks."""

import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32768
HEADER = 7  # checksum (4), length (2), type (1)
FULL, LAST = 1, 4


def records(path: Path):
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a W&B run file"
    pos, chunks = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunks += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(chunks)
            chunks = b""
            yield record


def history(path: Path) -> list[dict[str, str]]:
    """Every ``run.log`` row: flattened key -> JSON text of the value."""
    return [
        {item.key or "/".join(item.nested_key): item.value_json for item in r.history.item}
        for r in records(path)
        if r.WhichOneof("record_type") == "history"
    ]


def run_record(path: Path):
    """The run's ``RunRecord``: config, tags, group."""
    return next(r.run for r in records(path) if r.WhichOneof("record_type") == "run")
