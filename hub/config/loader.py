"""Loads and checks a config file, collecting every problem with its file, line and key path."""

from __future__ import annotations

import os
from typing import Any, Mapping

from marshmallow import Schema, ValidationError

from hub.config.model import ActionSpec, ConnectionConfig, HubConfig, HubSettings, Route
from hub.config.problems import ConfigError, Path, Problem, flatten_errors
from hub.config.schema import NAME, ConfigSchema, ConnectionSchema, HubSettingsSchema, RouteSchema, SourceSchema
from hub.config.yamlfile import LineIndex, read_yaml
from hub.plugin.http import client_for
from hub.plugin.types import Source
from hub.pluginhost import PluginHost
from hub.plugin.settings import unwrap_env
from hub.routing.templates import TemplateProblem, compile_params

SOURCE_API_TIMEOUT = 5.0  # a follow-up call made while the vendor waits for our answer must be quick


def load_config(path: str, plugins: PluginHost, environ: Mapping[str, str] | None = None) -> HubConfig:
    """Read and validate the config at `path`; raise ConfigError listing every problem."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([Problem(path, None, (), f"cannot read the config file: {error}")]) from None
    return parse_config(text, path, plugins, os.environ if environ is None else environ)


def parse_config(text: str, filename: str, plugins: PluginHost, environ: Mapping[str, str]) -> HubConfig:
    data, index, problems = read_yaml(text, filename, environ)
    builder = _Builder(filename, index, plugins, problems)
    config = builder.build({} if data is None and not problems else data)
    if builder.problems:
        raise ConfigError(builder.problems)
    return config


class _Builder:
    def __init__(self, filename: str, index: LineIndex, plugins: PluginHost, problems: list[Problem]) -> None:
        self.filename = filename
        self.index = index
        self.plugins = plugins
        self.problems = problems
        self.broken_connections: set[str] = set()

    def problem(self, path: Path, message: str) -> None:
        """Record a problem, once per key: a missing variable should not also be reported as a null value."""
        if any(known.path == path for known in self.problems):
            return
        self.problems.append(Problem(self.filename, self.index.line_of(path), path, message))

    def load(self, schema: Schema, data: Any, path: Path) -> Any:
        try:
            return schema.load(data)
        except ValidationError as error:
            for where, message in flatten_errors(error.messages, path):
                self.problem(where, message)
            return None

    def build(self, data: Any) -> HubConfig:
        if data is None and self.problems:  # the YAML itself did not parse
            return HubConfig(path=self.filename)
        if not isinstance(data, dict):
            self.problem((), "the config must be a mapping with keys hub, sources, connections and routes")
            return HubConfig(path=self.filename)
        known = set(ConfigSchema().fields)
        for key in data:
            if key not in known:
                self.problem((key,), f"unknown key; expected one of {', '.join(sorted(known))}")
        hub = self.load(HubSettingsSchema(), data.get("hub", {}), ("hub",)) or HubSettings()
        self.rate_limits: dict[str, Any] = {}
        sources = {name: source for name, raw in self.section(data, "sources").items()
                   if (source := self.source(name, raw)) is not None}
        declared = self.section(data, "connections")
        connections = {name: connection for name, raw in declared.items()
                       if (connection := self.connection(name, raw)) is not None}
        self.broken_connections = set(declared) - set(connections)
        routes = self.routes(data.get("routes", []), connections)
        return HubConfig(hub=hub, sources=sources, rate_limits=self.rate_limits, connections=connections,
                         routes=routes, path=self.filename)

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        section = data.get(key) or {}
        if not isinstance(section, dict):
            self.problem((key,), f"'{key}' must be a mapping of names to entries")
            return {}
        valid = {}
        for name, raw in section.items():
            try:
                NAME(name)
            except ValidationError as error:
                self.problem((key, name), f"invalid name: {error.messages[0]}")
                continue
            valid[name] = raw
        return valid

    def plugin_settings(self, kind: str, plugin_name: str, settings: Any, path: Path) -> Any:
        """Resolve the plugin and validate `settings` with the schema it declares for `kind`."""
        plugin = self.plugins.get(plugin_name)
        if plugin is None:
            known = ", ".join(getattr(self.plugins, kind + "s")()) or "none installed"
            self.problem(path + ("plugin",), f"unknown {kind} plugin {plugin_name!r} (known: {known})")
            return None
        declared = getattr(plugin.info, kind)
        if declared is None:
            self.problem(path + ("plugin",), f"plugin {plugin_name!r} provides no {kind}")
            return None
        if declared.settings is None:
            if settings:
                self.problem(path + ("settings",), f"plugin {plugin_name!r} takes no settings")
            return {}
        return self.load(declared.settings(), settings, path + ("settings",))

    def source(self, name: str, raw: Any) -> Source | None:
        path = ("sources", name)
        entry = self.load(SourceSchema(), raw, path)
        if entry is None:
            return None
        settings = self.plugin_settings("source", entry["plugin"], entry["settings"], path)
        if entry["rate_limit"] is not None:
            self.rate_limits[name] = entry["rate_limit"]
        if settings is None:
            return None
        source_info = self.plugins.plugins[entry["plugin"]].info.source  # settings loaded: the plugin has a source
        api_url_setting = source_info.api_url_setting if source_info else None
        return Source(name, entry["plugin"], settings, client_for(settings, api_url_setting, timeout=SOURCE_API_TIMEOUT))

    def connection(self, name: str, raw: Any) -> ConnectionConfig | None:
        path = ("connections", name)
        entry = self.load(ConnectionSchema(), raw, path)
        if entry is None:
            return None
        settings = self.plugin_settings("connection", entry["plugin"], entry["settings"], path)
        if settings is None:
            return None
        return ConnectionConfig(name, entry["plugin"], settings, entry["retry"], entry["timeout"],
                                entry["circuit_breaker"], entry["max_in_flight"])

    def routes(self, raw: Any, connections: Mapping[str, ConnectionConfig]) -> tuple[Route, ...]:
        if not isinstance(raw, list):
            self.problem(("routes",), "'routes' must be a list")
            return ()
        routes = []
        for position, item in enumerate(raw):
            path: Path = ("routes", position)
            entry = self.load(RouteSchema(), item, path)
            if entry is None:
                continue
            actions = tuple(self.action(spec, path + ("actions", number), connections)
                            for number, spec in enumerate(entry["actions"]))
            routes.append(Route(entry["name"], entry["when"], actions, entry["run_on_updates"]))
        names = [route.name for route in routes]
        for position, name in enumerate(names):
            if name in names[:position]:
                self.problem(("routes", position, "name"), f"route name {name!r} is used twice")
        return tuple(routes)

    def action(self, spec: ActionSpec, path: Path, connections: Mapping[str, ConnectionConfig]) -> ActionSpec:
        connection = connections.get(spec.connection)
        if connection is None and spec.connection in self.broken_connections:
            return spec  # its own problems are already reported
        if connection is None:
            known = ", ".join(sorted(connections)) or "none configured"
            self.problem(path + ("connection",), f"unknown connection {spec.connection!r} (known: {known})")
            return spec
        plugin = self.plugins.get(connection.plugin)
        action_info = plugin.info.actions.get(spec.action) if plugin else None
        if action_info is None:
            known = ", ".join(sorted(plugin.info.actions)) if plugin else ""
            self.problem(path + ("action",),
                         f"connection {spec.connection!r} ({connection.plugin}) has no action {spec.action!r} "
                         f"(known: {known or 'none'})")
            return spec
        if action_info.params is not None:
            self.check_param_keys(action_info.params(), spec.params, path + ("params",))
        params = unwrap_env(spec.params)
        try:
            compile_params(params)
        except TemplateProblem as error:
            self.problem(path + ("params",) + error.path, error.message)
        return ActionSpec(spec.connection, spec.action, params)

    def check_param_keys(self, schema: Schema, params: Mapping[str, Any], path: Path) -> None:
        """Parameters are templates until rendered, so only their keys can be checked here."""
        fields = {field.data_key or name: field for name, field in schema.load_fields.items()}
        for key in params:
            if key not in fields:
                self.problem(path + (key,), f"unknown parameter; expected one of {', '.join(sorted(fields))}")
        for key, field in fields.items():
            if field.required and key not in params:
                self.problem(path + (key,), "missing required parameter")
