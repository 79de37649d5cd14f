# geogrid — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench serve clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@# a development checkout also imports devtools (tests, benchmarks), which no wheel carries
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "geogrid-checkout.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $@

$(TSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## make demo: install, build the embedded store from the demo district (first run), serve :5000
demo: $(STAMP)
	$(BIN)/geogrid demo --host 127.0.0.1 --port 5000

# Chromium, GDAL and PostgreSQL + PostGIS from Debian, when missing (see the script).
system-packages:
	tools/system-packages

## make test: the whole suite, with lint, on SQLite and on a throwaway PostGIS cluster
test: $(TSTAMP) system-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(TSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make bench: assignment throughput against geopandas.sjoin, printed side by side
bench: $(TSTAMP) system-packages
	$(BIN)/geogrid bench
	$(BIN)/geogrid bench --city
	$(BIN)/geogrid bench-intake
	$(BIN)/geogrid bench-batch
	$(BIN)/geogrid bench-map
	$(BIN)/geogrid bench-redraw
	$(BIN)/geogrid bench-stats
	$(BIN)/geogrid bench-cases
	$(BIN)/geogrid bench-hotspots
	$(BIN)/geogrid bench-live
	$(BIN)/geogrid bench-assign-file
	$(BIN)/geogrid bench-workers
	$(BIN)/geogrid bench-load

## make serve [WORKERS=1]: gunicorn on the store of GEOGRID_DATABASE_URL (default: instance/)
WORKERS ?= 1
serve: $(STAMP)
	$(BIN)/geogrid serve --workers $(WORKERS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis *.egg-info
