"""The import contracts in setup.cfg hold, cover every package, and catch a wrong import.

`lint-imports` checks them in CI too; running it here means `pytest` alone fails on an import
that climbs a layer, a core module that imports `plugins`, or a plugin that reaches past
`hub.plugin`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the `hub` and `plugins` packages found in `tree`, with its setup.cfg."""
    return subprocess.run([str(LINT_IMPORTS), str(tree / "setup.cfg"), "--no-cache"],
                          cwd=tree, env={"PYTHONPATH": str(tree), "PATH": ""},
                          capture_output=True, text=True, timeout=120)


def contracts() -> dict[str, dict[str, object]]:
    options = read_configuration(str(ROOT / "setup.cfg"))["contracts_options"]
    return {contract["id"]: contract for contract in options}


def names(value: object) -> set[str]:
    """A contract option's module names, without the `|` that joins independent ones in a layer."""
    items = value if isinstance(value, list) else [value]
    return {name.strip() for item in items for name in str(item).split("|") if name.strip()}


def top_level(package: str) -> set[str]:
    """The modules and packages directly inside `package` (hub.app, hub.config, ...)."""
    folder = ROOT.joinpath(*package.split("."))
    found = {f"{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"}
    found |= {f"{package}.{path.name}" for path in folder.iterdir() if (path / "__init__.py").exists()}
    return found


def test_the_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_every_core_module_has_a_layer() -> None:
    assert names(contracts()["layers"]["layers"]) == top_level("hub")


def test_plugins_are_kept_from_every_core_module_but_hub_plugin() -> None:
    forbidden = names(contracts()["plugins-through-hub-plugin"]["forbidden_modules"])
    assert forbidden == (top_level("hub") - {"hub.plugin"}) | top_level("hub.plugin")


def test_every_plugin_is_independent_of_the_others() -> None:
    assert names(contracts()["plugins-independent"]["modules"]) == top_level("plugins")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and setup.cfg, to break on purpose."""
    for package in ("hub", "plugins"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree.joinpath(*module.split(".")).with_suffix(".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    path.write_text(path.read_text() + f"\n{statement}  # deliberately wrong\n")


@pytest.mark.parametrize(("module", "statement", "broken"), [
    ("hub.store.engine", "import hub.app", "The core's layers"),
    ("hub.routing.router", "from hub.config.model import HubConfig", "The core's layers"),
    ("hub.ingest.intake", "from hub.delivery.queue import DeliveryQueue", "The core's layers"),
    ("hub.events.canonical", "import plugins.jira", "The core never imports the plugins"),
    ("plugins.jira.settings", "from hub.store import Store", "Plugins import the core only through hub.plugin"),
    ("plugins.slack.settings", "from hub.plugin.settings import unwrap_env",
     "Plugins import the core only through hub.plugin"),
    ("plugins.slack.actions", "import plugins.jira.adf", "Plugins do not import each other"),
])
def test_a_wrong_import_breaks_a_contract(tree: Path, module: str, statement: str, broken: str) -> None:
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert f"{broken}" in result.stdout.split("Broken contracts", 1)[1]
    assert "1 broken" in result.stdout
