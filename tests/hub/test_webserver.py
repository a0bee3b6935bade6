"""The embedded server over real sockets: slow clients, declared lengths and lies about them.

Every case asserts what the hostile connection is answered (or that it is closed), that
nothing was stored, and that a normal signed request sent meanwhile or right after gets its
202. Timeouts here are hang detectors, never speed assertions.
"""

from __future__ import annotations

import re
import select
import socket
import time
from typing import Iterator

import orjson
import pytest
import requests

import plugins.typeform as typeform
from hub.testing import hmac_signature
from hub.testing.slow_clients import SlowClients
from hub.webserver import server_settings
from tests.conftest import fixture_bytes

SECRET = "typeform-secret-for-tests"
SAMPLE = fixture_bytes("typeform/form_response.json")
LIMIT = 64 * 1024
CONFIG = f"""
hub: {{max_body_bytes: {LIMIT}}}
sources:
  typeform:
    plugin: typeform
    settings: {{secret: {{$env: TF_SECRET}}}}
"""
HANG = 20  # seconds after which a connection that should have been answered counts as hung
SLOW_CONNECTIONS = 200


def signature(body: bytes) -> str:
    return "sha256=" + hmac_signature(SECRET, body, encoding="base64")


def sample(response_id: int) -> bytes:
    """The Typeform sample with its own event id, so each one is a new event."""
    payload = orjson.loads(SAMPLE)
    payload["event_id"] = f"evt-{response_id}"
    return orjson.dumps(payload)


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG, plugins=[typeform], env={"TF_SECRET": SECRET})


@pytest.fixture
def url(hub) -> str:
    return hub.serve_embedded(threads=4)


def post_normal(url: str, number: int) -> requests.Response:
    body = sample(number)
    return requests.post(f"{url}/hooks/typeform", data=body, timeout=HANG,
                         headers={"Typeform-Signature": signature(body), "Content-Type": "application/json"})


def stored(hub) -> tuple[int, int]:
    return len(hub.store.reads.events()), len(hub.store.quarantine.requests(status=None))


def raw(url: str, data: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=HANG)
    sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    return received


def send_until_answered(sock: socket.socket, data: bytes, piece: int = 4096) -> None:
    """Send `data` in pieces, stopping once the server has answered (it closes after an error answer,
    and bytes sent after that would reset the connection before its answer is read)."""
    for start in range(0, len(data), piece):
        if select.select([sock], [], [], 0.01)[0]:
            return
        try:
            sock.sendall(data[start:start + piece])
        except OSError:
            return


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


def json_errors(answer: bytes) -> list[str]:
    return [orjson.loads(body)["error"]["code"] for body in re.findall(rb'(\{"error":.*?\}\})', answer)]


def head(content_length: int | None = None, extra: str = "", body_for_signature: bytes = b"") -> bytes:
    length = f"Content-Length: {content_length}\r\n" if content_length is not None else ""
    return (f"POST /hooks/typeform HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            f"Typeform-Signature: {signature(body_for_signature)}\r\n{length}{extra}\r\n").encode()


@pytest.fixture
def tricklers(url) -> Iterator[SlowClients]:
    host, port = url.removeprefix("http://").split(":")
    held = SlowClients(host, int(port), SLOW_CONNECTIONS)
    yield held
    held.close()


def test_slow_clients_leave_normal_requests_answered(hub, url, tricklers):
    time.sleep(2.5)  # every slow connection is accepted and has trickled
    answers = [post_normal(url, number).status_code for number in range(20)]
    assert answers == [202] * 20
    assert tricklers.bytes_sent >= SLOW_CONNECTIONS and tricklers.open_count() == SLOW_CONNECTIONS
    assert stored(hub) == (20, 0)  # the slow ones stored nothing


def test_the_server_limits_follow_the_hub_config():
    settings = server_settings(LIMIT, 4)
    assert settings["max_request_body_size"] - 1 == LIMIT  # the largest body waitress takes is the hub's limit
    assert settings["connection_limit"] >= 1000 and settings["asyncore_use_poll"] is True


def test_a_declared_huge_body_is_refused_before_it_is_sent(hub, url):
    sock = raw(url, head(200 * 1024 * 1024) + b'{"event_id": ')  # 200 MB declared, 13 bytes sent
    answer = read_until_closed(sock)  # answered and closed while the client has sent next to nothing
    assert statuses(answer) == [413] and json_errors(answer) == ["body_too_large"]
    assert b"the body is over the 65536-byte limit of this hub" in answer
    assert stored(hub) == (0, 0)
    assert post_normal(url, 1).status_code == 202


def test_a_declared_length_one_over_the_limit_is_refused_and_the_limit_itself_is_taken(hub, url):
    over = raw(url, head(LIMIT + 1))
    assert statuses(read_until_closed(over)) == [413]
    payload = {**orjson.loads(SAMPLE), "pad": ""}
    payload["pad"] = "p" * (LIMIT - len(orjson.dumps(payload)))
    padded = orjson.dumps(payload)
    assert len(padded) == LIMIT
    answer = requests.post(f"{url}/hooks/typeform", data=padded, timeout=HANG,
                           headers={"Typeform-Signature": signature(padded), "Content-Type": "application/json"})
    assert answer.status_code == 202
    assert stored(hub) == (1, 0)


def test_a_chunked_body_over_the_limit_is_cut_off(hub, url):
    chunk = b"x" * 8192
    sock = raw(url, head(extra="Transfer-Encoding: chunked\r\n"))
    send_until_answered(sock, b"%x\r\n%s\r\n" % (len(chunk), chunk) * (LIMIT // len(chunk) + 2))
    answer = read_until_closed(sock)
    assert statuses(answer) == [413] and json_errors(answer) == ["body_too_large"]
    assert stored(hub) == (0, 0)
    assert post_normal(url, 1).status_code == 202


def test_a_chunked_body_within_the_limit_is_taken(hub, url):
    body = sample(5)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:]))
    sock = raw(url, head(extra="Transfer-Encoding: chunked\r\nConnection: close\r\n", body_for_signature=body)
               + chunks + b"0\r\n\r\n")
    assert statuses(read_until_closed(sock)) == [202]
    assert stored(hub) == (1, 0)


