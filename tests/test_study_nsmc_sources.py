"""The study reads NSMC as the rest of the project does: a dataset folder or Hub repo built by `distilkobert dataset
nsmc`, or the official-format files; the same reviews give the same study splits whichever form they come in, and
the splits stage is keyed by their content, not by a path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distilkobert.data.nsmc import build_nsmc, parse_nsmc_file
from distilkobert.data.sources import SourceError
from distilkobert.study import stages
from distilkobert.study.config import StudyConfig, StudyConfigError
from distilkobert.study.data import load_nsmc_splits

from helpers.tiny_e5 import build_tiny_e5_teacher

REPO = Path(__file__).resolve().parent.parent
REVIEWS = REPO / "demo_data" / "reviews.tsv"
TEST_REVIEWS = REPO / "demo_data" / "reviews_test.tsv"
SIZES = {"train_size": 200, "validation_size": 40, "test_size": 60}


def _same_splits(a, b) -> None:
    assert a.train == b.train and a.validation == b.validation and a.test == b.test
    assert sorted(a.train_pool) == sorted(b.train_pool)


@pytest.fixture(scope="module")
def dataset_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nsmc-datasets")
    build_nsmc(root / "no-test", REVIEWS, None, validation_size=50)
    build_nsmc(root / "with-test", REVIEWS, TEST_REVIEWS, validation_size=50)
    return {"no-test": root / "no-test", "with-test": root / "with-test"}


def test_a_dataset_built_from_the_file_gives_the_same_splits_as_the_file(dataset_dirs):
    from_file = load_nsmc_splits(REVIEWS, **SIZES)
    from_dataset = load_nsmc_splits(dataset_dirs["no-test"], **SIZES)
    _same_splits(from_file, from_dataset)
    assert from_dataset.report["dataset_splits"] == {"train": 2950, "validation": 50}
    assert set(from_dataset.identity) == {"dataset"} and from_dataset.identity["dataset"].startswith("folder:")
    # with the official test file: the dataset's test split is the test pool, as --test-file is for the file
    with_test_file = load_nsmc_splits(REVIEWS, test_file=TEST_REVIEWS, **SIZES)
    with_test_split = load_nsmc_splits(dataset_dirs["with-test"], **SIZES)
    _same_splits(with_test_file, with_test_split)
    test_rows, _ = parse_nsmc_file(TEST_REVIEWS)
    whole = load_nsmc_splits(dataset_dirs["with-test"], train_size=None, validation_size=None, test_size=None)
    assert sorted(whole.test) == sorted(test_rows) and len(with_test_split.test) == 60


def test_a_hub_dataset_repo_gives_the_same_splits_pinned_to_its_commit(dataset_dirs, hub_api, unique_repo_id):
    repo = unique_repo_id("nsmc")
    hub_api.create_repo(repo, repo_type="dataset")
    commit = hub_api.upload_folder(folder_path=dataset_dirs["no-test"], repo_id=repo, repo_type="dataset")
    from_hub = load_nsmc_splits(repo, **SIZES)
    _same_splits(load_nsmc_splits(REVIEWS, **SIZES), from_hub)
    assert from_hub.identity == {"dataset": f"hub:{repo}@{commit.oid}"}
    assert from_hub.report["resolved_revision"] == commit.oid


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    texts = [line.split("\t")[1] for line in REVIEWS.read_text(encoding="utf-8").splitlines()[1:]]
    return build_tiny_e5_teacher(texts, tmp_path_factory.mktemp("t") / "teacher", vocab_size=700, layers=3)


def test_the_splits_stage_is_keyed_by_content_not_by_path(dataset_dirs, teacher, tmp_path, capsys):
    texts = [line.split("\t")[1] for line in REVIEWS.read_text(encoding="utf-8").splitlines()[1:]]
    unlabelled = tmp_path / "unlabelled.txt"
    unlabelled.write_text("\n".join(texts[:50]) + "\n", encoding="utf-8")
    copy = tmp_path / "copy-of-the-dataset"
    shutil.copytree(dataset_dirs["no-test"], copy)

    def splits_from(nsmc: Path) -> str:
        cfg = StudyConfig(mode="quick", nsmc=str(nsmc), unlabelled_file=str(unlabelled), teacher=str(teacher),
                          output_dir=str(tmp_path / "out"), unlabelled_size=20, student_layers=[0, 1], **SIZES)
        stages.stage_splits(cfg, tmp_path / "out")
        return capsys.readouterr().out

    assert "reusing" not in splits_from(dataset_dirs["no-test"])
    assert "reusing the completed stage" in splits_from(copy)  # the same rows under another path
    table = pq.read_table(copy / "data" / "train-00000-of-00001.parquet")
    labels = table.column("label").to_pylist()
    labels[0] = 1 - labels[0]
    pq.write_table(table.set_column(table.schema.get_field_index("label"), table.schema.field("label"),
                                    pa.array(labels, table.schema.field("label").type)),
                   copy / "data" / "train-00000-of-00001.parquet")
    assert "changed since the last run, recomputing" in splits_from(copy)  # one label changed


def _write_dataset(folder: Path, columns: dict[str, list], split: str = "train") -> Path:
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table(columns), folder / "data" / f"{split}-00000-of-00001.parquet")
    return folder


@pytest.mark.parametrize("columns, message", [
    ({"id": ["1", "2"], "document": ["좋다", "별로"], "label": [1, 3]},
     "split 'train' row 1 (id '2'): label 3 is not 0 (negative) or 1 (positive)"),
    ({"id": ["1", "1"], "document": ["좋다", "별로"], "label": [1, 0]}, "split 'train' row 1: duplicate id '1'"),
    ({"id": ["1"], "text": ["좋다"], "label": [1]}, "split 'train' lacks column(s) ['document']"),
], ids=["label", "duplicate id", "column"])
def test_a_dataset_that_is_not_nsmc_is_named_by_split_and_row(tmp_path, columns, message):
    folder = _write_dataset(tmp_path / "bad", columns)
    with pytest.raises(SourceError, match="dataset .*bad: " + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        load_nsmc_splits(folder, train_size=None, validation_size=None, test_size=None)


def test_sources_that_cannot_be_read_are_one_line(dataset_dirs, tmp_path):
    with pytest.raises(SourceError, match="has its own test split; give one of them"):
        load_nsmc_splits(dataset_dirs["with-test"], test_file=TEST_REVIEWS, train_size=None, validation_size=None,
                         test_size=None)
    with pytest.raises(SourceError, match=r"no such file or folder \(nor a Hub dataset repo id"):
        load_nsmc_splits(tmp_path / "missing.tsv", train_size=None, validation_size=None, test_size=None)
    with pytest.raises(SourceError, match="has splits .*'unsupervised'.*; an NSMC dataset has train"):
        load_nsmc_splits(_write_dataset(tmp_path / "other", {"id": ["1"], "document": ["좋다"], "label": [1]},
                                        split="unsupervised"), train_size=None, validation_size=None, test_size=None)


def test_the_config_names_a_missing_source_and_a_revision_for_a_folder(dataset_dirs, teacher, tmp_path):
    unlabelled = tmp_path / "u.txt"
    unlabelled.write_text("좋아\n", encoding="utf-8")
    base = {"mode": "quick", "unlabelled_file": str(unlabelled), "teacher": str(teacher),
            "output_dir": str(tmp_path / "out")}
    with pytest.raises(StudyConfigError, match="--nsmc: no such file or folder: data/ratings_train.txt"):
        StudyConfig(nsmc="data/ratings_train.txt", **base)
    with pytest.raises(StudyConfigError, match="--nsmc-revision: only for a Hub dataset repo"):
        StudyConfig(nsmc=str(dataset_dirs["no-test"]), nsmc_revision="v1", **base)
    assert StudyConfig(nsmc="org/nsmc", nsmc_revision="v1", **base).nsmc == "org/nsmc"  # a Hub repo id
