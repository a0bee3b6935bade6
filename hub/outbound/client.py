"""A connection's HttpClient as the core builds it: bound to its URL, with its OAuth token and its shared pace."""

from __future__ import annotations

from redis import Redis

from hub.config.model import ConnectionConfig
from hub.outbound.pace import SharedPace
from hub.outbound.tokens import SharedToken
from hub.plugin.http import HttpClient
from hub.plugin.settings import Secret


def connection_client(redis: Redis, prefix: str, config: ConnectionConfig, url_setting: str | None,
                      pace: SharedPace | None) -> HttpClient | None:
    """The client for `config`, or None when the plugin declares no URL setting or the setting is unset.

    The token endpoint is reached by the token's own session (hub.outbound.oauth), never through
    this client: the plugin's requests stay on the connection's origin.
    """
    url = config.settings.get(url_setting) if url_setting else None
    if isinstance(url, Secret):
        url = url.reveal()
    if not url:
        return None
    credentials = SharedToken(redis, prefix, config.name, config.oauth, timeout=config.timeout) \
        if config.oauth is not None else None
    return HttpClient(str(url), timeout=config.timeout, credentials=credentials, pace=pace)
