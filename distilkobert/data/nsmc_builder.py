"""`NsmcBuilder`: the NSMC build as a `datasets.GeneratorBasedBuilder`, for direct use from Python.

    from distilkobert.data.nsmc_builder import NsmcBuilder
    builder = NsmcBuilder(train_file="ratings_train.txt", test_file="ratings_test.txt", validation_size=5000)
    builder.download_and_prepare()
    ds = builder.as_dataset()

datasets 5.x no longer runs loading scripts, so this class is not a Hub loading script; it shares its
parsing and split logic with `build_nsmc`, so both give the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import datasets

from distilkobert.data.nsmc import CITATION, LABEL_NAMES, load_nsmc_splits


@dataclass
class NsmcConfig(datasets.BuilderConfig):
    """Sources and split parameters (None for both files: the official URLs)."""

    train_file: str | None = None
    test_file: str | None = None
    validation_size: int = 5000
    seed: int = 42
    on_bad_rows: str = "error"


class NsmcBuilder(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = NsmcConfig
    BUILDER_CONFIGS = [NsmcConfig(name="default", version=datasets.Version("1.0.0"))]
    DEFAULT_CONFIG_NAME = "default"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="NSMC: Naver sentiment movie corpus (movie reviews, binary sentiment).",
            features=datasets.Features({
                "id": datasets.Value("string"),
                "document": datasets.Value("string"),
                "label": datasets.ClassLabel(names=list(LABEL_NAMES)),
            }),
            homepage="https://github.com/e9t/nsmc",
            license="CC0 1.0",
            citation=CITATION,
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        cfg: NsmcConfig = self.config
        self._rows, self.file_stats = load_nsmc_splits(
            cfg.train_file, cfg.test_file, validation_size=cfg.validation_size, seed=cfg.seed,
            on_bad_rows=cfg.on_bad_rows)
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in self._rows]

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, (row_id, document, label) in enumerate(self._rows[split]):
            yield index, {"id": row_id, "document": document, "label": label}