def test_a_body_shorter_than_declared_is_closed_when_idle_and_holds_no_thread(make_hub):
    hub = make_hub(CONFIG, plugins=[typeform], env={"TF_SECRET": SECRET})
    url = hub.serve_embedded(threads=1, channel_timeout=1, cleanup_interval=1)  # one thread: a held one would show
    stalled = raw(url, head(len(SAMPLE), body_for_signature=SAMPLE) + SAMPLE[:100])  # then nothing more
    assert [post_normal(url, number).status_code for number in range(3)] == [202] * 3  # served meanwhile
    assert read_until_closed(stalled) == b""  # closed by the server once idle, never answered
    assert stored(hub) == (3, 0)


def test_a_body_longer_than_declared_is_cut_at_the_declared_length(hub, url):
    body = sample(7)
    extra = b"GARBAGE-AFTER-THE-BODY\r\n\r\n"  # read as a next request, which is malformed
    sock = raw(url, head(len(body) - 10, body_for_signature=body) + body + extra)
    answer = read_until_closed(sock)
    assert statuses(answer) == [401, 400], answer  # the signature does not cover the declared body; then junk
    assert json_errors(answer) == ["invalid_signature", "bad_request"]
    assert stored(hub) == (0, 0)
    assert post_normal(url, 1).status_code == 202


@pytest.mark.parametrize(("framing", "answer"), [
    # Transfer-Encoding wins (RFC 9112, 6.3): the body is the one chunk, "hello", and its signature is wrong
    ("Content-Length: 10\r\nTransfer-Encoding: chunked\r\n", 401),
    ("Content-Length: 10\r\nContent-Length: 20\r\n", 400),
    ("Content-Length: +10\r\n", 400),
    ("Content-Length: 10, 20\r\n", 400),
    ("Transfer-Encoding: gzip, chunked\r\n", 501),
    ("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", 501),
], ids=["length-and-chunked", "two-lengths", "signed-length", "length-list", "gzip-chunked", "two-encodings"])
def test_ambiguous_framing_gets_one_answer_and_stores_nothing(hub, url, framing, answer):
    sock = raw(url, head(extra=framing + "Connection: close\r\n") + b"5\r\nhello\r\n0\r\n\r\n")
    received = read_until_closed(sock)
    assert statuses(received) == [answer], received
    assert stored(hub) == (0, 0)
    assert post_normal(url, 1).status_code == 202


def test_oversized_headers_are_refused(hub, url):
    sock = raw(url, b"POST /hooks/typeform HTTP/1.1\r\nHost: hub\r\n")
    send_until_answered(sock, head(extra="X-Big: " + "h" * (70 * 1024) + "\r\n"))
    answer = read_until_closed(sock)
    assert statuses(answer) == [431] and json_errors(answer) == ["headers_too_large"]
    assert post_normal(url, 1).status_code == 202
