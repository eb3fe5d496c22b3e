# Two commands: `make run` serves the platform, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck format protos bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements/base.txt requirements/ml.txt requirements/dev.txt requirements/lock.txt | $(BIN)/python
	@echo "Installing cadml's dependencies into $(VENV) (a few minutes the first time)..."
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -r requirements/dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py bootstrap
	$(BIN)/python manage.py collectstatic --noinput -v 0
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy with the Django and DRF stubs (setup.cfg: strict on the pipeline modules).
typecheck: install
	$(BIN)/mypy apps cadml

# pytest runs on TEST_WORKERS pytest-xdist workers, each with its own test
# database, Redis databases and media folder (tests/xdist_worker.py); a module
# stays on one worker. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: lint typecheck
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadscope)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate the committed gRPC stubs from protos/ (CI checks they are current).
protos: install
	rm -rf apps/grpcapi/gen/cadml
	$(BIN)/python -m grpc_tools.protoc -I protos --python_out=apps/grpcapi/gen \
	  --pyi_out=apps/grpcapi/gen --grpc_python_out=apps/grpcapi/gen \
	  protos/cadml/v1/*.proto
	# protoc writes `from cadml.v1 import x_pb2`; `cadml` is our Django project,
	# so point the generated imports at their real package.
	sed -i 's/^from cadml\.v1 import/from apps.grpcapi.gen.cadml.v1 import/' \
	  apps/grpcapi/gen/cadml/v1/*.py apps/grpcapi/gen/cadml/v1/*.pyi
	touch apps/grpcapi/gen/cadml/__init__.py apps/grpcapi/gen/cadml/v1/__init__.py
