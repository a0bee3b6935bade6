"""Commands for admins and plugin authors: check a config, normalize a payload, list plugins."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

from typing import TYPE_CHECKING

import click

from hub.cli.common import env_file_option, print_json, print_table, visible

if TYPE_CHECKING:
    from hub.plugin.types import Source
    from hub.pluginhost import PluginHost

log = logging.getLogger("cxhub.cli")


def _host() -> PluginHost:
    from hub.pluginhost import PluginError, PluginHost, build_plugin_manager

    try:
        return PluginHost(build_plugin_manager())
    except PluginError as error:
        raise click.ClickException(str(error)) from None


@click.command("new-plugin")
@click.argument("name")
@click.option("--source", is_flag=True, help="Include a source (webhooks in).")
@click.option("--action", is_flag=True, help="Include a connection with an action (calls out).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create cxhub-NAME/.")
def new_plugin(name: str, source: bool, action: bool, directory: Path) -> None:
    """Create a plugin package, with passing tests, that installs through the cxhub.plugins entry point.

    Without --source or --action, the plugin gets both.
    """
    from hub.scaffold import generate

    both = not (source or action)
    try:
        root = generate(name, directory, source=source or both, action=action or both)
    except (ValueError, FileExistsError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {root}\nnext: cd {root} && python -m pip install -e '.[test]' && python -m pytest")


@click.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
@env_file_option
def check_config(path: str) -> None:
    """Check a config file: every problem is printed with its file, line and key; exit 1 if any."""
    from hub.config import ConfigError, load_config

    try:
        config = load_config(path, _host(), os.environ)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"{len(error.problems)} problem(s) found", err=True)
        raise SystemExit(1) from None
    shadow = [route.name for route in config.routes if route.shadow]
    click.echo(f"{path}: OK — {len(config.sources)} source(s), {len(config.connections)} connection(s), "
               f"{len(config.routes)} route(s)" + (f", {len(shadow)} in shadow mode" if shadow else ""))
    if shadow:
        click.echo(f"shadow routes (matched, rendered and recorded, never sent): {', '.join(shadow)}")


def _header(value: str) -> tuple[str, str]:
    name, separator, content = value.partition(":")
    if not separator or not name.strip():
        raise click.BadParameter(f"headers are written 'Name: value', got {value!r}")
    return name.strip().lower(), content.strip()


def _source(host: PluginHost, plugin_name: str, config_path: str | None, source_name: str | None) -> Source:
    """The named source of a config file, or the plugin with default settings (secrets are not needed)."""
    from hub.config import ConfigError, load_config
    from hub.config.loader import SOURCE_API_TIMEOUT
    from hub.plugin.http import client_for
    from hub.plugin.settings import SecretField
    from hub.plugin.types import Source

    if config_path:
        try:
            sources = load_config(config_path, host, os.environ).sources
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        source = sources.get(source_name or plugin_name)
        if source is None or source.plugin != plugin_name:
            raise click.ClickException(f"{config_path} has no {plugin_name} source named {source_name or plugin_name!r}")
        return source
    plugin = host.get(plugin_name)
    if plugin is None or plugin.info.source is None:
        raise click.ClickException(f"no source plugin named {plugin_name!r} (installed: {', '.join(host.sources())})")
    schema = plugin.info.source.settings() if plugin.info.source.settings else None
    if schema is None:
        return Source(plugin_name, plugin_name, _Defaults())
    required = [name for name, field in schema.load_fields.items() if field.required]
    needed = [name for name in required if not isinstance(schema.load_fields[name], SecretField)]
    if needed:
        raise click.ClickException(f"plugin {plugin_name!r} needs settings ({', '.join(needed)}): "
                                   "pass --config FILE and --source NAME")
    settings = _Defaults(schema.load({}, partial=required))
    api = client_for(settings, plugin.info.source.api_url_setting, timeout=SOURCE_API_TIMEOUT)
    return Source(plugin_name, plugin_name, settings, api)


class MissingSetting(KeyError):
    """The plugin read a setting that only a config gives."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Defaults(dict[str, Any]):
    """A plugin's default settings; reading one that is not there says which it was."""

    def __missing__(self, name: str) -> Any:
        raise MissingSetting(name)


@click.command()
@click.argument("plugin_name", metavar="PLUGIN")
@click.argument("payload", type=click.File("rb"))
@click.option("-H", "--header", "headers", multiple=True, help="A request header, 'Name: value' (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Take the source's settings from "
              "this config file.")
