"""`cxhub new-plugin`: writes a plugin package that installs through the entry point and starts green."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jinja2 import Environment, StrictUndefined

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
# Square-bracket delimiters: the generated files contain cxhub's own {{ }} route templates.
ENVIRONMENT = Environment(variable_start_string="[[", variable_end_string="]]", block_start_string="[%",
                          block_end_string="%]", undefined=StrictUndefined, keep_trailing_newline=True,
                          trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class PluginSpec:
    name: str
    source: bool
    action: bool

    @property
    def package(self) -> str:
        return f"cxhub_{self.name}"

    @property
    def distribution(self) -> str:
        return f"cxhub-{self.name.replace('_', '-')}"

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").title().replace(" ", "")

    @property
    def env_prefix(self) -> str:
        return self.name.upper()


def _files(spec: PluginSpec) -> dict[str, str]:
    """Template name -> path in the generated project."""
    files = {
        "pyproject.toml.jinja": "pyproject.toml",
        "README.md.jinja": "README.md",
        "package/__init__.py.jinja": f"{spec.package}/__init__.py",
        "package/settings.py.jinja": f"{spec.package}/settings.py",
        "tests/test_plugin.py.jinja": f"tests/test_{spec.name}.py",
    }
    if spec.source:
        files["package/inbound.py.jinja"] = f"{spec.package}/inbound.py"
        files["tests/fixtures/sample.json.jinja"] = f"tests/fixtures/{spec.name}_review.json"
    if spec.action:
        files["package/actions.py.jinja"] = f"{spec.package}/actions.py"
    return files


def generate(name: str, directory: Path, *, source: bool = True, action: bool = True) -> Path:
    """Write the plugin project `cxhub-<name>` under `directory`; return its path."""
    if not NAME.match(name):
        raise ValueError(f"plugin names are 2-31 characters of a-z, 0-9 and '_', starting with a letter; got {name!r}")
    if not (source or action):
        raise ValueError("a plugin needs a source, an action, or both")
    spec = PluginSpec(name, source, action)
    root = directory / spec.distribution
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    templates = resources.files("hub.scaffold").joinpath("templates")
    for template_name, target in _files(spec).items():
        text = templates.joinpath(template_name).read_text("utf-8")
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ENVIRONMENT.from_string(text).render(spec=spec), "utf-8")
    return root
