# carebridge: two commands on a fresh machine.
#   make run   - virtualenv, install, migrate, load demo data, start web server + worker (SQLite, no services needed)
#   make test  - lint, type-check and the whole test suite (PostgreSQL + Redis when present, and the embedded default)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The address partners and links use follows the port, unless set on purpose (e.g. behind a proxy).
CAREBRIDGE_PUBLIC_URL ?= http://$(HOST):$(PORT)
export CAREBRIDGE_PUBLIC_URL

.PHONY: run test lint typecheck test-services test-embedded clean

$(BIN)/carebridge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/carebridge
	$(BIN)/carebridge db upgrade
	$(BIN)/carebridge demo
	@echo "carebridge on http://$(HOST):$(PORT)  (app: /app, sign in as dana.planner / demo; API docs: /docs; another port: make run PORT=8080)"
	@# The worker runs in its own process group, so Ctrl-C reaches only the web server; on the way out the
	@# worker gets a warm shutdown, and whatever is left after 3 s is killed as a group (tasks are acked
	@# late, so one cut short runs again at the next start), instead of Celery's own ~30 s wait.
	@trap 'kill -TERM $$worker 2>/dev/null; for i in 1 2 3 4 5 6; do kill -0 -$$worker 2>/dev/null || break; sleep .5; done; kill -KILL -$$worker 2>/dev/null; echo "carebridge stopped"' EXIT INT TERM; \
	 setsid $(BIN)/carebridge worker --beat --concurrency 1 & worker=$$!; \
	 $(BIN)/carebridge serve --host $(HOST) --port $(PORT)

test: lint typecheck test-services test-embedded

lint: $(BIN)/carebridge
	$(BIN)/ruff check service fhir_mappings connectors tests bench

typecheck: $(BIN)/carebridge
	$(BIN)/mypy

# The full suite on PostgreSQL (and Redis / a real Celery worker where a test needs one),
# with the real partner peers from ../shared/peers. Outside CI, falls back to SQLite when
# PostgreSQL is not running, and peer tests skip with the reason.
test-services: $(BIN)/carebridge
	$(BIN)/pytest

# The embedded default (SQLite): every database-backed test again, without the peers and browser.
test-embedded: $(BIN)/carebridge
	CAREBRIDGE_TEST_DB=sqlite $(BIN)/pytest -m "not integration and not worker and not browser" -q

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
