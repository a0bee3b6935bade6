"""email.send end to end: a signed webhook in, a real Redis job, a real SMTP server on loopback receiving the mail."""

from __future__ import annotations

import pytest

import plugins.email as email_plugin
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE, WHSEC, detractor, send

# aiosmtpd warns of AUTH without STARTTLS even when the whole session is implicit TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

PASSWORD = "correct horse battery staple"
CONNECTION = """
connections:
  mail:
    plugin: email
    settings:
      host: 127.0.0.1
      port: %(port)d
      security: %(security)s
      %(auth)s
      from: "CX Alerts <alerts@cx.example.com>"
      timeout: 5
      %(ca)s
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
"""
AUTH = "username: bot\n      password: {$env: SMTP_PASSWORD}"
ROUTE = """
routes:
  - name: alerts
    actions:
      - connection: mail
        action: send
        params:
          to: "CX Team <cx-team@example.com>"
          cc: ["leads@example.com", "{{ data.customer.email }}"]
          reply_to: "{{ data.customer.name }} <{{ data.customer.email }}>"
          subject: "Detractor: {{ data.customer.name }} scored {{ data.score.value }}"
          text: "{{ data.customer.name }} said: {{ data.text }}\\n{{ data.link.url }}"
          html: "<p><b>{{ data.customer.name }}</b> said: {{ data.text }}</p>"
"""


def mail_hub(make_hub, port: int, *, security: str = "starttls", auth: bool = True, ca_file: str | None = None,
             password: str = PASSWORD, route: str = ROUTE):
    config = CONNECTION % {"port": port, "security": security, "auth": AUTH if auth else "",
                           "ca": f'ca_file: "{ca_file}"' if ca_file else ""}
    return make_hub(APP_SOURCE + config + route, plugins=[webhook, email_plugin],
                    env={"APP_SECRET": WHSEC, "SMTP_PASSWORD": password})


def only_delivery(hub):
    [delivery] = hub.store.reads.deliveries()
    return delivery, hub.store.reads.attempts(delivery.id)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_the_mail_arrives_with_both_alternatives_and_every_header(make_hub, smtp_server, security):
    server = smtp_server(security, users={"bot": PASSWORD})
    hub = mail_hub(make_hub, server.port, security=security, ca_file=server.ca_file)
    send(hub, detractor(comment="Refunds take <weeks> & more"))
    hub.drain()
    delivery, _ = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error

    [envelope] = server.recorder.received
    assert envelope.mail_from == "alerts@cx.example.com"
    assert envelope.rcpt_tos == ["cx-team@example.com", "leads@example.com", "ann@example.com"]
    [message] = server.recorder.messages()
    assert message["From"] == "CX Alerts <alerts@cx.example.com>"
    assert message["To"] == "CX Team <cx-team@example.com>"
    assert message["Cc"] == "leads@example.com, ann@example.com"
    assert message["Reply-To"] == "Ann Lee <ann@example.com>"
    assert message["Subject"] == "Detractor: Ann Lee scored 2"
    assert message["Message-ID"] == f"<{delivery.id}@cx.example.com>"
    assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert "Bcc" not in message
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content() == "Ann Lee said: Refunds take <weeks> & more\nhttps://surveys.example.com/r/1001\n"
    assert html.get_content_type() == "text/html"
    assert html.get_content() == "<p><b>Ann Lee</b> said: Refunds take &lt;weeks&gt; &amp; more</p>\n"
    assert f'"external_id":"<{delivery.id}@cx.example.com>"' in delivery.result


def test_without_html_the_mail_is_plain_text_over_a_relay_without_tls(make_hub, smtp_server):
    server = smtp_server("none")
    route = ROUTE.replace('          html: "<p><b>{{ data.customer.name }}</b> said: {{ data.text }}</p>"\n', "")
    hub = mail_hub(make_hub, server.port, security="none", auth=False, route=route)
    send(hub, detractor())
    hub.drain()
    assert only_delivery(hub)[0].status == "succeeded"
    [message] = server.recorder.messages()
    assert message.get_content_type() == "text/plain"
    assert message.get_content().startswith("Ann Lee said: The export keeps failing.")


def test_a_retry_sends_the_same_message_id(make_hub, smtp_server):
    server = smtp_server(users={"bot": PASSWORD}, data_replies=["451 4.3.0 Temporary local problem, try later"])
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file)
    send(hub, detractor())
    hub.drain()
    delivery, attempt_log = only_delivery(hub)
    assert delivery.status == "succeeded" and len(attempt_log) == 2
    first, second = server.recorder.messages()
    assert first["Message-ID"] == second["Message-ID"] == f"<{delivery.id}@cx.example.com>"
    assert attempt_log[0].status_code == 451


def test_a_customer_name_with_a_line_break_cannot_add_a_header(make_hub, smtp_server):
    server = smtp_server(users={"bot": PASSWORD})
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file)
    payload = detractor()
    payload["customer"]["name"] = "Ann\r\nBcc: attacker@evil.example"
    send(hub, payload)
    hub.drain()
    delivery, attempt_log = only_delivery(hub)
    assert server.recorder.received == []  # nothing sent, so no Bcc either
    assert delivery.status == "dead" and len(attempt_log) == 1
    assert "must be one line" in delivery.last_error


