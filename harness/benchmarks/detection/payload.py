"""MLPerf's detection accuracy-log payload: float32 groups of 7 per detection.

(qsl index, ymin, xmin, ymax, xmax, score, label), boxes normalised to [0, 1]; an image without detections
is an empty payload (tools/accuracy-coco.py and accuracy-openimages.py read it this way).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.benchmarks.detection.postprocess import Detections

FIELDS = 7


@dataclass(frozen=True)
class LogEntry:
    """One response of mlperf_log_accuracy.json."""

    qsl_idx: int
    data: bytes


def pack(sample_index: int, detections: Detections) -> bytes:
    """The LoadGen response payload for one image."""
    count = len(detections.scores)
    rows = np.empty((count, FIELDS), dtype=np.float32)
    rows[:, 0] = sample_index
    rows[:, 1] = detections.boxes[:, 1]
    rows[:, 2] = detections.boxes[:, 0]
    rows[:, 3] = detections.boxes[:, 3]
    rows[:, 4] = detections.boxes[:, 2]
    rows[:, 5] = detections.scores
    rows[:, 6] = detections.labels
    return rows.tobytes()


def unpack(data: bytes) -> np.ndarray:
    """(n, 7) float32 rows of a payload; an empty payload is zero rows."""
    values = np.frombuffer(data, dtype=np.float32)
    if values.size % FIELDS:
        raise ValueError(f"detection payload of {values.size} float32 values is not a multiple of {FIELDS}")
    return values.reshape(-1, FIELDS)


def read_accuracy_log(path: Path) -> list[LogEntry]:
    """The responses of a LoadGen accuracy log, in file order."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {path} as LoadGen's mlperf_log_accuracy.json: {error}") from error
    if not isinstance(entries, list):
        raise ValueError(f"{path} is not a JSON list of LoadGen responses")
    return [LogEntry(qsl_idx=int(entry["qsl_idx"]), data=bytes.fromhex(entry["data"])) for entry in entries]


def write_accuracy_log(path: Path, entries: list[LogEntry]) -> None:
    """Write responses in LoadGen's layout (seq_id, qsl_idx, hex data), e.g. for scoring without LoadGen."""
    payload = [
        {"seq_id": seq, "qsl_idx": entry.qsl_idx, "data": entry.data.hex().upper()} for seq, entry in enumerate(entries)
    ]
    path.write_text(json.dumps(payload, indent=0))
