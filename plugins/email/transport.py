"""SMTP to the connection's own host only, with every failure turned into what the core should do.

- The server refuses a recipient or the message for good (5xx): give up; for now (4xx): retry.
- The server is down, slow or drops the connection: retry.
- It refuses the username and password (535: AuthFailed), will not do STARTTLS or AUTH, or shows a
  certificate that is not trusted: no delivery of the connection can succeed, so the connection is paused
  with the reason until an admin fixes its settings and resumes it.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from functools import lru_cache
from typing import Any, Mapping

from hub.plugin import AuthFailed, GiveUp, PauseConnection, RetryLater


@lru_cache(maxsize=8)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trusted CAs, or only `ca_file`'s; certificates and host names are always checked."""
    return ssl.create_default_context(cafile=ca_file)


def server(settings: Mapping[str, Any]) -> str:
    return f"{settings['host']}:{settings['port']}"


def send(settings: Mapping[str, Any], message: EmailMessage, to_addrs: list[str]) -> dict[str, Any]:
    """Send `message`; return the recipients the server refused while accepting the others."""
    try:
        session = open_session(settings)
        try:
            refused = session.send_message(message, to_addrs=to_addrs)
        finally:
            close_quietly(session)
    except smtplib.SMTPRecipientsRefused as error:
        raise refused_recipients(settings, error.recipients) from None
    except smtplib.SMTPAuthenticationError as error:
        reason = f"{server(settings)} refused the username and password: {error.smtp_code} {_text(error.smtp_error)}"
        if error.smtp_code >= 500:
            raise AuthFailed(reason, status_code=error.smtp_code) from None
        raise RetryLater(reason, status_code=error.smtp_code) from None
    except smtplib.SMTPResponseException as error:  # sender refused, data refused, ...
        raise by_code(error.smtp_code, f"{server(settings)} answered {error.smtp_code} "
                                       f"{_text(error.smtp_error)}") from None
    except smtplib.SMTPNotSupportedError as error:  # this message needs an extension (SMTPUTF8 addresses)
        raise GiveUp(f"{server(settings)}: {error}") from None
    except ssl.SSLCertVerificationError as error:
        raise PauseConnection(f"{server(settings)} showed a certificate that is not trusted "
                              f"({error.verify_message}); set ca_file for a private CA") from None
    except (smtplib.SMTPException, OSError) as error:  # refused, reset, timed out, TLS failed
        raise RetryLater(f"SMTP to {server(settings)} failed: {type(error).__name__}: {error}") from None
    return {address: f"{code} {_text(reply)}" for address, (code, reply) in refused.items()}


def open_session(settings: Mapping[str, Any]) -> smtplib.SMTP:
    """Connected, encrypted as `security` says and logged in; closed again if any step fails."""
    host, port, timeout = settings["host"], settings["port"], settings["timeout"]
    context = tls_context(settings["ca_file"])
    if settings["security"] == "tls":
        session: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        session = smtplib.SMTP(host, port, timeout=timeout)
    try:
        session.ehlo()
        if settings["security"] == "starttls":
            if not session.has_extn("starttls"):
                raise PauseConnection(f"{server(settings)} does not offer STARTTLS: nothing was sent in the clear "
                                      "(set security: none only for a trusted relay)")
            session.starttls(context=context)
            session.ehlo()
        if settings["username"] is not None:
            if not session.has_extn("auth"):
                raise PauseConnection(f"{server(settings)} does not offer AUTH: remove username and password "
                                      "for a relay that needs none")
            session.login(settings["username"], settings["password"].reveal())
    except BaseException:
        session.close()
        raise
    return session


def close_quietly(session: smtplib.SMTP) -> None:
    """QUIT, but a message the server accepted stays sent even if saying goodbye fails."""
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


def refused_recipients(settings: Mapping[str, Any], refused: Mapping[str, tuple[int, bytes]]) -> Exception:
    """Every recipient was refused: retry if any refusal was temporary (4xx), else give up."""
    reasons = "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in refused.items())
    codes = [code for code, _ in refused.values()]
    return by_code(min(codes), f"{server(settings)} refused every recipient: {reasons}")


def by_code(code: int, message: str) -> Exception:
    """SMTP's reply classes: 4xx is transient, 5xx permanent (RFC 5321 4.2.1)."""
    return GiveUp(message, status_code=code) if code >= 500 else RetryLater(message, status_code=code)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
