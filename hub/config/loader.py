"""Loads and checks a config file, collecting every problem with its file, line and key path."""

from __future__ import annotations

import os
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError

from hub.config.digests import digest_template_problems
from hub.config.model import (
    ActionSpec,
    ConnectionConfig,
    CustomersConfig,
    DigestSpec,
    EnrichmentPolicy,
    HubConfig,
    HubSettings,
    MetricsSettings,
    OAuthConfig,
    QuietHours,
    Route,
)
from hub.config.problems import ConfigError, Path, Problem, flatten_errors
from hub.config.schema import (
    NAME,
    RESERVED_SOURCE,
    ActionSchema,
    ConfigSchema,
    ConnectionSchema,
    AlertRuleSchema,
    ConsoleSchema,
    CustomersSchema,
    HubSettingsSchema,
    MetricsSchema,
    RouteSchema,
    SourceSchema,
)
from hub.config.yamlfile import LineIndex, read_yaml
from hub.insights.rules import ALERT_SOURCE, AlertRule, RuleProblem, compile_rule
from hub.plugin.http import client_for
from hub.plugin.types import ConnectionInfo, Source
from hub.pluginhost import PluginHost
from hub.plugin.settings import Secret, unwrap_env
from hub.routing.routes import OncePer, Otherwise
from hub.routing.templates import TemplateProblem, compile_params
from hub.timeofday import DAYS

SOURCE_API_TIMEOUT = 5.0  # a follow-up call made while the vendor waits for our answer must be quick


