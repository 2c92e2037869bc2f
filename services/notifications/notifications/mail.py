"""Sending email over SMTP with the standard library, configured from the settings."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from invoicesync.domain.digest import EmailContent
from invoicesync.errors import Transient
from invoicesync.settings import Settings


def email_message(sender: str, recipient: str, content: EmailContent) -> EmailMessage:
    """A multipart/alternative message: the text body first, the HTML body preferred."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = content.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="invoicesync.local")
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


class SmtpMailer:
    """One connection per message: notifications are few, and a fresh session never goes stale."""

    def __init__(self, settings: Settings, *, timeout_seconds: float = 20.0) -> None:
        self._settings = settings
        self._timeout = timeout_seconds

    def send(self, recipient: str, content: EmailContent) -> None:
        """Hand the message to the SMTP server; returns once the server accepted it."""
        message = email_message(self._settings.email_sender, recipient, content)
        settings = self._settings
        try:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=self._timeout
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # Refused recipients are retried too: the address lives in settings a person can fix.
            raise Transient(
                f"SMTP {settings.smtp_host}:{settings.smtp_port} did not take the message: {exc}"
            ) from exc
