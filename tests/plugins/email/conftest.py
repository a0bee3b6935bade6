"""A real SMTP server on loopback (aiosmtpd), plain, with STARTTLS or with implicit TLS, and a CA the tests trust."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Recorder:
    """The server's handler: refuses the recipients in `refuse` with their reply, answers DATA from `data_replies`."""

    refuse: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    received: list[Envelope] = field(default_factory=list)
    offer_auth: bool = True

    async def handle_EHLO(self, server: Any, session: Any, envelope: Envelope, hostname: str,  # noqa: N802
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        return [line for line in responses if self.offer_auth or not line.startswith("250-AUTH")]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        self.received.append(envelope)
        return self.data_replies.pop(0) if self.data_replies else "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """What was received, parsed (with the wire's CRLF line ends read as newlines)."""
        return [message_from_bytes(envelope.original_content.replace(b"\r\n", b"\n"),  # type: ignore[union-attr]
                                   policy=policy.default) for envelope in self.received]


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder
    ca_file: str


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.fixture
def smtp_server(ca: tuple[trustme.CA, Path]) -> Iterator[Callable[..., SmtpServer]]:
    """Start servers: `smtp_server(security="starttls", users={"bot": "pw"}, refuse={...})`."""
    authority, ca_path = ca
    started: list[Controller] = []

    def start(security: str = "starttls", users: dict[str, str] | None = None, **handler: Any) -> SmtpServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        recorder = Recorder(**handler)

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            valid = (isinstance(auth_data, LoginPassword) and users is not None
                     and users.get(auth_data.login.decode()) == auth_data.password.decode())
            return AuthResult(success=valid, handled=False)

        options: dict[str, Any] = {"authenticator": authenticator if users is not None else None,
                                   "auth_required": users is not None}
        if security == "starttls":
            options.update(tls_context=context, require_starttls=True, auth_require_tls=True)
        elif security == "tls":
            options.update(ssl_context=context, auth_require_tls=False)  # aiosmtpd counts only STARTTLS as TLS
        else:
            options.update(auth_require_tls=False)
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), server_hostname="localhost",
                                **options)
        controller.start()
        started.append(controller)
        return SmtpServer(controller.port, recorder, str(ca_path))

    yield start
    for controller in started:
        controller.stop()
