# Texting Hub: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export DEBUG ?= 1

.PHONY: run test lint setup install js migrate demo worker beat simulator benchmarks faults mutation clean catalogues messages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## js: the browser tests' JavaScript (axe-core, pinned in package-lock.json), from the npm registry; never served.
## Without npm the accessibility tests skip (and say so), unless REQUIRE_SERVICES=1, where this step fails.
JS_STAMP := node_modules/.installed-stamp
$(JS_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	elif [ "$$REQUIRE_SERVICES" = 1 ]; then echo "make js: REQUIRE_SERVICES=1 but npm is missing (apt-get install npm)"; exit 1; \
	else echo "make js: npm is missing, so axe-core is not installed: the accessibility browser tests will skip"; fi

js: $(JS_STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py seed_demo
	@# The nightly purge, run once now as beat would (nothing in the demo is 400 days old): its health check is green.
	$(BIN)/python manage.py purge_expired_messages

setup: demo catalogues

## make catalogues: compile the French (Canada) and Slovak catalogues (locale/*/LC_MESSAGES/django.po -> .mo) with
## GNU gettext's msgfmt; the .mo files are built, never committed.
LOCALE_IGNORE := --ignore=.venv --ignore=var --ignore=staticfiles --ignore=node_modules
catalogues: install
	@command -v msgfmt >/dev/null || { echo "make: msgfmt not found. The translations need GNU gettext:" \
		"apt-get install gettext (Debian/Ubuntu), brew install gettext (macOS), dnf install gettext (Fedora)"; exit 1; }
	$(BIN)/python manage.py compilemessages $(LOCALE_IGNORE) --verbosity 0

## make messages: update the catalogues from the source (new strings arrive untranslated, changed ones fuzzy); then
## translate them, and `make test` checks none is left (README "Languages").
messages: install
	$(BIN)/python manage.py makemessages -l fr_CA -l sk --add-location=file $(LOCALE_IGNORE) \
		--ignore=tests --ignore=benchmarks --ignore=scripts

## make run: set everything up and serve the portal on http://127.0.0.1:8000, with the carrier simulator
## on 127.0.0.1:8765 answering after a few seconds and calling the portal back.
run: export CARRIER_API_URL ?= http://127.0.0.1:8765
run: export CARRIER_CALLBACK_BASE_URL ?= http://127.0.0.1:8000
run: setup
	@$(BIN)/python manage.py run_carrier_sim --port 8765 --delay 3 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py seed_demo --logins-only; \
	echo "Portal: http://127.0.0.1:8000   Carrier simulator: http://127.0.0.1:8765"; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## make test: set everything up (Python packages, the translation catalogues, and axe-core for the browser tests),
## lint (ruff), check that no model change lacks its migration, run the whole suite
test: install js lint catalogues
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL= $(BIN)/python manage.py makemigrations --check --dry-run

## make worker: one worker for every queue (carrier, purge, exports, default: none named, so all); a deployment runs
## a worker per queue instead (docker-compose.yml, README "Scaling out")
worker: install
	$(BIN)/celery -A portal worker --loglevel=INFO

beat: install
	$(BIN)/celery -A portal beat --loglevel=INFO

simulator: install
	$(BIN)/python manage.py run_carrier_sim --port 8765

## make benchmarks: every script under benchmarks/ in turn; stops at the first that misses a target (or fails) and names it
benchmarks: install
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script \
		|| { status=$$?; echo "make benchmarks: $$script missed a target or failed (exit $$status); stopped here"; exit 1; }; done

## make faults: the fault-survival scripts (each starts what it needs on loopback and prints PASS/FAIL per claim)
faults: install
	@for script in scripts/faults/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## make mutation: mutation testing (mutmut) of the rules that matter, against their fast SQLite tests; slow, so not
## part of make test or CI. `make mutation GROUPS="segments policy"` runs some groups (README "Mutation testing").
mutation: install
	$(BIN)/python scripts/mutation.py $(GROUPS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache node_modules
