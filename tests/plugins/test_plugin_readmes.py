"""Every plugin folder has the README docs/plugins.md promises, naming each setting and parameter."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Iterator

import pytest
from marshmallow import Schema, fields

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(path.name for path in (ROOT / "plugins").iterdir() if (path / "__init__.py").exists())


def setting_names(schema: type[Schema] | None) -> Iterator[str]:
    """Every key a config can write in `schema`, nested schemas included."""
    if schema is None:
        return
    for name, field in schema().fields.items():
        yield field.data_key or name  # what YAML says (`from`), not the attribute (`from_`)
        if isinstance(field, fields.Nested) and isinstance(field.nested, type):
            yield from setting_names(field.nested)


def documented_names(plugin: str) -> set[str]:
    info = importlib.import_module(f"plugins.{plugin}").cxhub_plugin_info()
    names = set()
    if info.source:
        names |= set(setting_names(info.source.settings))
    if info.connection:
        names |= set(setting_names(info.connection.settings)) - {"endpoint"}  # derived, not written
    for action, action_info in info.actions.items():
        names |= {action, *setting_names(action_info.params)}
    return names


@pytest.mark.parametrize("plugin", PLUGINS)
def test_the_readme_names_every_setting_and_parameter(plugin: str) -> None:
    readme = (ROOT / "plugins" / plugin / "README.md").read_text(encoding="utf-8")
    written = set(re.findall(r"`([a-z_]+)`", readme)) | set(re.findall(r"^\s*#?\s*([a-z_]+):", readme, re.M))
    assert documented_names(plugin) - written == set()


@pytest.mark.parametrize("plugin", PLUGINS)
def test_the_readme_links_to_where_the_samples_came_from(plugin: str) -> None:
    readme = (ROOT / "plugins" / plugin / "README.md").read_text(encoding="utf-8")
    link = f"../../tests/fixtures/{plugin}/SOURCES.md"
    assert f"]({link})" in readme
    assert (ROOT / "plugins" / plugin / link).resolve().is_file()


CHECKED = re.compile(r"^<!-- check-config -->\n```yaml\n(.*?)^```$", re.MULTILINE | re.DOTALL)
ENV_NAME = re.compile(r"\{\$env: ([A-Z0-9_]+)\}")


def checked_configs() -> Iterator[tuple[str, int, str]]:
    for plugin in PLUGINS:
        readme = (ROOT / "plugins" / plugin / "README.md").read_text(encoding="utf-8")
        for number, found in enumerate(CHECKED.finditer(readme)):
            yield plugin, number, found.group(1)


@pytest.mark.parametrize("plugin, number, text", list(checked_configs()),
                         ids=[f"{plugin}-{number}" for plugin, number, _ in checked_configs()])
def test_the_readmes_checked_configs_pass_check_config(plugin: str, number: int, text: str, tmp_path: Path) -> None:
    """A YAML block marked `<!-- check-config -->` is accepted by `cxhub check-config` as written."""
    from click.testing import CliRunner

    from hub.cli import main
    from tests.hub.outbound.oauth_standin import rsa_key_pair

    pem, _ = rsa_key_pair()
    env = {name: pem if name.endswith("PRIVATE_KEY") else f"value-of-{name.lower()}-0123456789abcdef"
           for name in ENV_NAME.findall(text)}
    path = tmp_path / "cxhub.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check-config", str(path)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert not any(value in result.output for value in env.values())


def test_the_salesforce_readme_checks_both_server_to_server_flows() -> None:
    grants = {re.search(r"grant: (\w+)", text).group(1) for plugin, _, text in checked_configs()  # type: ignore[union-attr]
              if plugin == "salesforce"}
    assert grants == {"jwt_bearer", "client_credentials"}
