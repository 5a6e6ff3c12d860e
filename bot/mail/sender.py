"""The outbox's sender for e-mail (docs/architecture.md, "E-mail"): a notice's e-mail, sent
once. The row's Message-ID was made when it was queued; before DATA the row is marked as being
handed over, and an attempt that finds that mark from an earlier one does not send again."""

from __future__ import annotations

import logging
from typing import NoReturn

from bot.mail import smtp
from bot.mail.message import notice_email
from bot.mail.smtp import MailSettled
from handover.comms.mail import Mailing
from handover.models import Outbox
from handover.settings import Settings
from handover.times import utcnow

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, settings: Settings, mailing: Mailing):
        self.settings = settings
        self.mailing = mailing

    def send(self, row: Outbox, claimed: int) -> NoReturn:
        """Send the row's e-mail. Always raises: MailSettled once the row is marked (sent,
        or not sent again because an earlier attempt may have: said to the owner), MailRefused
        when the server would not take it."""
        email, notice = self.mailing.email(row.id)
        if email.handing_over:
            log.warning(
                "outbox row %s: an earlier attempt handed the e-mail over: not resent", row.id
            )
            self.mailing.uncertain(row, claimed)
            raise MailSettled
        if self.settings.smtp is None:  # BATON_SMTP_URL removed since it was queued
            raise smtp.MailRefused("BATON_SMTP_URL is not set", retryable=False)
        message = notice_email(notice, email, self.settings.mail_from, utcnow())
        delivered = smtp.send(
            self.settings.smtp,
            self.settings.mail_from,
            email.to,
            message,
            before_data=lambda: self.mailing.handing_over(row, claimed),
            refused_data=lambda: self.mailing.not_handed_over(row, claimed),
        )
        for address, answer in delivered.refused.items():
            log.warning("outbox row %s: the mail server refused %s: %s", row.id, address, answer)
        self.mailing.delivered(row.id, claimed, delivered.accepted, delivered.refused)
        raise MailSettled  # marked sent with what the server said, in one unit of work
