# geogrid — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench serve clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## make demo: install, build the embedded store from the demo district (first run), serve :5000
demo: $(STAMP)
	$(BIN)/geogrid demo --host 127.0.0.1 --port 5000

# Browser tests drive Debian's Chromium (CJK fonts make the screenshots legible);
# the OGC API tests read it with GDAL's own client (gdal-bin: ogrinfo, ogr2ogr).
BROWSER_PKGS := chromium chromium-driver fonts-wqy-microhei gdal-bin

browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
	    || ! command -v ogrinfo >/dev/null || [ ! -d /usr/share/fonts/truetype/wqy ]; then \
	  echo "installing $(BROWSER_PKGS) from Debian"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS); \
	fi

## make test: the whole suite, with lint
test: $(TSTAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(TSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make bench: assignment throughput against geopandas.sjoin, printed side by side
bench: $(TSTAMP) browser
	$(BIN)/geogrid bench
	$(BIN)/geogrid bench-intake
	$(BIN)/geogrid bench-map
	$(BIN)/geogrid bench-redraw

serve: $(STAMP)
	$(BIN)/geogrid serve

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis *.egg-info
