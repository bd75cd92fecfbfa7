"""Writing dataset splits as parquet shards, incrementally, in the layout the Hub and `load_dataset` expect.

Files are named `data/<split>-<i>-of-<n>.parquet`. Rows are buffered only up to one row group, so memory
stays bounded whatever the size of the split. The `datasets` features are stored in the parquet schema
metadata (key `huggingface`), as `datasets` itself does, so the features survive even without the card.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def arrow_schema(features: dict[str, Any], arrow_types: dict[str, pa.DataType]) -> pa.Schema:
    """An arrow schema carrying `features` (the `datasets.Features.to_dict()` form) as metadata."""
    metadata = {"huggingface": json.dumps({"info": {"features": features}})}
    return pa.schema([pa.field(name, arrow_types[name]) for name in features], metadata=metadata)


class SplitWriter:
    """Appends rows to one split's parquet shards; call `close()` to finalise the file names.

    A new shard starts when the current one holds `max_shard_bytes` of (uncompressed) text; a row group is
    flushed every `row_group_rows` rows or `row_group_bytes` bytes.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        split: str,
        schema: pa.Schema,
        *,
        max_shard_bytes: int = 256 << 20,
        row_group_rows: int = 10_000,
        row_group_bytes: int = 32 << 20,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.split = split
        self.schema = schema
        self.max_shard_bytes = max_shard_bytes
        self.row_group_rows = row_group_rows
        self.row_group_bytes = row_group_bytes
        self.num_rows = 0
        self.num_bytes = 0  # uncompressed text bytes, reported in the card as num_bytes
        self._columns: dict[str, list] = {name: [] for name in schema.names}
        self._buffer_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._shard_bytes = 0
        self._shard_paths: list[Path] = []
        self.files: list[Path] = []
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def write(self, row: Sequence[Any], nbytes: int) -> None:
        """Append one row (values in schema order); `nbytes` is its approximate size in bytes."""
        for column, value in zip(self._columns.values(), row):
            column.append(value)
        self.num_rows += 1
        self.num_bytes += nbytes
        self._buffer_bytes += nbytes
        if len(next(iter(self._columns.values()))) >= self.row_group_rows or self._buffer_bytes >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        first = next(iter(self._columns.values()))
        if not first:
            return
        if self._writer is None:
            path = self.data_dir / f".{self.split}-{len(self._shard_paths):05d}.parquet.partial"
            self._shard_paths.append(path)
            self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
            self._shard_bytes = 0
        self._writer.write_table(pa.table(self._columns, schema=self.schema))
        self._shard_bytes += self._buffer_bytes
        self._columns = {name: [] for name in self.schema.names}
        self._buffer_bytes = 0
        if self._shard_bytes >= self.max_shard_bytes:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        """Flush, close and rename the shards to `<split>-<i>-of-<n>.parquet`; returns their paths."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._shard_paths:  # an empty split is still a (valid, empty) file
            path = self.data_dir / f".{self.split}-00000.parquet.partial"
            pq.write_table(self.schema.empty_table(), path, compression="zstd")
            self._shard_paths.append(path)
        total = len(self._shard_paths)
        self.files = []
        for i, path in enumerate(self._shard_paths):
            final = self.data_dir / f"{self.split}-{i:05d}-of-{total:05d}.parquet"
            os.replace(path, final)
            self.files.append(final)
        return self.files
