"""The study's recipe: one typed YAML file (recipes/study/*.yaml) whose values command-line flags override."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distilkobert.common.recipe import RecipeError, read_recipe
from distilkobert.study.data import is_hub_repo_id


class StudyConfigError(ValueError):
    """A bad recipe value or flag, named in one line."""


@dataclass
class FinetuneSettings:
    """Hyper-parameters of one fine-tuning run (one seed)."""

    learning_rate: float = 1e-4
    epochs: float = 2.0
    batch_size: int = 32
    eval_batch_size: int = 128
    max_seq_length: int = 128
    warmup: float = 0.1
    weight_decay: float = 0.01
    evals_per_epoch: int = 4
    temperature: float = 2.0
    alpha_kl: float = 0.0
    alpha_ce: float = 1.0
    bf16: bool = False


@dataclass
class GeneralDistillSettings:
    """General distillation on unlabelled reviews (passed to `distilkobert train` as a recipe)."""

    max_steps: int = 200
    max_train_texts: int | None = 60000
    batch_size: int = 32
    max_seq_length: int = 128
    learning_rate: float = 5e-4
    alpha_mse: float = 1.0
    alpha_cos: float = 1.0
    alpha_mlm: float = 0.0
    mse_layer_map: str = "1:4,2:8,3:12"
    bf16: bool = False
    # prefix of the `distilkobert train` command, e.g. [torchrun, --nproc_per_node, "8"]; none: this Python
    launcher: list[str] | None = None
    # checkpoints saved over the run (a killed stage continues from the last one)
    checkpoints: int = 5


LABELLING_BACKENDS = ("torch", "torch-bf16", "onnx-int8")


@dataclass
class LabellingSettings:
    """How the teacher labels the training rows and unlabelled reviews (benchmarks/study_speed.py measures each
    backend); the result is checked against PyTorch fp32 on `check_texts` texts."""

    backend: str = "torch"
    batch_size: int = 128
    check_texts: int = 2000


@dataclass
class StudyConfig:
    """Everything one study run does; `__post_init__` rejects bad values before any work starts."""

    mode: str
    # the labelled NSMC reviews: a dataset folder or Hub dataset repo built by `distilkobert dataset nsmc`, or an
    # official-format file (ratings_train.txt, .gz allowed)
    nsmc: str
    unlabelled_file: str
    teacher: str
    output_dir: str
    nsmc_revision: str | None = None  # of a Hub dataset repo
    test_file: str | None = None  # an official-format test file (ratings_test.txt), for an `nsmc` without one
    seeds: list[int] = field(default_factory=lambda: [42, 43, 44])
    train_size: int | None = 3000
    validation_size: int | None = 1000
    test_size: int | None = 3000
    unlabelled_size: int | None = 12000
    trim_vocabulary: bool = True
    trim_min_count: int = 1
    student_layers: list[int] = field(default_factory=lambda: [0, 4, 8])
    teacher_finetune: FinetuneSettings = field(default_factory=FinetuneSettings)
    student_finetune: FinetuneSettings = field(default_factory=FinetuneSettings)
    task_distill: FinetuneSettings = field(default_factory=lambda: FinetuneSettings(alpha_kl=1.0, alpha_ce=1.0,
                                                                                    epochs=1.0))
    general_distill: GeneralDistillSettings = field(default_factory=GeneralDistillSettings)
    # FastText settings (fasttext.train_supervised keywords); null leaves the FastText rows out
    fasttext: dict[str, Any] | None = field(default_factory=lambda: {"epoch": 10, "lr": 0.5, "wordNgrams": 2,
                                                                     "minn": 1, "maxn": 3, "dim": 100})
    labelling: LabellingSettings = field(default_factory=LabellingSettings)
    speed_texts: int = 1000
    speed_batch_size: int = 32
    latency_texts: int = 200
    # paired bootstrap resamples of the test rows for every target that compares two models
    bootstrap_samples: int = 1000
    # the compute budget the targets hold the run to (hours of measured stage time)
    budget_hours: float | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("quick", "cpu", "full"):
            raise StudyConfigError(f"mode: {self.mode!r} is not one of quick, cpu, full")
        if any(s < 0 for s in self.seeds):
            raise StudyConfigError(f"seeds: {self.seeds} must be >= 0")
        if self.threads is not None and self.threads < 1:
            raise StudyConfigError(f"threads: must be >= 1, got {self.threads}")
        if len(set(self.seeds)) != len(self.seeds):
            raise StudyConfigError(f"seeds: {self.seeds} repeats a seed (each seed must be a distinct run)")
        if not self.seeds:
            raise StudyConfigError("seeds: at least one seed is needed")
        for name in ("train_size", "validation_size", "test_size", "unlabelled_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise StudyConfigError(f"{name}: must be >= 1 or null (all rows), got {value}")
        if len(set(self.student_layers)) != len(self.student_layers) or sorted(self.student_layers) != \
                list(self.student_layers) or any(i < 0 for i in self.student_layers):
            raise StudyConfigError(f"student_layers: {self.student_layers} must be distinct, ascending, >= 0")
        for name in ("teacher_finetune", "student_finetune", "task_distill"):
            s = getattr(self, name)
            if s.alpha_kl < 0 or s.alpha_ce < 0 or s.alpha_kl + s.alpha_ce == 0:
                raise StudyConfigError(f"{name}: alpha_kl and alpha_ce must be >= 0 and not both 0")
            if s.temperature <= 0 or s.learning_rate <= 0 or s.epochs <= 0 or s.batch_size < 1:
                raise StudyConfigError(f"{name}: temperature, learning_rate, epochs and batch_size must be > 0")
        g = self.general_distill
        if min(g.alpha_mse, g.alpha_cos, g.alpha_mlm) < 0 or g.alpha_mse + g.alpha_cos + g.alpha_mlm == 0:
            raise StudyConfigError("general_distill: loss weights must be >= 0 and not all 0")
        if g.max_steps < 0:
            raise StudyConfigError(f"general_distill.max_steps: must be >= 0, got {g.max_steps}")
        if self.labelling.backend not in LABELLING_BACKENDS:
            raise StudyConfigError(f"labelling.backend: {self.labelling.backend!r} is not one of "
                                   f"{', '.join(LABELLING_BACKENDS)}")
        if self.trim_min_count < 1:
            raise StudyConfigError(f"trim_min_count: must be >= 1, got {self.trim_min_count}")
        if not Path(self.nsmc).exists() and not is_hub_repo_id(self.nsmc):
            raise StudyConfigError(f"--nsmc: no such file or folder: {self.nsmc} (nor a Hub dataset repo id "
                                   "NAMESPACE/NAME)")
        if self.nsmc_revision is not None and Path(self.nsmc).exists():
            raise StudyConfigError(f"--nsmc-revision: only for a Hub dataset repo; {self.nsmc} is a local path")
        if not Path(self.unlabelled_file).is_file():
            raise StudyConfigError(f"unlabelled_file: no such file: {self.unlabelled_file}")
        if self.test_file is not None and not Path(self.test_file).is_file():
            raise StudyConfigError(f"--test-file: no such file: {self.test_file}")
        if not Path(self.teacher).is_dir() or not (Path(self.teacher) / "config.json").is_file():
            raise StudyConfigError(f"--teacher: {self.teacher} is not a model folder with config.json (import one "
                                   "with scripts/import_e5_teacher.py, or pass a BERT-family folder)")
        self._check_teacher_labels()

    def _check_teacher_labels(self) -> None:
        """A classifier teacher must be a negative / positive one: other labels cannot be fine-tuned on NSMC."""
        config = json.loads((Path(self.teacher) / "config.json").read_text(encoding="utf-8"))
        archs = config.get("architectures") or []
        if not any(a.endswith("ForSequenceClassification") for a in archs):
            return
        labels = {str(k): str(v).lower() for k, v in (config.get("id2label") or {}).items()}
        if labels != {"0": "negative", "1": "positive"}:
            raise StudyConfigError(f"--teacher: {self.teacher} is a classifier with labels {labels or 'unnamed'}; "
                                   "the study needs an encoder (or masked-LM) folder, or a classifier with "
                                   "0=negative, 1=positive")


_NESTED = {"teacher_finetune": FinetuneSettings, "student_finetune": FinetuneSettings,
           "task_distill": FinetuneSettings, "general_distill": GeneralDistillSettings,
           "labelling": LabellingSettings}


def load_recipe(path: str | Path) -> dict[str, Any]:
    """The YAML recipe as a mapping (read by `common.recipe.read_recipe`); a file that is not a YAML mapping
    is an error naming it."""
    try:
        return read_recipe(path, allow_empty=False)
    except RecipeError as err:
        raise StudyConfigError(f"recipe {path}: {_recipe_problem(err)}") from None


def _recipe_problem(err: RecipeError) -> str:
    """The study's words for a recipe that cannot be read."""
    if err.problem == "missing":
        return os.strerror(errno.EISDIR if Path(err.path).is_dir() else errno.ENOENT)
    if err.problem == "unreadable":
        return err.cause.strerror
    if err.problem == "not_yaml":
        return f"not valid YAML ({' '.join(str(err.cause).split())})"
    if err.problem == "not_mapping":
        return f"expected a mapping of settings, got {type(err.cause).__name__}"
    return str(err).split(": ", 1)[-1]


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def _type_error(name: str, value: Any, annotation: str) -> str | None:
    """Why `value` does not fit the field's annotation (as written in the dataclass), or None."""
    options = [a.strip() for a in annotation.split("|")]
    if value is None:
        return None if "None" in options else "must not be null"
    for option in options:
        if option in _TYPES:
            ok = isinstance(value, _TYPES[option]) and (option == "bool" or not isinstance(value, bool))
        elif option.startswith("list["):
            inner = option[5:-1]
            ok = isinstance(value, list) and all(_type_error(name, v, inner) is None for v in value)
        elif option.startswith("dict["):
            ok = isinstance(value, dict)
        else:
            ok = option == "None" and value is None
        if ok:
            return None
    return f"must be {' or '.join(options).replace('None', 'null')}, got {value!r} ({type(value).__name__})"


