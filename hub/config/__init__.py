"""The hub's configuration: YAML file plus environment, validated with marshmallow."""

from hub.config.loader import load_config, parse_config
from hub.config.model import ActionSpec, ConnectionConfig, HubConfig, HubSettings, RetryPolicy, Route
from hub.config.problems import ConfigError, Problem

__all__ = ["ActionSpec", "ConfigError", "ConnectionConfig", "HubConfig", "HubSettings", "Problem",
           "RetryPolicy", "Route", "load_config", "parse_config"]
