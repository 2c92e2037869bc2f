"""Sending email over SMTP with the standard library, configured from the settings."""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from invoicesync.domain.digest import EmailContent
from invoicesync.errors import Transient
from invoicesync.settings import Settings

# RFC 5322 recommends lines of at most 78 characters; RFC 2047 caps an encoded word at 75.
_LINE = 78
_ENCODED_WORD_BYTES = 42  # base64: 56 characters, 68 as an encoded word, 77 after "Subject: "


def folded_subject(subject: str, linesep: str = "\r\n") -> str:
    """The whole `Subject:` header, folded so that unfolding gives back `subject` exactly.

    The standard library's folder can break the line right after the colon (a parser then
    reads a leading space) and drops spaces between encoded words; this one folds only before
    a space that stays (ASCII), or between whole-character RFC 2047 words (anything else).
    """
    subject = " ".join(subject.split())  # one space between words: nothing for a fold to eat
    if subject.isascii() and "=?" not in subject:
        pieces = re.split(r"(?= )", subject)  # each piece after the first starts with a space
    else:
        pieces = [_encoded_word(chunk) for chunk in _utf8_chunks(subject)]
        pieces[1:] = [" " + word for word in pieces[1:]]  # adjacent words join without it
    lines = ["Subject: " + pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + len(piece) > _LINE:
            lines.append(piece)
        else:
            lines[-1] += piece
    return linesep.join(lines) + linesep


def _utf8_chunks(text: str) -> list[str]:
    chunks = [""]
    for character in text:
        if len((chunks[-1] + character).encode()) > _ENCODED_WORD_BYTES:
            chunks.append("")
        chunks[-1] += character
    return chunks


def _encoded_word(chunk: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(chunk.encode()).decode()}?="


class _SubjectHeader(UnstructuredHeader, BaseHeader):
    """The Subject header, folded by `folded_subject` instead of the standard library."""

    max_count = 1

    def fold(self, *, policy: Any) -> str:
        return folded_subject(str(self), policy.linesep)


_registry = HeaderRegistry()
_registry.map_to_type("subject", _SubjectHeader)
MAIL_POLICY = policy.default.clone(header_factory=_registry)


def email_message(sender: str, recipient: str, content: EmailContent) -> EmailMessage:
    """A multipart/alternative message: the text body first, the HTML body preferred."""
    message = EmailMessage(policy=MAIL_POLICY)
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
