"""Checks that keep the plugin API honest: every hook documented with its exact signature, and tested.

`tests/hub/plugin/test_hook_contract.py` runs them on cxhub's own hook specifications.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Iterable

HOOK_PREFIX = "cxhub_"


def hook_signatures(spec_module: ModuleType) -> dict[str, str]:
    """`{name: "name(arg: Type, ...) -> Return"}` for every hook specification in the module."""
    signatures = {}
    for name, function in inspect.getmembers(spec_module, inspect.isfunction):
        if name.startswith(HOOK_PREFIX):
            signature = inspect.signature(function)
            params = ", ".join(f"{param.name}: {param.annotation}" for param in signature.parameters.values())
            signatures[name] = f"{name}({params}) -> {signature.return_annotation}"
    return signatures


def undocumented(spec_module: ModuleType, docs: str) -> list[str]:
    """Hooks without a `### name` section or whose exact signature does not appear in `docs`."""
    return sorted(name for name, signature in hook_signatures(spec_module).items()
                  if f"### {name}\n" not in docs or signature not in docs)


def untested(spec_module: ModuleType, test_names: Iterable[str]) -> list[str]:
    """Hooks with no test function named `test_hook_<hook name>`."""
    names = set(test_names)
    return sorted(name for name in hook_signatures(spec_module) if f"test_hook_{name}" not in names)


def defined_test_names(test_dir: Path) -> set[str]:
    """Names of the test functions defined under `test_dir`."""
    pattern = re.compile(r"^def (test_\w+)\(", re.MULTILINE)
    return {name for path in test_dir.rglob("test_*.py") for name in pattern.findall(path.read_text("utf-8"))}
