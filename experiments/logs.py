"""Append-only CSV logs that a killed run leaves whole and a resumed run continues without gaps or duplicates.

Each row is one ``os.write`` of a complete line, so a SIGKILL never leaves half a row. A checkpoint records every
log's byte size; resuming truncates the log back to that size, dropping the rows written after the checkpoint,
which the resumed run then writes again.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

__all__ = ["CsvLog"]


class CsvLog:
    """A CSV file with a fixed header, opened for appending."""

    def __init__(self, path: str | Path, fields: list[str]) -> None:
        self.path = Path(path)
        self.fields = list(fields)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size == 0:
            self.extend([dict(zip(self.fields, self.fields, strict=True))])

    @property
    def size(self) -> int:
        """Bytes written so far (what a checkpoint records)."""
        return os.fstat(self._fd).st_size

    def truncate(self, size: int) -> None:
        """Drop everything after byte ``size`` (the log as it was at a checkpoint)."""
        os.ftruncate(self._fd, size)

    def append(self, row: dict[str, Any]) -> None:
        self.extend([row])

    def extend(self, rows: list[dict[str, Any]]) -> None:
        """Append whole rows in one write."""
        buffer = io.StringIO()
        csv.DictWriter(buffer, fieldnames=self.fields, lineterminator="\n").writerows(rows)
        os.write(self._fd, buffer.getvalue().encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()
