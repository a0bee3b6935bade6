"""`sources.<name>.poll`: a duration between 1m and 1d, only on a source whose plugin can poll."""

from __future__ import annotations

import pytest

import plugins.trustpilot as trustpilot
import plugins.typeform as typeform
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager

ENV = {"TF_SECRET": "s3cret", "TP_KEY": "key", "TP_TOKEN": "source-token"}


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([typeform, trustpilot], discover=False))


def trustpilot_source(poll: str) -> str:
    return f"sources:\n  reviews:\n    plugin: trustpilot\n    poll: {poll}\n    settings:\n      api_key: {{$env: TP_KEY}}\n    token: {{$env: TP_TOKEN}}\n"


@pytest.mark.parametrize("every, seconds", [("1m", 60), ("15m", 900), ("90s", 90), ("1h", 3600), ("1d", 86400)])
def test_a_poll_every_duration_loads_in_seconds(host, every, seconds):
    config = parse_config(trustpilot_source(f"{{every: {every}}}"), "cxhub.yaml", host, ENV)
    assert config.polls["reviews"].every_seconds == seconds


def test_a_source_without_poll_is_not_polled(host):
    text = "sources:\n  reviews:\n    plugin: trustpilot\n    token: {$env: TP_TOKEN}\n"
    assert parse_config(text, "cxhub.yaml", host, ENV).polls == {}


@pytest.mark.parametrize("poll, expected", [
    ("{every: 30s}", "cxhub.yaml:4: sources.reviews.poll.every: polls run between every 1m and every 1d"),
    ("{every: 2d}", "cxhub.yaml:4: sources.reviews.poll.every: polls run between every 1m and every 1d"),
    ("{every: 15 minutes}", "cxhub.yaml:4: sources.reviews.poll.every: '15 minutes' is not a duration; "
                            "write it like 30s, 15m, 1h or 1d"),
    ("{every: 15}", "cxhub.yaml:4: sources.reviews.poll.every: 15 is not a duration"),
    ("{every: -5m}", "cxhub.yaml:4: sources.reviews.poll.every: '-5m' is not a duration"),
    ("{}", "cxhub.yaml:4: sources.reviews.poll.every: Missing data for required field."),
    ("{every: 15m, evry: 1m}", "cxhub.yaml:4: sources.reviews.poll.evry: Unknown field."),
])
def test_bad_polls_are_reported_with_their_line(host, poll, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(trustpilot_source(poll), "cxhub.yaml", host, ENV)
    found = [str(problem) for problem in caught.value.problems]
    assert any(line.startswith(expected) for line in found), found


def test_a_plugin_that_cannot_poll_is_refused_a_poll(host):
    text = "sources:\n  tf:\n    plugin: typeform\n    poll: {every: 15m}\n    settings:\n      secret: {$env: TF_SECRET}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, ENV)
    assert [str(problem) for problem in caught.value.problems] == [
        "cxhub.yaml:4: sources.tf.poll: plugin 'typeform' cannot poll: it does not implement cxhub_poll (remove "
        "poll:, or use a plugin that reads the vendor's API)"]
