"""The architecture of keras_transfer: no module imports itself back through others.

``lint-imports`` (setup.cfg's contracts) checks the layers (cli > recipe > training > ... > errors) and, with
its ``acyclic_siblings`` contract, cycles between sibling packages and modules at every depth. The grimp test
below says the same about modules directly and names the cycle, so a failure reads without import-linter.
"""

import subprocess
import sys
from pathlib import Path

import grimp


def _import_graph():
    # In-function (lazy) imports count: a cycle through them is still a cycle. ``if TYPE_CHECKING:`` ones do not.
    return grimp.build_graph("keras_transfer", exclude_type_checking_imports=True, cache_dir=None)


def _cycles(graph):
    """Strongly connected groups of more than one module (Tarjan, iterative), each sorted."""
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = edges[node]
            if position < len(children):
                work.append((node, position + 1))
                child = children[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            for child in children:
                if child in on_stack:
                    low[node] = min(low[node], low[child])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_cycle_finder_finds_a_cycle():
    class Graph:
        modules = {"a", "b", "c", "d"}

        @staticmethod
        def find_modules_directly_imported_by(module):
            return {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}[module]

    assert _cycles(Graph()) == [["a", "b", "c"]]


def test_no_import_cycles_between_keras_transfer_modules():
    cycles = _cycles(_import_graph())
    assert cycles == [], "import cycles (each group imports itself back): " + "; ".join(map(" <-> ".join, cycles))


def test_import_linter_contracts_hold():
    """setup.cfg's [importlinter] contracts: the layers, and no cycles between siblings at any depth."""
    command = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    result = subprocess.run([sys.executable, "-c", command, "--no-cache"], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
