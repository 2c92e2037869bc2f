# Everything a person does with InvoiceSync, as make targets. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest worker processes for `make test`; the tests mostly wait on servers, so more than cores.
TEST_WORKERS ?= 3

.PHONY: help venv up down status test lint format bench clean

help:
	@echo "make up      set up and run the whole system locally on the sandbox providers"
	@echo "make down    stop everything 'make up' started"
	@echo "make status  each process's state, uptime and restarts"
	@echo "make test    set up what the tests need, run ruff, mypy and pytest against real Kafka and Redis"
	@echo "make bench   run the benchmarks and print 'name value unit' lines"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

up: venv
	bash deploy/local/stack.sh up

down:
	bash deploy/local/stack.sh down

status:
	bash deploy/local/stack.sh status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# pytest exits 5 when it collected no test: that is a failure of the suite, not a pass.
test: lint
	bash deploy/kafka/kafka.sh fetch
	bash deploy/browser.sh
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache .hypothesis