def check_types(cls: type, values: dict[str, Any], prefix: str = "") -> None:
    """Every value of a recipe has its setting's type (YAML reads `1e-4` as a string, `'false'` is a string)."""
    for f in dataclasses.fields(cls):
        if f.name in values and f.name not in _NESTED:
            problem = _type_error(f.name, values[f.name], str(f.type))
            if problem:
                raise StudyConfigError(f"{prefix}{f.name}: {problem}")


def build_config(recipe: dict[str, Any], overrides: dict[str, Any], recipe_name: str = "recipe") -> StudyConfig:
    """Recipe values, then non-None overrides, into a validated StudyConfig (unknown keys, wrong types and
    missing data files are errors naming the setting)."""
    values = {**recipe, **{k: v for k, v in overrides.items() if v is not None}}
    known = {f.name for f in dataclasses.fields(StudyConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise StudyConfigError(f"{recipe_name}: unknown setting(s) {', '.join(unknown)}")
    check_types(StudyConfig, values)
    for name, cls in _NESTED.items():
        if name in values:
            if not isinstance(values[name], dict):
                raise StudyConfigError(f"{name}: must be a mapping of settings, got {values[name]!r}")
            sub_known = {f.name for f in dataclasses.fields(cls)}
            bad = sorted(set(values[name]) - sub_known)
            if bad:
                raise StudyConfigError(f"{recipe_name}: unknown setting(s) {name}.{', '.join(bad)}")
            check_types(cls, values[name], prefix=f"{name}.")
            base = StudyConfig.__dataclass_fields__[name].default_factory()  # type: ignore[misc]
            values[name] = dataclasses.replace(base, **values[name])
    if "nsmc" not in values:
        raise StudyConfigError("nsmc: not given; pass --nsmc DATASET (a folder or Hub repo built by `distilkobert "
                               "dataset nsmc`) or --nsmc ratings_train.txt (data is never read from a default place)")
    if "unlabelled_file" not in values:
        raise StudyConfigError("unlabelled_file: not given; pass --unlabelled-file FILE (data is never read from a "
                               "default place)")
    missing = [n for n in ("mode", "teacher", "output_dir") if n not in values]
    if missing:
        raise StudyConfigError(f"{recipe_name}: missing setting(s) {', '.join(missing)}")
    try:
        return StudyConfig(**values)
    except TypeError as err:
        raise StudyConfigError(f"{recipe_name}: {err}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distilkobert study",
        description="The real-data study: teacher fine-tuning, vocabulary trimming, truncated / general-distilled "
                    "/ task-distilled 3-layer students and FastText on NSMC; prints and writes the results table.")
    parser.add_argument("recipe", help="study recipe (recipes/study/cpu.yaml, quick.yaml or full.yaml)")
    parser.add_argument("--nsmc", help="the labelled NSMC reviews: a dataset folder or Hub dataset repo built by "
                                       "`distilkobert dataset nsmc`, or an official-format file (ratings_train.txt, "
                                       ".gz allowed); training, validation and (without test rows) test rows")
    parser.add_argument("--nsmc-revision", help="branch, tag or commit of a Hub dataset repo given to --nsmc")
    parser.add_argument("--unlabelled-file", help="unlabelled reviews, one per line (.gz allowed)")
    parser.add_argument("--test-file", help="an official-format NSMC test file (ratings_test.txt) to use as the test "
                                            "split, for an --nsmc without a test split")
    parser.add_argument("--teacher", help="teacher model folder (BERT family, fast tokenizer)")
    parser.add_argument("--output-dir", help="where every stage writes (completed stages are reused)")
    parser.add_argument("--seeds", type=int, nargs="+", help="fine-tuning seeds (distinct)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--push-to-hub", metavar="REPO",
                        help="publish the selected general + task-distilled classifier to this model repo")
    parser.add_argument("--version", help="version tag of the published classifier (with --push-to-hub)")
    parser.add_argument("--estimate", action="store_true",
                        help="print the expected FLOPs, steps and time of every stage, then exit")
    return parser
