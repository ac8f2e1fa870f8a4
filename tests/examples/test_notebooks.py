"""The tutorial notebooks in examples/: stored without outputs, linked from the README, and executed.

``make test`` (and CI) executes the fast subset ``FAST``; ``make notebooks`` sets ``KT_ALL_NOTEBOOKS=1`` and
executes every notebook. Each runs top to bottom in a fresh kernel of the Python running the tests (a
kernelspec written to a temporary folder, so a ``python3`` kernel registered for another Python is never
picked), with a temporary working directory.
"""

import json
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
# Run in CI; measured well under a minute each on 2 cores (README, "Tutorials").
FAST = {"05_audio_mfcc.ipynb", "07_growing_a_network.ipynb"}
RUN_ALL = os.environ.get("KT_ALL_NOTEBOOKS", "") not in ("", "0")
CELL_TIMEOUT_S = 600


def _ids(paths):
    return [path.name for path in paths]


def test_there_are_eight_numbered_notebooks():
    names = _ids(NOTEBOOKS)
    assert len(names) >= 8, names
    assert [name[:3] for name in names[:8]] == [f"{i:02d}_" for i in range(1, 9)], names
    assert FAST <= set(names), FAST - set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: cell {index} has stored outputs; clear them"
            assert cell.get("execution_count") is None, f"{path.name}: cell {index} has an execution count"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_readme_links_notebook(path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"(examples/{path.name})" in readme, f"README.md does not link examples/{path.name}"


def _kernel_manager(spec_root: Path):
    """A KernelManager whose kernel is this interpreter (sys.executable) running ipykernel."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = spec_root / "kernels" / "keras-transfer-tests"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "keras-transfer tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(spec_root / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name="keras-transfer-tests", kernel_spec_manager=specs)


def execute_notebook(path: Path, workdir: Path):
    """Execute ``path`` in a fresh kernel with ``workdir`` as working directory; returns (notebook, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, km=_kernel_manager(workdir / "kernelspec"), timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - start


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path, tmp_path, monkeypatch):
    if path.name not in FAST and not RUN_ALL:
        pytest.skip("slow notebook: run by `make notebooks` (KT_ALL_NOTEBOOKS=1)")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook, seconds = execute_notebook(path, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                 for output in cell.get("outputs", []))
    assert images >= 1, f"{path.name} drew no inline plot"
    print(f"{path.name}: {seconds:.0f} s")
