"""Loads plugins into a pluggy manager built per application and checks what they declare."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import pluggy
from marshmallow import Schema

from hub.plugin import hookspecs
from hub.plugin.types import PluginInfo

ENTRY_POINT_GROUP = "cxhub.plugins"
TRACE_ENV = "CXHUB_TRACE_PLUGINS"
trace_log = logging.getLogger("cxhub.plugins.trace")


class PluginError(Exception):
    """A plugin is broken: the message names the plugin, the hook and the fix."""


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin's declaration plus callers that reach only that plugin's hooks."""

    info: PluginInfo
    obj: object
    call: Callable[..., Any]
    hooks: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.info.name

    def implements(self, hook: str) -> bool:
        """Whether this plugin has an implementation of `hook` (optional hooks such as cxhub_poll)."""
        return hook in self.hooks


class PluginHost:
    """The plugins of one application, by name."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.plugins: dict[str, LoadedPlugin] = {}
        for obj in pm.get_plugins():
            plugin = _load(pm, obj)
            if plugin.name in self.plugins:
                raise PluginError(f"two plugins are named {plugin.name!r}: {pm.get_name(obj)} and "
                                  f"{pm.get_name(self.plugins[plugin.name].obj)}; rename one in cxhub_plugin_info")
            self.plugins[plugin.name] = plugin

    def get(self, name: str) -> LoadedPlugin | None:
        return self.plugins.get(name)

    def sources(self) -> list[str]:
        return sorted(name for name, plugin in self.plugins.items() if plugin.info.source)

    def connections(self) -> list[str]:
        return sorted(name for name, plugin in self.plugins.items() if plugin.info.connection)

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call a lifecycle hook on every plugin; a failing observer is logged, never propagated."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                self.pm.subset_hook_caller(hook, _others(self.pm, impl.plugin))(**kwargs)
            except Exception:
                logging.getLogger("cxhub.plugins").exception(
                    "plugin %s raised in %s; the hub carries on", impl.plugin_name, hook)


def build_plugin_manager(plugins: Iterable[object] = (), *, discover: bool = True) -> pluggy.PluginManager:
    """Build a fresh plugin manager: explicit plugins first, then the `cxhub.plugins` entry points."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    try:
        for plugin in plugins:
            pm.register(plugin, name=getattr(plugin, "__name__", None))
        if discover:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {getattr(error.plugin, '__name__', error.plugin)!r}: {error}. "
                          "Hook names and arguments are listed in hub/plugin/hookspecs.py") from error
    if os.environ.get(TRACE_ENV):
        enable_tracing(pm)
    return pm


def enable_tracing(pm: pluggy.PluginManager) -> None:
    """Log every hook call with its arguments and results (set CXHUB_TRACE_PLUGINS=1)."""

    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        trace_log.info("call %s to %s with %r", hook_name, [impl.plugin_name for impl in impls], kwargs)

    def after(outcome: pluggy.Result[Any], hook_name: str, impls: Sequence[pluggy.HookImpl],
              kwargs: Mapping[str, Any]) -> None:
        if outcome.exception is not None:
            trace_log.info("%s raised %r", hook_name, outcome.exception)
        else:
            trace_log.info("%s returned %r", hook_name, outcome.get_result())

    pm.add_hookcall_monitoring(before, after)


def _others(pm: pluggy.PluginManager, obj: object) -> list[object]:
    return [other for other in pm.get_plugins() if other is not obj]


def _implements(pm: pluggy.PluginManager, obj: object, hook: str) -> bool:
    return any(impl.plugin is obj for impl in getattr(pm.hook, hook).get_hookimpls())


def _load(pm: pluggy.PluginManager, obj: object) -> LoadedPlugin:
    registered = pm.get_name(obj)
    if not _implements(pm, obj, "cxhub_plugin_info"):
        raise PluginError(f"plugin {registered!r} does not implement cxhub_plugin_info; "
                          "add a @hookimpl returning PluginInfo(name=..., version=...)")
    others = _others(pm, obj)
    answers = pm.subset_hook_caller("cxhub_plugin_info", others)()
    info = answers[0] if answers else None
    if not isinstance(info, PluginInfo):
        raise PluginError(f"plugin {registered!r}: cxhub_plugin_info must return a PluginInfo, got {info!r}")
    _check_declaration(pm, obj, info)
    callers: dict[str, Any] = {}

    def call(hook: str, **kwargs: Any) -> Any:
        if hook not in callers:
            callers[hook] = pm.subset_hook_caller(hook, others)
        return callers[hook](**kwargs)

    hooks = frozenset(name for name in pm.hook.__dict__ if _implements(pm, obj, name))
    return LoadedPlugin(info=info, obj=obj, call=call, hooks=hooks)


def _check_declaration(pm: pluggy.PluginManager, obj: object, info: PluginInfo) -> None:
    name = info.name
    needed = []
    if info.source:
        needed += ["cxhub_verify_request", "cxhub_parse_request"]
    if info.actions:
        if not info.connection:
            raise PluginError(f"plugin {name!r} declares actions but no connection; add connection=ConnectionInfo(...)")
        needed.append("cxhub_run_action")
    for hook in needed:
        if not _implements(pm, obj, hook):
            raise PluginError(f"plugin {name!r} declares a {'source' if 'request' in hook else 'connection'} "
                              f"but does not implement {hook}; add a @hookimpl for it")
    schemas = [("source settings", info.source and info.source.settings),
               ("connection settings", info.connection and info.connection.settings)]
    schemas += [(f"action {action!r} params", spec.params) for action, spec in info.actions.items()]
    for what, schema in schemas:
        if schema is not None and not (isinstance(schema, type) and issubclass(schema, Schema)):
            raise PluginError(f"plugin {name!r}: {what} must be a marshmallow Schema class "
                              f"(subclass hub.plugin.SettingsSchema), got {schema!r}")
