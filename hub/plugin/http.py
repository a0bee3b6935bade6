"""The outbound HTTP client: one pooled session per connection (or source API), errors mapped to decisions.

Transport errors, 408, 429 and 5xx become RetryLater (honouring Retry-After); any
other 4xx becomes GiveUp. Requests can only go to the client's own origin. `get_json`
and `paginate` cover the follow-up calls of vendors whose webhooks carry only ids.

The core may give a client `credentials` (an OAuth connection: every request carries
`Authorization: Bearer <token>`, and a 401 renews the token once before the request is sent
again; a second 401 is AuthFailed) and a `pace` (the connection's shared rate limit: each request
waits for room, and a 429's Retry-After slows every worker of the connection).
"""

from __future__ import annotations

import email.utils
import os
import time
from typing import Any, Callable, Iterator, Mapping, Protocol
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from hub.plugin.errors import AuthFailed, GiveUp, RetryLater
from hub.plugin.settings import Secret

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_ERROR_BODY = 500  # quoted in messages
MAX_ERROR_DETAIL = 16_384  # kept on the error (`DeliveryError.body`) for plugins that read the vendor's error format
BACKOFF_STATUSES = frozenset({429, 503})  # answers whose Retry-After speaks for the whole connection
DEFAULT_BACKOFF_SECONDS = 1.0  # a 429 without Retry-After slows the connection this long


class Credentials(Protocol):
    """What authenticates a client's requests (the core's OAuth token of the connection)."""

    def current(self) -> str:
        """A valid access token."""

    def renew(self, stale: str) -> str:
        """A new access token, after the destination refused `stale`."""


class Pace(Protocol):
    """The connection's pace, shared by every worker."""

    def acquire(self) -> None:
        """Wait for room for one request, or raise Throttled."""

    def back_off(self, seconds: float) -> None:
        """Slow every worker of the connection for `seconds`."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _host(url: str) -> str:
    """Host and port only: a URL's user:password@ part never reaches a message."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}:{parts.port}" if parts.port else parts.hostname or ""


class HttpClient:
    """A `requests.Session` bound to one connection's base URL and timeout."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, user_agent: str = "cxhub",
                 credentials: Credentials | None = None, pace: Pace | None = None) -> None:
        scheme, netloc = _origin(base_url)
        if scheme not in ("http", "https") or not netloc:
            raise ValueError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.credentials = credentials
        self.pace = pace
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        # The environment's proxy and CA bundle settings are read once, here, rather than on every
        # request (about 8% of a delivery); ~/.netrc is not read: credentials come from settings.
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(self.base_url)
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def url_for(self, path: str) -> str:
        """Join `path` to the base URL, refusing any URL that leaves the connection's origin."""
        url = urljoin(self.base_url, path.lstrip("/")) if path else self.base_url.rstrip("/")
        if _origin(url) != _origin(self.base_url):
            raise GiveUp(f"refusing to send to {urlsplit(url).netloc!r}: only the connection's host is allowed")
        return url

    def request(self, method: str, path: str = "", **kwargs: Any) -> requests.Response:
        """Send a request and return a 2xx/3xx response, or raise RetryLater / GiveUp."""
        url = self.url_for(path)
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        token = self._authenticate(kwargs, self.credentials.current()) if self.credentials else None
        response = self._send(method, url, kwargs)
        if response.status_code == 401 and self.credentials is not None and token is not None:
            response.close()
            token = self._authenticate(kwargs, self.credentials.renew(token))
            response = self._send(method, url, kwargs)
            if response.status_code == 401:
                raise AuthFailed(f"{method} to {_host(url)} answered 401 to a newly renewed access token; fix the "
                                 f"connection's OAuth credentials or their permissions, then resume the connection: "
                                 f"{_body(response, token)[:MAX_ERROR_BODY]}", status_code=401)
        if response.status_code in BACKOFF_STATUSES and self.pace is not None:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None or response.status_code == 429:
                self.pace.back_off(DEFAULT_BACKOFF_SECONDS if after is None else after)
        raise_for_status(response, token)
        return response

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        if self.pace is not None:
            self.pace.acquire()
        try:
            return self.session.request(method, url, **kwargs)
        except requests.Timeout:
            raise RetryLater(f"{method} to {_host(url)} timed out after {kwargs['timeout']}s") from None
        except requests.ConnectionError as error:
            raise RetryLater(f"{method} to {_host(url)} failed to connect: {type(error).__name__}") from None

    @staticmethod
    def _authenticate(kwargs: dict[str, Any], token: str) -> str:
        """Put the bearer token on the request: it replaces any Authorization (or `auth=`) the caller gave."""
        headers = {name: value for name, value in (kwargs.get("headers") or {}).items()
                   if name.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {token}"
        kwargs["headers"], kwargs["auth"] = headers, None
        return token

    def __repr__(self) -> str:
        return f"HttpClient({_host(self.base_url)!r})"

    def post(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def get_json(self, path: str = "", **kwargs: Any) -> Any:
        """GET a JSON document (ids above 2**53 stay exact only as strings: orjson keeps ints exact)."""
        response = self.get(path, **kwargs)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise GiveUp(f"GET to {_host(response.url)} answered {response.status_code} with a body that is not "
                         "JSON") from None

    def close(self) -> None:
        self.session.close()


def paginate(client: HttpClient, path: str, *, items: Callable[[Any], list[Any]],
             next_page: Callable[[Any], str | None], max_pages: int = 100, **kwargs: Any) -> Iterator[Any]:
    """Yield the items of every page, following `next_page(document)` (a path or same-origin URL).

    `kwargs` (such as `params`) apply to the first request only: next links carry their own
    query. Stops after `max_pages` so a vendor bug cannot loop forever.
    """
    link: str | None = path
    for _ in range(max_pages):
        if not link:
            return
        document = client.get_json(link, **kwargs)
        yield from items(document)
        link, kwargs = next_page(document), {}


def client_for(settings: Mapping[str, Any], url_setting: str | None, *, timeout: float) -> HttpClient | None:
    """The client bound to the URL in `settings[url_setting]` (a Secret is revealed); None when unset."""
    url = settings.get(url_setting) if url_setting else None
    if isinstance(url, Secret):
        url = url.reveal()
    return HttpClient(str(url), timeout=timeout) if url else None


def _body(response: requests.Response, token: str | None = None) -> str:
    """The start of an error answer's body, with the request's own access token blanked out should it echo it."""
    body = response.text[:MAX_ERROR_DETAIL + (len(token) if token else 0)]
    return (body.replace(token, "********") if token else body)[:MAX_ERROR_DETAIL]


def raise_for_status(response: requests.Response, token: str | None = None) -> None:
    """Map an error response to RetryLater or GiveUp, quoting the start of its body."""
    status = response.status_code
    if status < 400:
        return
    detail = _body(response, token)
    # Only the host is quoted: some URLs carry a secret in their path (Slack incoming webhooks).
    message = f"{response.request.method} to {_host(response.url)} answered {status}: {detail[:MAX_ERROR_BODY]}"
    if status in RETRYABLE_STATUSES or status >= 500:
        after = retry_after_seconds(response.headers.get("Retry-After"))
        raise RetryLater(message, status_code=status, after=after, body=detail)
    raise GiveUp(message, status_code=status, body=detail)
