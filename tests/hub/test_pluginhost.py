"""Loading plugins: clear errors for broken ones, lifecycle hooks, isolation of failures, tracing."""

from __future__ import annotations

import logging
import pytest

import plugins.webhook as webhook
from hub.plugin import ActionInfo, ConnectionInfo, PluginInfo, SourceInfo, hookimpl
from hub.pluginhost import PluginError, PluginHost, build_plugin_manager
from tests.conftest import APP_SOURCE, WHSEC, detractor, send


def plugin(name: str = "demo_plugin", **hooks) -> type:
    """A plugin object made of the given hook functions (a class: pluggy takes any named object)."""
    return type(name, (), {hook: staticmethod(hookimpl(function)) for hook, function in hooks.items()})


def info(name="demo", **kwargs):
    return lambda: PluginInfo(name=name, version="1.0", **kwargs)


def load(*plugins) -> PluginHost:
    return PluginHost(build_plugin_manager(plugins, discover=False))


def test_unknown_hook_names_the_plugin_and_where_hooks_are_listed():
    with pytest.raises(PluginError, match=r"unknown hook 'cxhub_verify'.*hub/plugin/hookspecs.py"):
        load(plugin(cxhub_plugin_info=info(), cxhub_verify=lambda source, request: None))


def test_hook_taking_arguments_the_hook_does_not_offer():
    with pytest.raises(PluginError, match=r"plugin 'demo_plugin'.*cxhub_verify_request(.|\n)*\{'secret'\}"):
        load(plugin(cxhub_plugin_info=info(), cxhub_verify_request=lambda source, request, secret: None))


def test_plugin_without_info():
    with pytest.raises(PluginError, match="does not implement cxhub_plugin_info"):
        load(plugin(cxhub_event_accepted=lambda event: None))


def test_source_without_verification_is_refused():
    with pytest.raises(PluginError, match="'demo' declares a source but does not implement cxhub_verify_request"):
        load(plugin(cxhub_plugin_info=info(source=SourceInfo()), cxhub_parse_request=lambda source, request: []))


def test_actions_need_a_connection_and_a_run_hook():
    with pytest.raises(PluginError, match="declares actions but no connection"):
        load(plugin(cxhub_plugin_info=info(actions={"go": ActionInfo()})))
    with pytest.raises(PluginError, match="does not implement cxhub_run_action"):
        load(plugin(cxhub_plugin_info=info(connection=ConnectionInfo(), actions={"go": ActionInfo()})))


def test_settings_must_be_a_marshmallow_schema():
    with pytest.raises(PluginError, match="connection settings must be a marshmallow Schema class"):
        load(plugin(cxhub_plugin_info=info(connection=ConnectionInfo(settings={"url": str}))))


def test_info_must_be_plugin_info_and_names_unique():
    with pytest.raises(PluginError, match="must return a PluginInfo, got"):
        load(plugin(cxhub_plugin_info=lambda: {"name": "demo"}))
    with pytest.raises(PluginError, match="two plugins are named 'demo'"):
        load(plugin("one", cxhub_plugin_info=info()), plugin("two", cxhub_plugin_info=info()))


CRASHING = """
connections:
  crash:
    plugin: crashing
  out:
    plugin: webhook
    settings: {url: "%s", secret: {$env: APP_SECRET}}
routes:
  - name: both
    actions:
      - {connection: crash, action: explode}
      - {connection: out, action: forward}
"""


def test_lifecycle_hooks_and_a_crashing_action_failing_only_its_delivery(make_hub, httpserver, caplog):
    seen: list[tuple[str, str]] = []
    observer = plugin(
        "observer", cxhub_plugin_info=info("observer"),
        cxhub_event_accepted=lambda event: seen.append(("accepted", event["id"])),
        cxhub_delivery_succeeded=lambda delivery, result: seen.append(("succeeded", delivery["connection"])),
        cxhub_delivery_dead_lettered=lambda delivery, error: seen.append(("dead", error)),
    )
    broken_observer = plugin("noisy", cxhub_plugin_info=info("noisy"),
                             cxhub_event_accepted=lambda event: 1 / 0)

    def explode(connection, action, params, event, delivery):
        raise KeyError("oops")

    crashing = plugin("crashing", cxhub_plugin_info=info("crashing", connection=ConnectionInfo(url_setting=None),
                                             actions={"explode": ActionInfo()}),
                      cxhub_run_action=explode)
    httpserver.expect_request("/out").respond_with_data("")
    hub = make_hub(APP_SOURCE + CRASHING % httpserver.url_for("/out"),
                   plugins=[webhook, observer, broken_observer, crashing], env={"APP_SECRET": WHSEC})
    response = send(hub, detractor())
    assert response.status_code == 202  # the noisy observer's ZeroDivisionError is logged, not raised
    hub.drain()
    statuses = {d.connection: (d.status, d.last_error) for d in hub.store.reads.deliveries()}
    assert statuses["out"] == ("succeeded", None)
    assert statuses["crash"] == ("dead", "plugin error: KeyError: 'oops'")
    assert ("accepted", response.json["accepted"][0]) in seen
    assert ("succeeded", "out") in seen and ("dead", "plugin error: KeyError: 'oops'") in seen
    assert "plugin noisy raised in cxhub_event_accepted" in caplog.text


def test_trace_switch_logs_every_hook_call(monkeypatch, caplog):
    monkeypatch.setenv("CXHUB_TRACE_PLUGINS", "1")
    host = load(plugin(cxhub_plugin_info=info("traced"), cxhub_event_accepted=lambda event: None))
    with caplog.at_level(logging.INFO, logger="cxhub.plugins.trace"):
        host.notify("cxhub_event_accepted", event={"id": "e1"})
        host.get("traced").call("cxhub_plugin_info")
    assert "call cxhub_event_accepted" in caplog.text and "'id': 'e1'" in caplog.text
    assert "cxhub_plugin_info returned [PluginInfo(name='traced'" in caplog.text


def test_a_crashing_parser_answers_500_and_keeps_the_request(make_hub, caplog):
    def parse(source, request):
        return [{"not": "a draft"}][0]["missing"]

    broken = plugin("broken", cxhub_plugin_info=info("broken", source=SourceInfo()),
                    cxhub_verify_request=lambda source, request: None, cxhub_parse_request=parse)
    hub = make_hub("sources:\n  b: {plugin: broken}\n", plugins=[broken])
    response = hub.post("b", b"{}")
    assert response.status_code == 500
    assert response.json["error"] == {
        "code": "plugin_error", "quarantine_id": hub.store.quarantine.requests()[0].id,
        "message": "the broken plugin failed on this request; it is kept in quarantine for replay"}
    assert hub.store.quarantine.requests()[0].error == "plugin error: KeyError: 'missing'"
    assert "plugin 'broken' raised while verifying or parsing" in caplog.text
