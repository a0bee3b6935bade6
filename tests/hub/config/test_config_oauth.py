"""`oauth:` and `rate_limit:` on a connection: checked at load with file, line and key, secrets never shown."""

from __future__ import annotations

import textwrap
import types

import pytest

import plugins.jira as jira
import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.plugin import ConnectionInfo, PluginInfo, RateLimit, SecretField, SettingsSchema, fields, hookimpl
from hub.pluginhost import PluginHost, build_plugin_manager
from tests.hub.outbound.oauth_standin import rsa_key_pair


class CrmSettings(SettingsSchema):
    api_url = fields.String(required=True)
    access_token = SecretField(load_default=None)


crm = types.ModuleType("crm")
crm.cxhub_plugin_info = hookimpl(lambda: PluginInfo(  # type: ignore[attr-defined]
    "crm", "0.1", connection=ConnectionInfo(CrmSettings, url_setting="api_url", oauth=True,
                                            token_setting="access_token", rate_limit=RateLimit(100, 10))))

sf = types.ModuleType("sf")
class SfSettings(SettingsSchema):
    instance_url = fields.String(required=True)


sf.cxhub_plugin_info = hookimpl(lambda: PluginInfo(  # type: ignore[attr-defined]
    "sf", "0.1", connection=ConnectionInfo(SfSettings, url_setting="instance_url", oauth=True, oauth_required=True)))

PEM, _ = rsa_key_pair()
ENV = {"CLIENT_SECRET": "client-secret-value", "REFRESH": "refresh-token-value", "TOKEN": "static-token-value",
       "OUT_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "KEY": PEM, "NOT_A_KEY": "-----BEGIN nothing",
       "ONE_LINE_KEY": PEM.replace("\n", "\\n")}


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([crm, sf, webhook, jira], discover=False))


def load(text: str, host: PluginHost):
    return parse_config(textwrap.dedent(text), "cxhub.yaml", host, ENV)


def problems(text: str, host: PluginHost) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, host)
    found = [str(problem) for problem in caught.value.problems]
    assert not any(value in line for line in found for value in ENV.values()), found
    return found


CRM = """\
connections:
  crm:
    plugin: crm
    settings: {api_url: "https://api.hubapi.com"}
    oauth:
      grant: refresh_token
      token_url: https://api.hubapi.com/oauth/v1/token
      client_id: 5b7e2c1d-client
      client_secret: {$env: CLIENT_SECRET}
      refresh_token: {$env: REFRESH}
      scope: [crm.objects.contacts.write, tickets]
"""


def test_an_oauth_connection_loads_with_its_secrets_hidden_and_the_plugins_rate_limit(host):
    config = load(CRM, host)
    connection = config.connections["crm"]
    assert connection.oauth.grant == "refresh_token" and connection.oauth.scope == "crm.objects.contacts.write tickets"
    assert connection.oauth.refresh_token.reveal() == "refresh-token-value"
    assert connection.rate_limit == RateLimit(100, 10)  # the plugin's published default
    assert "refresh-token-value" not in repr(config) and "client-secret-value" not in repr(config)


def test_the_connections_own_rate_limit_wins(host):
    config = load(CRM + "    rate_limit: {requests: 50, per: 1m}\n", host)
    assert config.connections["crm"].rate_limit == RateLimit(50, 60)


@pytest.mark.parametrize("key", ["KEY", "ONE_LINE_KEY"])
def test_a_jwt_bearer_connection_loads(host, key):
    config = load("""\
    connections:
      out:
        plugin: webhook
        settings: {url: "https://example.my.salesforce.com", secret: {$env: OUT_SECRET}}
        oauth:
          grant: jwt_bearer
          token_url: https://login.salesforce.com/services/oauth2/token
          client_id: 3MVG9-consumer-key
          private_key: {$env: KEY}
          subject: integration@example.com
          audience: https://login.salesforce.com
    """.replace("KEY", key), host)
    assert config.connections["out"].oauth.subject == "integration@example.com"


