"""Reading LoadGen's detail log (mlperf_log_detail.txt): one `:::MLLOG {json}` record per line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MARKER = ":::MLLOG"


class DetailLogError(ValueError):
    """The detail log is missing or has a record that is not JSON; the message names the file and line."""


@dataclass(frozen=True)
class DetailLog:
    path: Path
    records: tuple[dict[str, Any], ...]

    def value(self, key: str) -> Any:
        """The first record's value for `key` (LoadGen logs each setting once), or None when absent."""
        for record in self.records:
            if record.get("key") == key:
                return record.get("value")
        return None

    def errors(self) -> list[str]:
        """Values of the records LoadGen flagged `is_error`, e.g. an uncommitted-build or seed error."""
        return [str(r.get("value")) for r in self.records if r.get("metadata", {}).get("is_error")]


def read_detail_log(path: Path) -> DetailLog:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DetailLogError(f"{path} does not exist") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith(_MARKER):
            continue
        try:
            record = json.loads(line[len(_MARKER) :])
        except json.JSONDecodeError as exc:
            raise DetailLogError(f"{path}:{number}: record is not valid JSON ({exc.msg})") from None
        if isinstance(record, dict):
            records.append(record)
    return DetailLog(path, tuple(records))