@click.option("--source", "source_name", help="The source's name in --config (default: the plugin's name).")
@env_file_option
def normalize(plugin_name: str, payload: BinaryIO, headers: tuple[str, ...], config_path: str | None,
              source_name: str | None) -> None:
    """Print the canonical events a payload file becomes, as JSON; nothing is stored or routed.

    The signature is not checked. The content type defaults to application/json; give another
    with -H 'Content-Type: ...'.
    """
    from hub.events.canonical import InvalidEvent
    from hub.ingest.service import parse_events
    from hub.plugin.errors import DeliveryError, MissingHeader, RequestRejected
    from hub.plugin.request import InboundRequest

    host = _host()
    source = _source(host, plugin_name, config_path, source_name)
    header_map = dict(_header(value) for value in headers)
    header_map.setdefault("content-type", "application/json")
    request = InboundRequest(method="POST", path=f"/hooks/{plugin_name}", body=payload.read(),
                             content_type=header_map["content-type"].split(";")[0].strip().lower(),
                             headers=header_map)
    name = Path(payload.name).name
    try:
        events, _, rejected, _ = parse_events(host, source, request, verify=False)
    except MissingHeader as error:
        click.echo(visible(f"error: {name}: {error.message}; give it with -H '{error.header}: VALUE'"), err=True)
        sys.exit(1)
    except MissingSetting as error:
        click.echo(f"error: {name}: the {plugin_name} plugin needs the setting {error.name!r}, which has no "
                   "default: pass --config FILE (and --source NAME) to take it from a config", err=True)
        sys.exit(1)
    except (RequestRejected, DeliveryError, InvalidEvent) as error:  # DeliveryError: a failed follow-up API call
        click.echo(visible(f"error: {name}: {getattr(error, 'message', error)}"), err=True)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - a plugin bug, or a setting only --config provides
        log.exception("plugin %r failed on %s", plugin_name, payload.name)
        click.echo(visible(f"error: {name}: the {plugin_name} plugin raised {type(error).__name__}: "
                           f"{error} (if it needs settings, pass --config FILE)"), err=True)
        sys.exit(1)
    for item in rejected:
        click.echo(visible(f"error: {name}: a batch element would be quarantined: {item.reason}"), err=True)
    print_json(events)


def _check(host: PluginHost) -> list[str]:
    """Problems a plugin's declarations have beyond loading: schemas that cannot be built or loaded."""
    from marshmallow import ValidationError

    problems = []
    for plugin in host.plugins.values():
        info = plugin.info
        schemas = [("source settings", info.source.settings if info.source else None),
                   ("connection settings", info.connection.settings if info.connection else None)]
        schemas += [(f"action {action!r} params", spec.params) for action, spec in info.actions.items()]
        for what, schema in schemas:
            if schema is None:
                continue
            try:
                schema().load({}, partial=True)
            except Exception as error:  # noqa: BLE001 - any failure here is the plugin's to fix
                if not isinstance(error, ValidationError):
                    problems.append(f"plugin {info.name!r}: {what} schema fails to load: "
                                    f"{type(error).__name__}: {error}")
    return problems


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--check", is_flag=True, help="Validate every installed plugin; exit 1 on any problem.")
def plugins(as_json: bool, check: bool) -> None:
    """List installed plugins with their version, source and actions."""
    host = _host()
    if check:
        problems = _check(host)
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"{len(host.plugins)} plugin(s) OK: {', '.join(sorted(host.plugins))}")
        return
    loaded = sorted(host.plugins.values(), key=lambda plugin: plugin.name)
    if as_json:
        print_json([{"name": plugin.info.name, "version": plugin.info.version, "source": plugin.info.source is not None,
                     "connection": plugin.info.connection is not None, "actions": sorted(plugin.info.actions),
                     "annotator": plugin.implements("cxhub_annotate_event")} for plugin in loaded])
        return
    print_table(((plugin.info.name, plugin.info.version, "yes" if plugin.info.source else "-",
                  ", ".join(sorted(plugin.info.actions)) or "-",
                  "yes" if plugin.implements("cxhub_annotate_event") else "-") for plugin in loaded),
                ("PLUGIN", "VERSION", "SOURCE", "ACTIONS", "ANNOTATOR"))
