# DealerCRM — everyday commands. `make demo` and `make test` are all a newcomer needs.
#
# The virtual environment lives in .venv and is created with the machine's python3
# (3.11). Installing is skipped when the requirements files have not changed since
# the last install: a stamp in .venv holds the hash of the files that were installed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check
# Tests drive Debian's /usr/bin/chromium: Playwright must never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2
# Seconds between two rounds of the demo's follow-up jobs (manage.py run_followups)
FOLLOWUPS_EVERY ?= 20

.DEFAULT_GOAL := help
.PHONY: help venv venv-dev demo run test lint format messages worker beat bench clean

help:
	@echo "make demo      run the demo on http://$(HOST):$(PORT) (SQLite, Celery eager, demo data, follow-ups every $(FOLLOWUPS_EVERY) s)"
	@echo "make test      run the whole test suite (pytest -n 2)"
	@echo "make lint      ruff check + ruff format --check"
	@echo "make format    ruff format + ruff check --fix"
	@echo "make messages  update and compile the zh_Hans catalogue in locale/"
	@echo "make worker    Celery worker (needs REDIS_URL)"
	@echo "make beat      Celery beat with the database scheduler (needs REDIS_URL)"
	@echo "make bench     run the benchmarks in bench/"

# Creates .venv if missing, then installs $(2) unless the stamp .venv/.installed-$(1)
# already holds the hash of the files it depends on. Installing the dev file also
# installs requirements.txt (it includes it), so it refreshes the runtime stamp too.
# $(call install,<stamp>,<file to install>,<files hashed>)
define install
	@test -x $(PY) || { echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@want="$$(cat $(3) | sha256sum | cut -c1-64)"; \
	if [ "$$(cat $(VENV)/.installed-$(1) 2>/dev/null)" = "$$want" ]; then \
		echo "$(VENV) is up to date with $(2)"; \
	else \
		echo "Installing $(2) into $(VENV)"; \
		$(PIP) install --quiet -r $(2) && echo "$$want" > $(VENV)/.installed-$(1) && \
		if [ "$(1)" = dev ]; then cat requirements.txt | sha256sum | cut -c1-64 > $(VENV)/.installed-runtime; fi; \
	fi
endef

## Runtime requirements only: enough for the demo.
venv:
	$(call install,runtime,requirements.txt,requirements.txt)

## Runtime and development requirements: tests, lint.
venv-dev:
	$(call install,dev,requirements-dev.txt,requirements.txt requirements-dev.txt)

## The demo: SQLite beside manage.py, Celery eager, the DEMO dealership seeded once. With Celery eager there
## is no beat: `run_followups` runs the follow-up jobs (plan, send, complaint deadlines) every FOLLOWUPS_EVERY
## seconds in the background, and stops when the development server stops.
## The environment is cleared of DATABASE_URL / REDIS_URL / DJANGO_SETTINGS_MODULE so
## that the demo never touches a server configured for something else.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL DJANGO_SETTINGS_MODULE=dealercrm.settings.local SITE_URL=http://$(HOST):$(PORT)

demo: venv
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	@if [ -z "$$(find locale -name '*.po' 2>/dev/null)" ]; then \
		echo "No catalogue in locale/ yet: the pages will be in English"; \
	elif command -v msgfmt >/dev/null 2>&1; then \
		$(DEMO_ENV) $(PY) manage.py compilemessages --ignore=$(VENV) --verbosity 0; \
	else \
		echo "msgfmt not found (apt-get install gettext): using the compiled catalogue committed in locale/"; \
	fi
	@if $(DEMO_ENV) $(PY) manage.py shell --verbosity 0 -c "import sys; from customers.models import Customer; \
		sys.exit(0 if Customer.objects.filter(dealership__code='DEMO').exists() else 1)"; then \
		echo "Demo data already present (dealership DEMO)"; \
	else \
		$(DEMO_ENV) $(PY) manage.py seed_demo; \
	fi
	$(DEMO_ENV) $(PY) manage.py segment --dealership DEMO
	$(DEMO_ENV) $(PY) manage.py seed_campaign_demo --dealership DEMO
	$(DEMO_ENV) $(PY) manage.py seed_followups_demo --dealership DEMO
	$(DEMO_ENV) $(PY) manage.py send_weekly_packs
	@echo "Open http://$(HOST):$(PORT) and log in as advisor / agent / ccmanager / asmanager / admin, password demo1234"
	@echo "Last week's report pack is under Reports; e-mails to the managers are written to media/outbox/"
	@echo "Follow-ups run on their own beside the server (manage.py run_followups, every $(FOLLOWUPS_EVERY) s); messages go to the database back end"
	@$(DEMO_ENV) $(PY) manage.py run_followups --every $(FOLLOWUPS_EVERY) & followups=$$!; \
	trap 'kill $$followups 2>/dev/null; wait $$followups 2>/dev/null' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

## The development server with whatever DATABASE_URL / REDIS_URL the shell sets.
run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole suite. With no services, tests that need PostgreSQL, Redis or Chromium skip
## and say what to install; with CI=true they fail instead.
test: venv-dev
	DJANGO_SETTINGS_MODULE=dealercrm.settings.test $(BIN)/pytest $(PYTEST_ARGS)

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: venv
	mkdir -p locale
	$(PY) manage.py makemessages -l zh_Hans --ignore=$(VENV) --ignore=staticfiles --ignore=media --ignore=bench/out
	$(PY) manage.py compilemessages --ignore=$(VENV)

worker: venv
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) and DATABASE_URL: without REDIS_URL tasks run eagerly in the web process."; exit 1; }
	$(BIN)/celery -A dealercrm worker -l info

beat: venv
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) and DATABASE_URL first."; exit 1; }
	$(PY) manage.py migrate --noinput
	$(BIN)/celery -A dealercrm beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler

## Benchmarks print their figures; they are not timed tests. BENCH=bench/x.py runs one.
## They run with the shell's DATABASE_URL (SQLite when unset) and the local settings.
BENCH ?= $(sort $(filter-out bench/_%,$(wildcard bench/*.py)))
bench: venv-dev
	@if [ -z "$(strip $(BENCH))" ]; then echo "No benchmark in bench/ yet"; fi
	@for f in $(BENCH); do \
		echo "== $$f"; \
		PYTHONPATH=$(CURDIR) DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-dealercrm.settings.local} $(PY) $$f || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles htmlcov .coverage
