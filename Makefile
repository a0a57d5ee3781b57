# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := demo

.PHONY: setup system demo test docs serve lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Programs the tests use that pip cannot install (exiftool, Chromium, Java, PostgreSQL,
# axe-core from npm, Node.js with the OpenID provider of the sign-in tests).
system:
	scripts/system-deps.sh
	scripts/java.sh
	scripts/oidc-provider.sh
	scripts/axe.sh >/dev/null || echo "axe-core is missing: the a11y tests skip (fail in CI)"

# The demo's registry lives in demo/, like everything else it writes.
DEMO_ENV := NOTRAIN_SECRET_KEY_FILE=$(DEMO)/secret.key NOTRAIN_DATABASE_URL=sqlite:///$(DEMO)/registry.db
SERVE_ENV := $(DEMO_ENV) NOTRAIN_ACCOUNTS_PATH=$(DEMO)/platform/accounts.parquet NOTRAIN_OUTBOX_DIR=$(DEMO)/outbox

demo: setup
	rm -rf $(DEMO)
	$(BIN)/notrain synth --users 20000 --seed 7 --out $(DEMO)/platform
	# A small objection campaign through the real workflow: submit, code read from the
	# outbox, verify, decide, export a snapshot the build reads beside the synthetic one.
	$(DEMO_ENV) $(BIN)/notrain registry demo-campaign \
		--accounts $(DEMO)/platform/accounts.parquet \
		--outbox $(DEMO)/outbox --count 25 --at 2026-05-01T09:00:00Z \
		--out $(DEMO)/platform/registry-campaign.parquet
	$(DEMO_ENV) $(BIN)/notrain build \
		--content $(DEMO)/platform/content.parquet \
		--accounts $(DEMO)/platform/accounts.parquet \
		--registry '$(DEMO)/platform/registry*.parquet' \
		--as-of 2026-06-01T00:00:00Z \
		--out $(DEMO)/dataset
	$(BIN)/notrain dataset verify $(DEMO)/dataset
	# After the build, five more members object: the dataset is recalled, not kept.
	$(DEMO_ENV) $(BIN)/notrain registry demo-campaign \
		--accounts $(DEMO)/platform/accounts.parquet \
		--outbox $(DEMO)/outbox --count 5 --seed 1 --at 2026-06-15T09:00:00Z \
		--out $(DEMO)/registry-late.parquet
	$(DEMO_ENV) $(BIN)/notrain recall --dataset $(DEMO)/dataset \
		--registry $(DEMO)/registry-late.parquet --as-of 2026-07-01T00:00:00Z \
		--out $(DEMO)/dataset-recalled
	$(BIN)/notrain dataset verify $(DEMO)/dataset-recalled
	$(DEMO_ENV) $(BIN)/notrain impact --since 2026-06-01
	# The parent still holds the late objectors' rows: purge it; the recall stays.
	$(DEMO_ENV) $(BIN)/notrain dataset purge
	$(DEMO_ENV) $(BIN)/notrain dataset list
	# An officer account for the console, so that `make serve` opens a working portal.
	printf 'demo-officer-password\n' | $(DEMO_ENV) $(BIN)/notrain admin create-user officer --password-stdin
	@echo
	@echo "The portal on the demo's registry:   make serve"
	@echo "then open http://127.0.0.1:8000/ (console: /console, officer / demo-officer-password;"
	@echo "mail, with the codes, lands in $(DEMO)/outbox)"

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Starts (and stops) a throwaway PostgreSQL unless NOTRAIN_TEST_POSTGRES_URL is given.
test: setup system lint docs
	scripts/test.sh

# The documentation site (MkDocs); warnings are errors.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/docs

# The portal on the demo's registry, with an officer account (made by `make demo`).
serve: setup
	@test -f $(DEMO)/registry.db || { echo "no demo registry yet: run make demo first" >&2; exit 1; }
	$(SERVE_ENV) $(BIN)/notrain serve --host 127.0.0.1 --port 8000

bench: setup
	$(BIN)/python benchmarks/build.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