@pytest.mark.parametrize("change, expected", [
    (("      refresh_token: {$env: REFRESH}\n", ""),
     "cxhub.yaml:5: connections.crm.oauth.refresh_token: the refresh_token grant needs refresh_token"),
    (("grant: refresh_token", "grant: password"),
     "cxhub.yaml:6: connections.crm.oauth.grant: Must be one of: client_credentials, refresh_token, jwt_bearer."),
    (("client_secret: {$env: CLIENT_SECRET}", "client_secret: inline-secret"),
     "cxhub.yaml:9: connections.crm.oauth.client_secret: secrets must come from the environment"),
    (("https://api.hubapi.com/oauth/v1/token", "http://api.hubapi.com/oauth/v1/token"),
     "cxhub.yaml:7: connections.crm.oauth.token_url: token_url must be https://"),
    (("https://api.hubapi.com/oauth/v1/token", "https://user:pw@api.hubapi.com/oauth/v1/token"),
     "cxhub.yaml:7: connections.crm.oauth.token_url: token_url must not carry a user or password"),
    (("      scope: [crm.objects.contacts.write, tickets]\n", "      scope: []\n      audience: x\n"),
     "cxhub.yaml:11: connections.crm.oauth.scope: write scope as one space-separated string"),
    (("      client_id: 5b7e2c1d-client\n", ""), "cxhub.yaml:5: connections.crm.oauth.client_id: Missing data"),
    (("      scope: [crm.objects.contacts.write, tickets]\n", "      subject: someone\n"),
     "cxhub.yaml:11: connections.crm.oauth.subject: the refresh_token grant does not use subject: remove it"),
    (("    settings: {api_url: \"https://api.hubapi.com\"}\n",
      "    settings: {api_url: \"https://api.hubapi.com\", access_token: {$env: TOKEN}}\n"),
     "cxhub.yaml:5: connections.crm.oauth: give either settings.access_token or an oauth: block, not both"),
])
def test_a_bad_oauth_block_is_reported_at_its_line(host, change, expected):
    found = problems(CRM.replace(*change), host)
    assert any(line.startswith(expected) for line in found), found


def test_a_connection_with_neither_a_token_nor_oauth_is_refused(host):
    found = problems(CRM[:CRM.index("    oauth:")], host)
    assert found == ["cxhub.yaml:4: connections.crm.settings: give settings.access_token or an oauth: block (the "
                     "connection has no credentials)"]


def test_a_static_token_alone_is_fine(host):
    config = load(CRM[:CRM.index("    oauth:")].replace('"}', '", access_token: {$env: TOKEN}}'), host)
    assert config.connections["crm"].oauth is None


def test_a_plugin_that_takes_no_oauth_refuses_the_block(host):
    found = problems("""\
    connections:
      jira:
        plugin: jira
        settings: {base_url: "https://example.atlassian.net", email: a@example.com, api_token: {$env: TOKEN}}
        oauth: {grant: client_credentials, token_url: "https://auth.atlassian.com/oauth/token", client_id: x,
                client_secret: {$env: CLIENT_SECRET}}
    """, host)
    assert found == ["cxhub.yaml:5: connections.jira.oauth: this connection's plugin does not take an oauth: block "
                     "(it authenticates with its own settings)"]


@pytest.mark.parametrize("key, expected", [
    ("NOT_A_KEY", "is not an unencrypted PEM private key"), ("CLIENT_SECRET", "is not an unencrypted PEM private key")])
def test_a_private_key_that_is_not_one_is_refused_without_quoting_it(host, key, expected):
    found = problems(f"""\
    connections:
      out:
        plugin: webhook
        settings: {{url: "https://example.my.salesforce.com", secret: {{$env: OUT_SECRET}}}}
        oauth:
          grant: jwt_bearer
          token_url: https://login.salesforce.com/services/oauth2/token
          client_id: 3MVG9-consumer-key
          private_key: {{$env: {key}}}
          subject: integration@example.com
          audience: https://login.salesforce.com
    """, host)
    assert found == [f"cxhub.yaml:9: connections.out.oauth.private_key: Secret(${key}) {expected} "
                     "(-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"]


@pytest.mark.parametrize("rate, expected", [
    ("{requests: 0, per: 10s}", "cxhub.yaml:12: connections.crm.rate_limit.requests: Must be greater than or equal to 1"),
    ("{requests: 100, per: 10}", "cxhub.yaml:12: connections.crm.rate_limit.per: 10 is not a duration"),
    ("{requests: 100}", "cxhub.yaml:12: connections.crm.rate_limit.per: Missing data"),
    ("{requests: 100, per: 10s, burst: 3}", "cxhub.yaml:12: connections.crm.rate_limit.burst: Unknown field."),
])
def test_a_bad_rate_limit_is_reported_at_its_line(host, rate, expected):
    found = problems(CRM + f"    rate_limit: {rate}\n", host)
    assert any(line.startswith(expected) for line in found), found


def test_a_read_only_load_needs_no_oauth_secret(host):
    config = parse_config(textwrap.dedent(CRM), "cxhub.yaml", host, {}, with_settings=False)
    assert config.connections["crm"].oauth is None and "crm" in config.connections


def test_a_plugin_that_requires_oauth_refuses_a_connection_without_it(host):
    text = "connections:\n  sf:\n    plugin: sf\n    settings: {instance_url: \"https://example.my.salesforce.com\"}\n"
    assert problems(text, host) == [
        "cxhub.yaml:2: connections.sf: this connection's plugin authenticates only with OAuth 2.0: add an oauth: block"]


@pytest.mark.parametrize("declared", [{"token_setting": "access_token"}, {"oauth_required": True},
                                      {"oauth": True, "url_setting": None},
                                      {"oauth": True, "token_setting": "access_token", "oauth_required": True}])
def test_contradictory_declarations_are_refused(declared):
    with pytest.raises(ValueError):
        ConnectionInfo(**declared)