def load_config(path: str, plugins: PluginHost, environ: Mapping[str, str] | None = None, *,
                with_settings: bool = True) -> HubConfig:
    """Read and validate the config at `path`; raise ConfigError listing every problem.

    With `with_settings=False` only the hub section and each connection's name, plugin and
    policies are read: no plugin setting is resolved, so no secret is needed. That is all the
    commands that only read what the hub stored need (no sources, no routes).
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([Problem(path, None, (), f"cannot read the config file: {error}")]) from None
    return parse_config(text, path, plugins, os.environ if environ is None else environ, with_settings=with_settings)


def parse_config(text: str, filename: str, plugins: PluginHost, environ: Mapping[str, str], *,
                 with_settings: bool = True) -> HubConfig:
    data, index, problems = read_yaml(text, filename, environ)
    if not with_settings:
        problems = [problem for problem in problems if not _needs_settings(problem.path)]
    builder = _Builder(filename, index, plugins, problems, with_settings)
    config = builder.build({} if data is None and not problems else data)
    if builder.problems:
        raise ConfigError(sorted(builder.problems, key=lambda problem: problem.line or 0))
    return config


def _needs_settings(path: Path) -> bool:
    """Whether a key path lies in a part of the config that only a load with settings reads."""
    return path[:1] in (("sources",), ("routes",)) or (path[:1] == ("connections",)
                                                         and path[2:3] in (("settings",), ("oauth",)))


class _Builder:
    def __init__(self, filename: str, index: LineIndex, plugins: PluginHost, problems: list[Problem],
                 with_settings: bool = True) -> None:
        self.filename = filename
        self.index = index
        self.plugins = plugins
        self.problems = problems
        self.with_settings = with_settings
        # Values left unset because their environment variable is missing: what depends on them is unknown.
        self.unresolved = [problem.path for problem in problems if problem.path]
        # Every declared connection, with its plugin, or None when the plugin cannot be used. Routes
        # are checked against these, so a connection whose settings fail is still a known one.
        self.connection_plugins: dict[str, str | None] = {}
        self.connection_zones: dict[str, ZoneInfo] = {}  # each connection's wall clock, for digest times

    def problem(self, path: Path, message: str) -> None:
        """Record a problem, once per key: a missing variable should not also be reported as a null value."""
        if any(known.path == path for known in self.problems):
            return
        self.problems.append(Problem(self.filename, self.index.line_of(path), path, message))

    def load(self, schema: Schema, data: Any, path: Path) -> Any:
        value, ok = self.load_partly(schema, data, path)
        return value if ok else None

    def load_partly(self, schema: Schema, data: Any, path: Path) -> tuple[Any, bool]:
        """Load `data`, reporting its problems; on failure return what did load, so its checks can go on."""
        try:
            return schema.load(data), True
        except ValidationError as error:
            for where, message, whole in flatten_errors(error.messages, path):
                if not (whole and self.depends_on_unresolved(where)):
                    self.problem(where, message)
            return (error.valid_data if isinstance(error.valid_data, dict) else {}), False

    def depends_on_unresolved(self, path: Path) -> bool:
        """A judgement of the mapping at `path` as a whole cannot be trusted when one of its values is unknown."""
        return any(unset[:len(path)] == path for unset in self.unresolved)

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
        console = self.load(ConsoleSchema(), data["console"], ("console",)) if data.get("console") else None
        customers = self.load(CustomersSchema(), data.get("customers") or {}, ("customers",)) or CustomersConfig()
        metrics = self.load(MetricsSchema(), data.get("metrics") or {}, ("metrics",)) or MetricsSettings()
        alerts = self.alerts(data.get("alerts") or [])
        if self.with_settings:
            self.check_annotators(hub.annotators)
        self.rate_limits: dict[str, Any] = {}
        self.polls: dict[str, Any] = {}
        self.enrichment: dict[str, EnrichmentPolicy] = {}
        connections = {name: connection for name, raw in self.section(data, "connections").items()
                       if (connection := self.connection(name, raw)) is not None}
        if not self.with_settings:
            return HubConfig(hub=hub, connections=connections, console=console, customers=customers,
                             metrics=metrics, alerts=alerts, path=self.filename)
        self.source_tokens: dict[str, Secret] = {}
        sources = {name: source for name, raw in self.section(data, "sources").items()
                   if (source := self.source(name, raw)) is not None}
        routes = self.routes(data.get("routes", []))
        self.check_customer_sources(customers, set(self.section(data, "sources")))
        if alerts and ALERT_SOURCE in sources:
            self.problem(("sources", ALERT_SOURCE), f"the source name {ALERT_SOURCE!r} is the hub's own, for the "
                                                    "cx.metric.alert events of `alerts:`: rename this source")
        return HubConfig(hub=hub, sources=sources, rate_limits=self.rate_limits, source_tokens=self.source_tokens,
                         polls=self.polls, enrichment=self.enrichment,
                         connections=connections, routes=routes, console=console, customers=customers,
                         metrics=metrics, alerts=alerts, path=self.filename)

    def alerts(self, raw: Any) -> tuple[AlertRule, ...]:
        """Every rule is checked through; a rule that does not compile is reported at its key's line."""
        if not isinstance(raw, list):
            self.problem(("alerts",), "'alerts' must be a list of rules")
            return ()
        rules: list[AlertRule] = []
        names: list[Any] = []
        for position, item in enumerate(raw):
            path: Path = ("alerts", position)
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in names:
                self.problem(path + ("name",), f"alert rule name {name!r} is used twice")
            names.append(name)
            entry = self.load(AlertRuleSchema(), item, path)
            if entry is None:
                continue
            try:
                rule = compile_rule(entry)
            except RuleProblem as error:
                self.problem(path + (error.key,), error.message)
                continue
            if rule.name not in names[:position]:
                rules.append(rule)
        return tuple(rules)

    def check_annotators(self, names: tuple[str, ...]) -> None:
        """Each of `hub.annotators` must be an installed plugin that implements cxhub_annotate_event."""
        able = sorted(name for name, plugin in self.plugins.plugins.items() if plugin.implements("cxhub_annotate_event"))
        for position, name in enumerate(names):
            plugin = self.plugins.get(name)
            if plugin is None or not plugin.implements("cxhub_annotate_event"):
                what = "no plugin" if plugin is None else "plugin"
                self.problem(("hub", "annotators", position),
                             f"{what} {name!r} {'is installed' if plugin is None else 'does not annotate events'} "
                             f"(annotators installed: {', '.join(able) or 'none'})")

    def check_customer_sources(self, customers: CustomersConfig, sources: set[str]) -> None:
        """`customers.namespaces` and `customers.identifiers[].sources` name configured sources."""
        known = ", ".join(sorted(sources)) or "none configured"
        for name in customers.namespaces:
            if name not in sources:
                self.problem(("customers", "namespaces", name), f"unknown source {name!r} (known: {known})")
        for position, mapped in enumerate(customers.identifiers):
            for number, name in enumerate(mapped.sources):
                if name not in sources:
                    self.problem(("customers", "identifiers", position, "sources", number),
                                 f"unknown source {name!r} (known: {known})")

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        section = data.get(key) or {}
        if not isinstance(section, dict):
            self.problem((key,), f"'{key}' must be a mapping of names to entries")
            return {}
        valid = {}
        for name, raw in section.items():
            try:
                NAME(name)
                if key == "sources":
                    RESERVED_SOURCE(name)
            except ValidationError as error:
                self.problem((key, name), f"invalid name: {error.messages[0]}")
                continue
            valid[name] = raw
        return valid

    def plugin_for(self, kind: str, plugin_name: str, path: Path) -> Any:
        """The installed plugin named `plugin_name` if it provides a `kind`; else report why and return None."""
        plugin = self.plugins.get(plugin_name)
        if plugin is None:
            known = ", ".join(getattr(self.plugins, kind + "s")()) or "none installed"
            self.problem(path + ("plugin",), f"unknown {kind} plugin {plugin_name!r} (known: {known})")
            return None
        if getattr(plugin.info, kind) is None:
            self.problem(path + ("plugin",), f"plugin {plugin_name!r} provides no {kind}")
            return None
        return plugin

    def plugin_settings(self, kind: str, plugin: Any, settings: Any, path: Path) -> Any:
        """Validate `settings` with the schema the plugin declares for `kind`; None if they are invalid."""
        declared = getattr(plugin.info, kind)
        if declared.settings is None:
            if settings:
                self.problem(path + ("settings",), f"plugin {plugin.info.name!r} takes no settings")
            return {}
        return self.load(declared.settings(), settings, path + ("settings",))

    def source(self, name: str, raw: Any) -> Source | None:
        path = ("sources", name)
        entry = self.load(SourceSchema(), raw, path)
        if entry is None:
            return None
        if entry["rate_limit"] is not None:
            self.rate_limits[name] = entry["rate_limit"]
        if entry["token"] is not None:
            self.source_tokens[name] = entry["token"]
        plugin = self.plugin_for("source", entry["plugin"], path)
        if plugin and entry["poll"] is not None:
            if plugin.implements("cxhub_poll"):
                self.polls[name] = entry["poll"]
            else:
                self.problem(path + ("poll",), f"plugin {entry['plugin']!r} cannot poll: it does not implement "
                                               "cxhub_poll (remove poll:, or use a plugin that reads the vendor's API)")
        if plugin and plugin.implements("cxhub_enrich_event"):
            self.enrichment[name] = EnrichmentPolicy(entry["api_rate_limit"], entry["api_retry"])
        elif plugin and entry["api_rate_limit"] is not None:
            self.problem(path + ("api_rate_limit",), f"plugin {entry['plugin']!r} makes no API calls to enrich "
                                                     "events (it does not implement cxhub_enrich_event)")
        settings = self.plugin_settings("source", plugin, entry["settings"], path) if plugin else None
        if settings is None:
            return None
        source_info = self.plugins.plugins[entry["plugin"]].info.source  # settings loaded: the plugin has a source
        if source_info and source_info.unsigned and source_info.unsigned(settings) and entry["token"] is None:
            self.problem(path + ("token",), "this source checks no signature, so it needs a token: "
                                            "{$env: NAME} that every request must carry as ?token=")
        api_url_setting = source_info.api_url_setting if source_info else None
        return Source(name, entry["plugin"], settings, client_for(settings, api_url_setting, timeout=SOURCE_API_TIMEOUT))

    def connection(self, name: str, raw: Any) -> ConnectionConfig | None:
        path = ("connections", name)
        if not self.with_settings and isinstance(raw, dict):
            raw = {key: value for key, value in raw.items() if key not in ("settings", "oauth")}  # not read, not checked
        entry, ok = self.load_partly(ConnectionSchema(), raw, path)
        zone, quiet = _wall_clock(entry)
        self.connection_zones[name] = zone
        if not self.with_settings:
            return ConnectionConfig(name, entry["plugin"], {}, entry["retry"], entry["timeout"],
                                    entry["circuit_breaker"], entry["max_in_flight"],
                                    rate_limit=entry["rate_limit"], zone=zone, quiet_hours=quiet) if ok else None
        plugin = self.plugin_for("connection", entry["plugin"], path) if isinstance(entry.get("plugin"), str) else None
        self.connection_plugins[name] = entry["plugin"] if plugin else None
        if plugin is None or not ok:
            return None
        settings = self.plugin_settings("connection", plugin, entry["settings"], path)
        info = plugin.info.connection
        if quiet is not None and not info.for_people:
            self.problem(path + ("quiet_hours",), f"plugin {entry['plugin']!r} sends nothing people read, so it has "
                                                  "no quiet hours (they are for chat and email connections)")
            return None
        if settings is None or not self.credentials_fit(info, settings, entry["oauth"], path):
            return None
        return ConnectionConfig(name, entry["plugin"], settings, entry["retry"], entry["timeout"],
                                entry["circuit_breaker"], entry["max_in_flight"], entry["oauth"],
                                entry["rate_limit"] or info.rate_limit, zone, quiet)

    def credentials_fit(self, info: ConnectionInfo, settings: Mapping[str, Any], oauth: OAuthConfig | None,
                        path: Path) -> bool:
        """An `oauth:` block only where the plugin takes one; with a static token setting, exactly one of the two."""
        if oauth is not None and not info.oauth:
            self.problem(path + ("oauth",), "this connection's plugin does not take an oauth: block (it "
                                            "authenticates with its own settings)")
            return False
        if info.oauth_required and oauth is None:
            if not self.depends_on_unresolved(path + ("oauth",)):
                self.problem(path, "this connection's plugin authenticates only with OAuth 2.0: add an oauth: block")
            return False
        if not (info.oauth and info.token_setting):
            return True
        token = info.token_setting
        if oauth is not None and settings.get(token) is not None:
            self.problem(path + ("oauth",), f"give either settings.{token} or an oauth: block, not both")
            return False
        if oauth is None and settings.get(token) is None:
            if not self.depends_on_unresolved(path + ("settings", token)) and not self.depends_on_unresolved(
                    path + ("oauth",)):
                self.problem(path + ("settings",), f"give settings.{token} or an oauth: block (the connection has "
                                                   "no credentials)")
            return False
        return True

    def routes(self, raw: Any) -> tuple[Route, ...]:
        """Every route is checked through: a bad `when` or a bad action hides nothing about the rest."""
        if not isinstance(raw, list):
            self.problem(("routes",), "'routes' must be a list")
            return ()
        routes, names = [], []
        for position, item in enumerate(raw):
            path: Path = ("routes", position)
            entry, ok = self.load_partly(RouteSchema(), item, path)
            names.append(entry.get("name"))
            raw_actions = entry.get("actions")
            actions = [self.action(spec, path + ("actions", number))
                       for number, spec in enumerate(raw_actions if isinstance(raw_actions, list) else [])]
            self.check_digests_distinct(actions, path)
            case = entry.get("case")
            if case is not None and case.owner is not None:
                try:
                    compile_params(case.owner, ("owner",))
                except TemplateProblem as error:
                    self.problem(path + ("case", "owner"), error.message)
                    ok = False
            if ok and None not in actions:
                routes.append(Route(entry["name"], entry["when"], tuple(actions), entry["run_on_updates"],  # type: ignore[arg-type]
                                    entry["shadow"], entry["max_per_hour"], case))
        for position, name in enumerate(names):
            if name is not None and name in names[:position]:
                self.problem(("routes", position, "name"), f"route name {name!r} is used twice")
        return tuple(routes)

    def action(self, raw: Any, path: Path) -> ActionSpec | None:
        """Check one action as far as it goes: its connection, then its action, then its parameters."""
        entry, ok = self.load_partly(ActionSchema(), raw, path)
        name = entry.get("connection")
        if name is None:
            return None
        if name not in self.connection_plugins:
            known = ", ".join(sorted(self.connection_plugins)) or "none configured"
            self.problem(path + ("connection",), f"unknown connection {name!r} (known: {known})")
            return None
        plugin_name = self.connection_plugins[name]
        action_name = entry.get("action")
        if plugin_name is None or action_name is None:
            return None  # the connection's own problem, or the missing action, is reported already
        plugin = self.plugins.plugins[plugin_name]  # the connection was loaded: its plugin is there
        action_info = plugin.info.actions.get(action_name)
        if action_info is None:
            known = ", ".join(sorted(plugin.info.actions))
            self.problem(path + ("action",), f"connection {name!r} ({plugin_name}) has no action {action_name!r} "
                                             f"(known: {known or 'none'})")
            return None
        if "params" not in entry:
            return None
        if action_info.params is not None:
            self.check_param_keys(action_info.params(), entry["params"], path + ("params",))
        params = unwrap_env(entry["params"])
        unquoted = list(_mappings_with_unhashable_keys(params))
        for where in unquoted:
            self.problem(path + ("params",) + where, "YAML read an unquoted template here as a mapping: quote it, "
                                                      "as in \"{{ data.text }}\"")
        if unquoted:
            return None
        try:
            compile_params(params, html_params=action_info.html_params)
        except TemplateProblem as error:
            self.problem(path + ("params",) + error.path, error.message)
        digest = self.digest(entry.get("digest"), params, plugin, name, path) if ok else None
        if ok and entry.get("digest") is not None and digest is None:
            return None
        once_per = self.once_per(entry, plugin, name, plugin_name, path)
        if once_per is False:
            return None
        return ActionSpec(name, action_name, params, digest,
                          once_per if isinstance(once_per, OncePer) else None) if ok else None

    def digest(self, raw: Mapping[str, Any] | None, params: Mapping[str, Any], plugin: Any, connection: str,
               path: Path) -> DigestSpec | None:
        """A digest only for a connection people read, with parameters written for a digest."""
        if raw is None:
            return None
        if not plugin.info.connection.for_people:
            self.problem(path + ("digest",), f"connection {connection!r} ({plugin.info.name}) sends nothing people "
                                             "read, so its actions cannot be digests (digests are for chat and email)")
            return None
        problems = list(digest_template_problems(params))
        for where, message in problems:
            self.problem(path + ("params",) + where, message)
        if problems:
            return None
        return DigestSpec(raw.get("every"), raw.get("at", ()), self.connection_zones.get(connection, ZoneInfo("UTC")),
                          raw["max_items"])

    def check_digests_distinct(self, actions: list[ActionSpec | None], path: Path) -> None:
        """A route collects one digest per connection action: two would share their events."""
        seen: set[tuple[str, str]] = set()
        for number, spec in enumerate(actions):
            if spec is None or spec.digest is None:
                continue
            if (spec.connection, spec.action) in seen:
                self.problem(path + ("actions", number, "digest"), f"this route already has a digest for "
                                                                    f"{spec.connection}.{spec.action}: make it one "
                                                                    "action, or use a second route")
            seen.add((spec.connection, spec.action))

    def once_per(self, entry: Mapping[str, Any], plugin: Any, connection: str, plugin_name: str,
                 path: Path) -> OncePer | None | bool:
        """The action's `once_per` and `otherwise`, checked like the action itself; False when they have a problem."""
        raw = entry.get("once_per")
        if raw is None:
            return None
        if "key" not in raw or "within" not in raw:  # its problem is reported already
            return False
        good = True
        try:
            compile_params(raw["key"], ("key",))
        except TemplateProblem as error:
            self.problem(path + ("once_per", "key"), error.message)
            good = False
        otherwise = None
        if entry.get("otherwise") is not None:
            wanted = entry["otherwise"]["action"]
            info = plugin.info.actions.get(wanted)
            if info is None:
                known = ", ".join(sorted(plugin.info.actions))
                self.problem(path + ("otherwise", "action"), f"connection {connection!r} ({plugin_name}) has no "
                                                             f"action {wanted!r} (known: {known or 'none'})")
                return False
            if info.params is not None:
                self.check_param_keys(info.params(), entry["otherwise"]["params"], path + ("otherwise", "params"))
            params = unwrap_env(entry["otherwise"]["params"])
            try:
                compile_params(params, html_params=info.html_params)
            except TemplateProblem as error:
                self.problem(path + ("otherwise", "params") + error.path, error.message)
                good = False
            otherwise = Otherwise(wanted, params)
        return OncePer(raw["key"], raw["within"], otherwise) if good else False

    def check_param_keys(self, schema: Schema, params: Mapping[str, Any], path: Path) -> None:
        """Parameters are templates until rendered, so only their keys can be checked here."""
        fields = {field.data_key or name: field for name, field in schema.load_fields.items()}
        for key in params:
            if key not in fields:
                self.problem(path + (key,), f"unknown parameter; expected one of {', '.join(sorted(fields))}")
        for key, field in fields.items():
            if field.required and key not in params:
                self.problem(path + (key,), "missing required parameter")


def _wall_clock(entry: Mapping[str, Any]) -> tuple[ZoneInfo, QuietHours | None]:
    """A connection's timezone (its own, else its quiet hours', else UTC) and its quiet hours."""
    raw = entry.get("quiet_hours")
    zone = entry.get("timezone") or (raw or {}).get("timezone") or ZoneInfo("UTC")
    if not raw or not {"start", "end", "days", "all_day"} <= raw.keys():
        return zone, None  # none, or not valid: its problems are reported
    days, all_day = (frozenset(DAYS.index(day) for day in raw[key] if day in DAYS) for key in ("days", "all_day"))
    return zone, QuietHours(raw["start"], raw["end"], raw.get("timezone") or zone, days, all_day)


def _mappings_with_unhashable_keys(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where a parameter holds a mapping keyed by something other than text: `{{ x }}` left unquoted."""
    if isinstance(value, Mapping):
        if any(not isinstance(key, str) for key in value):
            yield path
            return
        for key, item in value.items():
            yield from _mappings_with_unhashable_keys(item, path + (key,))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _mappings_with_unhashable_keys(item, path + (position,))
