"""A notice as an e-mail: the plain text stakeholders read in Slack's place, a simple HTML
part, and the headers that thread an incident's notices together in a mail client."""

from __future__ import annotations

import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from handover.comms.mail import Email
from handover.models import Notice


def html_part(text: str) -> str:
    """Paragraphs for blank lines, line breaks for the others; everything escaped."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.strip("\n").split("\n")) + "</p>"
        for p in paragraphs
    )
    return (
        f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'
    )


def notice_email(notice: Notice, email: Email, mail_from: str, now: datetime) -> EmailMessage:
    """The e-mail of `notice`. Recipients go on the envelope only (Bcc): nobody sees the
    list, and a reply-all cannot reach every stakeholder during an incident."""
    message = EmailMessage()
    # The subject as stored is escaped for Slack (&amp; &lt; &gt;): mail shows it as text.
    message["Subject"] = html.unescape(notice.subject)
    message["From"] = mail_from
    message["To"] = mail_from
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    if email.references:
        message["In-Reply-To"] = email.references[-1]
        message["References"] = " ".join(email.references)
    # RFC 3834: no out-of-office replies to Baton.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.body_plain)
    message.add_alternative(html_part(notice.body_plain), subtype="html")
    return message
