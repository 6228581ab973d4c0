"""The kernels' stub, ``_speedups.pyi``, describes both twins: every name it declares exists in
the pure twin (and in the compiled core when built) with the parameters the stub gives it.
mypy's stubtest checks the compiled core against the stub in .ci/run; this checks the twin."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from fastsig import _backend, _speedups_py

COMPARES_BACKENDS = True
STUB = Path(_speedups_py.__file__).with_name("_speedups.pyi")


def _parameters(node: ast.FunctionDef) -> List[Tuple[str, bool]]:
    """(name, has a default) of each parameter but self, in order."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    found = [(a.arg, d) for a, d in zip(positional, defaults)]
    found += [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return [p for p in found if p[0] != "self"]


def _declared() -> Dict[str, object]:
    """Every function (by name) and class (name -> its methods) the stub declares."""
    declared: Dict[str, object] = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            declared[node.name] = _parameters(node)
        elif isinstance(node, ast.ClassDef):
            declared[node.name] = {  # methods; properties are attributes (hasattr is enough)
                item.name: None if any(isinstance(d, ast.Name) and d.id == "property"
                                       for d in item.decorator_list) else _parameters(item)
                for item in node.body if isinstance(item, ast.FunctionDef)}
        elif isinstance(node, ast.ImportFrom) and node.module == "_speedups_py":
            declared.update((alias.asname or alias.name, None) for alias in node.names)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not node.target.id.startswith("_"):  # module constants (private aliases aside)
                declared[node.target.id] = None
    return declared


def _runtime_parameters(function) -> List[Tuple[str, bool]]:
    signature = inspect.signature(function)
    return [(p.name, p.default is not inspect.Parameter.empty)
            for p in signature.parameters.values() if p.name != "self"]


DECLARED = _declared()


@pytest.mark.parametrize("twin", sorted(_backend.available))
@pytest.mark.parametrize("name", sorted(DECLARED))
def test_stub_describes_each_twin(twin, name):
    module = _backend.available[twin]
    if name.startswith("_") and twin == "python":
        return  # private hooks (tests', the ASGI entry's) may exist in the compiled core only
    assert hasattr(module, name), f"{twin} twin lacks {name}, which the stub declares"
    declared = DECLARED[name]
    if twin != "python" or declared is None:
        return  # the compiled core's signatures are stubtest's (in .ci/run)
    runtime = getattr(module, name)
    if isinstance(declared, list):
        assert _runtime_parameters(runtime) == declared, f"{name}: parameters differ from the stub"
        return
    for method, parameters in declared.items():
        assert hasattr(runtime, method), f"{name}.{method} is in the stub, not in the pure twin"
        if parameters is None:
            continue
        if method == "__init__" and "__init__" not in vars(runtime) and parameters == []:
            continue
        assert _runtime_parameters(getattr(runtime, method)) == parameters, (
            f"{name}.{method}: parameters differ from the stub")


def test_the_stub_declares_every_public_kernel():
    public = {n for n in vars(_speedups_py) if not n.startswith("_")}
    # The twin's own names are those of its kernels (fastsig._kernels.<step>), not imports.
    imported = {n for n in public
                if not (getattr(getattr(_speedups_py, n), "__module__", None) or "fastsig._kernels"
                        ).startswith(("fastsig._kernels", _speedups_py.__name__))
                or inspect.ismodule(getattr(_speedups_py, n))}
    typing_names = {n for n in public if n in dir(__import__("typing"))}
    missing = public - set(DECLARED) - imported - typing_names
    assert not missing, f"public names of the pure twin that the stub does not declare: {sorted(missing)}"
