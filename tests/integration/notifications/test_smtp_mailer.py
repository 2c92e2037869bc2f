"""The SMTP mailer against real aiosmtpd servers: credentials, refusals and what a message holds."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from invoicesync.clients.smtp_mail import SmtpMailer
from invoicesync.domain.digest import EmailContent
from invoicesync.errors import Transient
from invoicesync.settings import Settings
from tests.infrastructure import free_port

# The authenticating server runs without TLS on purpose; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
CONTENT = EmailContent(subject="3 failed", text="plain words", html="<p>html words</p>")


class _Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def _only_the_demo_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok)


@pytest.fixture
def authenticating_server():
    inbox = _Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_only_the_demo_login,
        auth_required=True,
        auth_require_tls=False,  # a local test server; production sets smtp_starttls
    )
    controller.start()
    yield port, inbox
    controller.stop()


def test_a_server_requiring_login_accepts_the_configured_credentials(authenticating_server):
    port, inbox = authenticating_server
    settings = Settings(smtp_port=port, smtp_username="mailer", smtp_password="s3cret")

    SmtpMailer(settings, timeout_seconds=5).send("ops@acme.test", CONTENT)

    [message] = inbox.messages
    assert message["Subject"] == "3 failed"
    assert message["From"] == settings.email_sender
    assert message.get_body(("plain",)).get_content().strip() == "plain words"
    assert message.get_body(("html",)).get_content().strip() == "<p>html words</p>"


def test_wrong_credentials_are_transient_and_nothing_is_delivered(authenticating_server):
    port, inbox = authenticating_server
    settings = Settings(smtp_port=port, smtp_username="mailer", smtp_password="wrong")

    with pytest.raises(Transient):
        SmtpMailer(settings, timeout_seconds=5).send("ops@acme.test", CONTENT)
    assert inbox.messages == []


def test_no_server_listening_is_transient():
    with pytest.raises(Transient):
        SmtpMailer(Settings(smtp_port=free_port()), timeout_seconds=2).send("a@b.test", CONTENT)
