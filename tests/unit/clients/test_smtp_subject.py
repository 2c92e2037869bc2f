"""The Subject header of a notification email reads back exactly as written."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.header import decode_header, make_header

import pytest

from invoicesync.clients.smtp_mail import email_message
from invoicesync.domain.digest import EmailContent

SUBJECTS = [
    "InvoiceSync: 3 failed for Acme Ltd",
    # Just too long for one line: the standard library folded it right after the colon.
    "InvoiceSync: 27 failed for Holdings & Holdings & Company Paulo Limited",
    # It also doubled the space before a word it had to encode.
    "InvoiceSync: 17 failed for Co. GmbH Trading Limited GmbH Müller",
    "InvoiceSync daily summary for Acme Wholesale and Retail Holdings Limited, 2026-03-02: "
    "20 created, 5 updated, 1 skipped, 1 failed",
    "InvoiceSync: 1 failed for Société Générale Ünïcode Trading Company of São Paulo",
    "InvoiceSync daily summary for 株式会社テスト商事 (東京本社), 2026-03-02: 2 created, 1 failed",
    "InvoiceSync: 1 failed for " + "A" * 90,  # one word longer than a line
]


def sent_bytes(subject: str) -> bytes:
    message = email_message(
        "InvoiceSync <noreply@x.test>", "ops@x.test", EmailContent(subject, "t", "<p>h</p>")
    )
    # What smtplib.send_message puts on the wire.
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_parsed_subject_is_the_subject_with_no_leading_space(subject):
    parsed = message_from_bytes(sent_bytes(subject), policy=policy.default)

    assert parsed["Subject"] == subject
    assert not str(parsed["Subject"]).startswith(" ")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_legacy_parser_reads_the_same_subject(subject):
    parsed = message_from_bytes(sent_bytes(subject))  # compat32, as older tools read mail
    unfolded = parsed["Subject"].replace("\r\n", "")

    assert str(make_header(decode_header(unfolded))) == subject


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_header_is_never_folded_right_after_the_colon(subject):
    head = sent_bytes(subject).split(b"\r\n\r\n")[0].decode("ascii")
    [subject_line] = [line for line in head.split("\r\n") if line.startswith("Subject:")]

    assert subject_line.startswith("Subject: ") and subject_line[len("Subject: ") :].strip()


@pytest.mark.parametrize("subject", SUBJECTS[:6])
def test_folded_lines_stay_within_78_characters(subject):
    head = sent_bytes(subject).split(b"\r\n\r\n")[0].decode("ascii")

    assert max(len(line) for line in head.split("\r\n")) <= 78