@pytest.mark.parametrize("reply, attempts", [("550 5.1.1 User unknown", 1),  # refused for good: given up
                                            ("450 4.2.1 Mailbox busy", 2)])  # for now: retried to max_attempts
def test_a_refused_recipient_gives_up_or_is_retried_as_its_reply_code_says(make_hub, smtp_server, reply, attempts):
    route = ROUTE.replace('cc: ["leads@example.com", "{{ data.customer.email }}"]', "cc: []")
    server = smtp_server(users={"bot": PASSWORD}, refuse={"cx-team@example.com": reply})
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file, route=route)
    send(hub, detractor())
    hub.drain()
    delivery, attempt_log = only_delivery(hub)
    assert delivery.status == "dead" and len(attempt_log) == attempts
    assert f"refused every recipient: cx-team@example.com: {reply}" in delivery.last_error
    assert server.recorder.received == []


def test_when_some_recipients_are_refused_the_others_get_it_and_the_refusals_are_kept(make_hub, smtp_server):
    server = smtp_server(users={"bot": PASSWORD}, refuse={"leads@example.com": "550 5.1.1 User unknown"})
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file)
    send(hub, detractor())
    hub.drain()
    delivery, _ = only_delivery(hub)
    assert delivery.status == "succeeded"  # a retry would send the others a second copy
    assert server.recorder.received[0].rcpt_tos == ["cx-team@example.com", "ann@example.com"]
    assert '"refused":{"leads@example.com":"550 5.1.1 User unknown"}' in delivery.result


def test_a_server_that_is_down_is_retried(make_hub):
    from tests.plugins.email.conftest import free_port

    port = free_port()  # nothing listens there
    hub = mail_hub(make_hub, port)
    send(hub, detractor())
    hub.drain()
    delivery, attempt_log = only_delivery(hub)
    assert delivery.status == "dead" and len(attempt_log) == 2
    assert f"SMTP to 127.0.0.1:{port} failed: ConnectionRefusedError" in delivery.last_error


def pause_reason(hub) -> tuple[str, int | None]:
    deliveries = hub.store.reads.deliveries()
    assert sorted(d.status for d in deliveries) == ["queued", "retrying"]  # none dead: they wait
    [tried] = [d for d in deliveries if d.attempts == 1]
    [attempt] = hub.store.reads.attempts(tried.id)
    assert attempt.outcome == "paused"
    return tried.last_error, attempt.status_code


def test_bad_credentials_pause_the_connection_with_the_reason(make_hub, smtp_server):
    server = smtp_server(users={"bot": PASSWORD})
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file, password="wrong password")
    send(hub, detractor(response_id=1), msg_id="msg_1")
    send(hub, detractor(response_id=2), msg_id="msg_2")
    hub.drain()
    error, status = pause_reason(hub)
    assert status == 535
    assert error.startswith(f"127.0.0.1:{server.port} refused the username and password: 535")
    assert "wrong password" not in error and server.recorder.received == []


def test_an_untrusted_certificate_pauses_the_connection(make_hub, smtp_server):
    server = smtp_server(users={"bot": PASSWORD})
    hub = mail_hub(make_hub, server.port)  # no ca_file: the test CA is not trusted
    send(hub, detractor(response_id=1), msg_id="msg_1")
    send(hub, detractor(response_id=2), msg_id="msg_2")
    hub.drain()
    error, _ = pause_reason(hub)
    assert "certificate that is not trusted" in error and "set ca_file" in error


def test_a_server_without_starttls_pauses_the_connection_rather_than_send_in_the_clear(make_hub, smtp_server):
    server = smtp_server("none")
    hub = mail_hub(make_hub, server.port, security="starttls")
    send(hub, detractor(response_id=1), msg_id="msg_1")
    send(hub, detractor(response_id=2), msg_id="msg_2")
    hub.drain()
    error, _ = pause_reason(hub)
    assert "does not offer STARTTLS" in error and server.recorder.received == []


def test_a_server_without_auth_pauses_the_connection_rather_than_send_unauthenticated(make_hub, smtp_server):
    server = smtp_server(users={"bot": PASSWORD}, offer_auth=False)
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file)
    send(hub, detractor(response_id=1), msg_id="msg_1")
    send(hub, detractor(response_id=2), msg_id="msg_2")
    hub.drain()
    error, _ = pause_reason(hub)
    assert "does not offer AUTH" in error and server.recorder.received == []


def test_refused_credentials_are_auth_failed(make_hub, smtp_server):
    """AuthFailed, not a plain PauseConnection: the hook, the log and the console read it as bad credentials."""
    from email.message import EmailMessage

    from hub.plugin import AuthFailed
    from plugins.email.transport import send as smtp_send

    server = smtp_server(users={"bot": PASSWORD})
    hub = mail_hub(make_hub, server.port, ca_file=server.ca_file, password="wrong password")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "alerts@cx.example.com", "cx-team@example.com", "x"
    with pytest.raises(AuthFailed, match="refused the username and password: 535") as caught:
        smtp_send(hub.hub.config.connections["mail"].settings, message, ["cx-team@example.com"])
    assert caught.value.status_code == 535 and "wrong password" not in caught.value.message
