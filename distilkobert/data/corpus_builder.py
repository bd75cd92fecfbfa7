"""`CorpusBuilder`: the corpus build as a `datasets.GeneratorBasedBuilder`, for direct use from Python.

    from distilkobert.data.corpus_builder import CorpusBuilder
    builder = CorpusBuilder(sources=["corpus/*.gz"], validation_size=1000, cache_dir="cache")
    builder.download_and_prepare()
    ds = builder.as_dataset()

It runs the same streaming pipeline as `build_corpus` (into a folder under the builder's cache) and then
reads the parquet row groups back, so both give the same rows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import datasets
import pyarrow.parquet as pq

from distilkobert.data.corpus import build_corpus


@dataclass
class CorpusConfig(datasets.BuilderConfig):
    """Sources and options of `build_corpus` (see its docstring)."""

    sources: list = field(default_factory=list)
    paragraphs: bool = False
    text_field: str = "text"
    min_chars: int = 5
    split_long: int = 0
    validation_fraction: float | None = None
    validation_size: int | None = None
    seed: int = 42
    licences: list = field(default_factory=list)


class CorpusBuilder(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = CorpusConfig
    BUILDER_CONFIGS = [CorpusConfig(name="default", version=datasets.Version("1.0.0"))]
    DEFAULT_CONFIG_NAME = "default"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Cleaned, deduplicated Korean pretraining corpus (one document per row).",
            features=datasets.Features({"text": datasets.Value("string")}),
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        cfg: CorpusConfig = self.config
        if not cfg.sources:
            raise ValueError("CorpusBuilder needs sources=[...] (files, globs or Hub specs)")
        os.makedirs(self._cache_dir_root, exist_ok=True)
        output = os.path.join(tempfile.mkdtemp(prefix="corpus-build-", dir=self._cache_dir_root), "dataset")
        self.result = build_corpus(
            cfg.sources, output, paragraphs=cfg.paragraphs, text_field=cfg.text_field, min_chars=cfg.min_chars,
            split_long=cfg.split_long, validation_fraction=cfg.validation_fraction,
            validation_size=cfg.validation_size, seed=cfg.seed, licences=cfg.licences, log=lambda _m: None)
        data_dir = os.path.join(output, "data")
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"files": sorted(
                os.path.join(data_dir, f) for f in os.listdir(data_dir) if f.startswith(f"{split}-"))})
            for split in self.result.splits
        ]

    def _generate_examples(self, files: list) -> Iterator[tuple[str, dict[str, Any]]]:
        for file_index, path in enumerate(files):
            parquet = pq.ParquetFile(path)
            for group in range(parquet.num_row_groups):
                texts = parquet.read_row_group(group, columns=["text"]).column("text").to_pylist()
                for row, text in enumerate(texts):
                    yield f"{file_index}-{group}-{row}", {"text": text}
