"""Notices by e-mail, end to end: signed Slack requests into the real app, the fake Slack, and
a real SMTP server on 127.0.0.1 (tests/fake_smtp.py), through the outbox."""

from __future__ import annotations

import html
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot.mail.message import notice_email
from handover.comms.mail import Email
from handover.models import Event, Notice, Outbox
from handover.settings import load_settings
from tests.conftest import MIM, MIM_CHANNEL
from tests.fake_smtp import FakeSmtp, self_signed
from tests.flows import click, draft_message, open_modal, submit_modal, wait_until
from tests.test_card import accept_and_open, hand_over, hand_over_with, latest_card, published
from tests.test_cli import baton as baton_cli
from tests.test_clock_processes import LoadBalancer, as_slack, rows
from tests.test_paging import thread
from tests.test_paging_processes import accept_and_engage, wait

MAIL_FROM = "baton@example.com"
EVERYONE = ["staff-news@example.com", "service-owners@example.com"]
P1 = ["cio@example.com", "Staff-News@example.com"]  # one of them already on the list
RESTRICTED = ["security@example.com", "dpo@example.com"]
BREACH = {"f:security": "yes", "f:security:detail": "Mailbox rules created by an outsider"}
PASSWORD = "s3cr%t:pw"  # in the URL %-encoded: s3cr%25t%3Apw


@pytest.fixture
def smtp():
    fake = FakeSmtp(login=("baton", PASSWORD)).start()
    yield fake
    fake.stop()


def configure(tmp_path, monkeypatch, smtp: FakeSmtp, extra: str = "") -> dict[str, str]:
    path = tmp_path / "baton.toml"
    path.write_text(
        f"stakeholder_emails = {EVERYONE}\n"
        f"priority_emails = {{ P1 = {P1}, P3 = ['ops@example.com'] }}\n"
        f"restricted_emails = {RESTRICTED}\n" + extra
    )
    values = {
        "BATON_CONFIG": str(path),
        "BATON_SMTP_URL": smtp.url("baton:s3cr%25t%3Apw"),
        "BATON_MAIL_FROM": MAIL_FROM,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def mail(env, tmp_path, monkeypatch, smtp):
    configure(tmp_path, monkeypatch, smtp)


def emails(baton) -> list[Outbox]:
    with baton.db.session() as s:
        return s.query(Outbox).filter_by(what="notice_email").order_by(Outbox.id).all()


def sent_notice(baton, kind: str = "initial") -> Notice:
    wait_until(lambda: _notice(baton, kind) is not None)
    return _notice(baton, kind)


def _notice(baton, kind: str) -> Notice | None:
    with baton.db.session() as s:
        return s.query(Notice).filter_by(kind=kind, status="sent").one_or_none()


def send_initial(baton, card: dict, answers: dict | None = None) -> None:
    """Accept, then Engage & send: the initial notice is published."""
    form = accept_and_open(baton, card)
    assert submit_modal(baton, MIM, form, answers or {}).status == 200


@pytest.mark.usefixtures("mail")
def test_a_sent_notice_arrives_by_email_once_as_published(baton, smtp):
    card = hand_over(baton)
    send_initial(baton, card)
    wait_until(lambda: smtp.received)
    notice = sent_notice(baton)
    [got] = smtp.received
    assert got.message["Subject"] == html.unescape(notice.subject)
    assert got.plain.rstrip("\n") == notice.body_plain.rstrip("\n")
    first_line = notice.body_plain.splitlines()[0]
    assert f"<p>{html.escape(first_line)}" in got.html and "<br>" in got.html
    # Each address once (a case-different duplicate too), on the envelope only (Bcc).
    assert sorted(got.rcpt_tos) == sorted({*EVERYONE, "cio@example.com"})
    assert got.message["From"] == MAIL_FROM and got.message["To"] == MAIL_FROM
    assert "Bcc" not in got.message and "In-Reply-To" not in got.message
    [row] = emails(baton)
    assert got.message["Message-ID"] == row.params["message_id"]
    assert smtp.logins == ["baton"]  # the %-decoded login and password were accepted
    wait_until(lambda: emails(baton)[0].status == "sent")
    time.sleep(1.5)
    assert len(smtp.received) == 1
    with baton.db.session() as s:
        [emailed] = s.query(Event).filter_by(kind="notice_emailed").all()
    assert sorted(emailed.detail["to"]) == sorted(got.rcpt_tos)
    said = thread(baton, card, "e-mailed to")
    assert said.startswith(":email: Initial notice e-mailed to 3 addresses")


@pytest.mark.usefixtures("mail")
def test_the_update_answers_the_initial_notice_so_they_thread(baton, smtp):
    card = hand_over(baton)
    send_initial(baton, card)
    wait_until(lambda: len(smtp.received) == 1)
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_draft_update")
    submit_modal(baton, MIM, view, {"state": "identified", "doing": "Replacing the relay."})
    click(baton.slack, MIM, draft_message(baton.fake, card["ts"], "update"), "notice_send")
    wait_until(lambda: len(smtp.received) == 2)
    first, update = smtp.received
    assert "Replacing the relay." in update.plain
    assert update.message["In-Reply-To"] == first.message["Message-ID"]
    assert update.message["References"] == first.message["Message-ID"]
    assert update.message["Message-ID"] != first.message["Message-ID"]


@pytest.mark.usefixtures("mail")
def test_a_suspected_breach_is_emailed_to_the_restricted_list_only(baton, smtp):
    card = hand_over_with(baton, step3=BREACH)
    send_initial(baton, card, {"broad": ["broad"]})  # no restricted channel: confirmed broad
    wait_until(lambda: smtp.received)
    # Confirmed "send to all anyway": the broad lists get it too, the restricted list first.
    assert sorted(smtp.received[0].rcpt_tos) == sorted({*RESTRICTED, *EVERYONE, "cio@example.com"})


@pytest.fixture
def restricted_channel(env, tmp_path, monkeypatch, smtp):
    configure(tmp_path, monkeypatch, smtp, 'restricted_channel = "C0RESTRIC1"\n')


@pytest.mark.usefixtures("restricted_channel")
def test_a_breach_notice_to_the_restricted_channel_never_reaches_the_broad_lists(baton, smtp):
    baton.fake.add_channel("C0RESTRIC1", "mi-restricted")
    card = hand_over_with(baton, step3=BREACH)
    send_initial(baton, card)
    wait_until(lambda: published(baton, "C0RESTRIC1"))
    wait_until(lambda: smtp.received)
    assert sorted(smtp.received[0].rcpt_tos) == sorted(RESTRICTED)
    time.sleep(1)
    assert len(smtp.received) == 1


@pytest.mark.usefixtures("restricted_channel")
def test_a_confirmed_broad_send_during_a_breach_reaches_the_broad_lists_too(baton, smtp):
    card = hand_over_with(baton, step3=BREACH)
    click(baton.slack, MIM, draft_message(baton.fake, card["ts"]), "notice_send_broad")
    wait_until(lambda: published(baton))  # the stakeholders' channel: confirmed in Slack
    wait_until(lambda: smtp.received)
    assert sorted(smtp.received[0].rcpt_tos) == sorted({*RESTRICTED, *EVERYONE, "cio@example.com"})


@pytest.fixture
def server_down(env, tmp_path, monkeypatch):
    fake = FakeSmtp(login=("baton", PASSWORD))  # not started yet: its port refuses
    configure(tmp_path, monkeypatch, fake)
    yield fake
    fake.stop()


def test_an_unreachable_server_is_retried_until_it_is_back(server_down, baton):
    card = hand_over(baton)
    send_initial(baton, card)
    wait_until(lambda: emails(baton) and "unreachable" in emails(baton)[0].error, timeout=5)
    assert emails(baton)[0].status == "pending"
    server_down.start()
    wait_until(lambda: server_down.received, timeout=15)
    wait_until(lambda: emails(baton)[0].status == "sent")
    assert len(server_down.received) == 1


@pytest.fixture
def starttls(env, tmp_path, monkeypatch):
    cert, context = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # Baton trusts the test's certificate
    fake = FakeSmtp(login=("baton", PASSWORD), tls=context).start()
    configure(tmp_path, monkeypatch, fake)
    yield fake
    fake.stop()


def test_smtp_upgrades_to_starttls_when_the_server_offers_it(starttls, baton):
    card = hand_over(baton)
    send_initial(baton, card)
    wait_until(lambda: starttls.received)
    assert starttls.received[0].tls and starttls.logins == ["baton"]


@pytest.mark.usefixtures("mail")
def test_a_421_is_retried_and_arrives_once(baton, smtp):
    smtp.handler.answers = ["421 4.3.2 Service shutting down, try later"]
    card = hand_over(baton)
    send_initial(baton, card)
    wait_until(lambda: smtp.received, timeout=15)
    wait_until(lambda: emails(baton)[0].status == "sent")
    assert smtp.handler.data_seen == 2
    [row] = emails(baton)
    assert row.attempts == 2 and row.error == ""
    time.sleep(1.5)
    assert len(smtp.received) == 1


@pytest.mark.usefixtures("mail")
def test_a_550_is_told_to_the_owner_in_the_thread(baton, smtp):
    smtp.handler.answers = ["550 5.7.1 Message rejected as spam"]
    card = hand_over(baton)
    send_initial(baton, card)
    said = thread(baton, card, "was NOT e-mailed")
    assert said.startswith(f":x: <@{MIM}> The initial notice was NOT e-mailed")
    assert "550 5.7.1 Message rejected as spam" in said
    [row] = emails(baton)
    assert row.status == "failed"
    time.sleep(1.5)
    assert smtp.received == [] and smtp.handler.data_seen == 1  # refused for good: not retried
    with baton.db.session() as s:
        assert s.query(Event).filter_by(kind="email_refused").count() == 1


@pytest.fixture
def no_login(env, tmp_path, monkeypatch):
    fake = FakeSmtp().start()  # offers no AUTH, while the URL has a user
    configure(tmp_path, monkeypatch, fake)
    yield fake
    fake.stop()


def test_a_server_without_login_is_a_refusal_for_good_told_in_the_thread(no_login, baton):
    card = hand_over(baton)
    send_initial(baton, card)
    said = thread(baton, card, "was NOT e-mailed")
    assert "login impossible" in said and PASSWORD not in said
    time.sleep(1.5)
    assert emails(baton)[0].status == "failed" and emails(baton)[0].attempts == 1


@pytest.fixture
def impatient(env, tmp_path, monkeypatch, smtp):
    configure(tmp_path, monkeypatch, smtp, 'retry_for = "1s"\n')
    monkeypatch.setattr("bot.mail.smtp.TIMEOUT", 1)


@pytest.mark.usefixtures("impatient")
def test_given_up_after_handing_the_text_over_is_said_as_maybe_sent(baton, smtp):
    smtp.handler.answers = ["421 4.3.2 Try later"]  # failing since then
    smtp.handler.hold = threading.Event()  # the retry's text is taken, never answered
    card = hand_over(baton)
    send_initial(baton, card)
    said = thread(baton, card, "may or may not have gone out", timeout=15)
    assert said.startswith(f":warning: <@{MIM}> The initial notice's e-mail may or may not")
    assert not any("NOT e-mailed" in line for line in baton.fake.thread(card["ts"]))
    assert emails(baton)[0].status == "failed" and len(smtp.received) == 1


@pytest.mark.usefixtures("mail")
def test_refused_recipients_are_said_and_the_others_get_it(baton, smtp):
    smtp.handler.refuse = {"cio@example.com": "550 5.1.1 No such user"}
    card = hand_over(baton)
    send_initial(baton, card)
    said = thread(baton, card, "refused the initial notice for")
    assert "cio@example.com (550 5.1.1 No such user)" in said
    assert sorted(smtp.received[0].rcpt_tos) == sorted(EVERYONE)
    assert emails(baton)[0].status == "sent"


def test_without_smtp_nothing_is_queued(baton):
    card = hand_over(baton)
    send_initial(baton, card)
    sent_notice(baton)
    assert emails(baton) == []


def test_bad_mail_configuration_is_one_clear_line_each(tmp_path):
    path = tmp_path / "baton.toml"
    path.write_text(
        'stakeholder_emails = ["it@example.com", "not an address"]\n'
        'priority_emails = { P1 = ["cio@"], P9 = ["x@example.com"] }\n'
        'restricted_emails = "security@example.com"\n'
    )
    result = baton_cli(
        "check",
        env={
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "BATON_MIM_CHANNEL": MIM_CHANNEL,
            "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
            "BATON_CONFIG": str(path),
            "BATON_SMTP_URL": "smtp://baton:hunter2-secret@mail.example.com:submission",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    where = f"BATON_CONFIG ({path})"
    assert result.stderr.strip().splitlines() == [
        f"baton: {where}: stakeholder_emails: 'not an address' is not an e-mail address "
        "(like it@example.com)",
        f"baton: {where}: priority_emails.P1: 'cio@' is not an e-mail address "
        "(like it@example.com)",
        f"baton: {where}: priority_emails: 'P9' is not P1, P2, P3 or P4",
        f"baton: {where}: 'restricted_emails' must be a list of e-mail addresses, like "
        '["it@example.com"]',
        "baton: BATON_SMTP_URL: the port is not a number (0-65535)",
        "baton: BATON_MAIL_FROM is not set, but BATON_SMTP_URL is: give the address notices are "
        "sent from, like baton@example.com",
    ]
    assert "hunter2" not in result.stderr  # the URL is never echoed


def test_check_logs_in_to_the_mail_server_and_never_shows_the_password(
    tmp_path, fake_slack, smtp, monkeypatch
):
    values = configure(tmp_path, monkeypatch, smtp)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "SLACK_API_URL": fake_slack.url,
        "BATON_MIM_CHANNEL": MIM_CHANNEL,
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        **values,
    }
    good = baton_cli("check", env=env, cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert f"e-mail: from {MAIL_FROM} through 127.0.0.1:{smtp.port}, 6 addresses" in good.stdout
    wrong = {**env, "BATON_SMTP_URL": smtp.url("baton:wrong-password-42")}
    refused = baton_cli("check", env=wrong, cwd=tmp_path)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(
        f"baton: BATON_SMTP_URL (127.0.0.1:{smtp.port}): the mail server refused the login of "
        "'baton' (535"
    )
    assert "wrong-password-42" not in refused.stderr + refused.stdout


def test_mail_from_is_required_with_smtp_and_the_scheme_checked(env, monkeypatch):
    monkeypatch.setenv("BATON_SMTP_URL", "smtp://mail.example.com")
    from handover.settings import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_settings(env_file=None)
    assert exc.value.problems == [
        "BATON_MAIL_FROM is not set, but BATON_SMTP_URL is: give the address notices are "
        "sent from, like baton@example.com"
    ]
    monkeypatch.setenv("BATON_SMTP_URL", "mailto://baton:hunter2@mail.example.com")
    monkeypatch.setenv("BATON_MAIL_FROM", "Baton")
    with pytest.raises(ConfigError) as exc:
        load_settings(env_file=None)
    assert exc.value.problems[0].startswith("BATON_SMTP_URL must start with smtp:// (STARTTLS")
    assert exc.value.problems[1] == (
        "BATON_MAIL_FROM 'Baton' is not an e-mail address (like baton@example.com)"
    )
    assert "hunter2" not in " ".join(exc.value.problems)
    monkeypatch.setenv("BATON_SMTP_URL", "smtps://mail.example.com")
    monkeypatch.setenv("BATON_MAIL_FROM", MAIL_FROM)
    smtp = load_settings(env_file=None).smtp
    assert smtp and smtp.implicit_tls and smtp.port == 465 and smtp.user == ""


@pytest.mark.usefixtures("mail")
def test_the_smtp_password_is_kept_out_of_logs(capsys, baton_logging):
    settings = baton_logging(load_settings(env_file=None))
    logging.getLogger("baton").warning(
        "login with %s to %s", PASSWORD, settings.smtp and settings.smtp.host
    )
    logging.getLogger("baton").warning("url smtp://baton:s3cr%25t%3Apw@host")
    said = capsys.readouterr().err
    assert "login with [redacted] to 127.0.0.1" in said
    assert "url smtp://baton:[redacted]@host" in said
    assert PASSWORD not in repr(settings) and "s3cr" not in said


def test_the_html_part_is_escaped_and_the_subject_plain():
    notice = Notice(
        subject="[MI-2026-0001] Payroll &amp; HR &lt;down&gt;",
        body_plain="Payroll <script>x</script> is down.\nUse paper forms.\n\nNext update 10:30.",
    )
    email = Email(notice_id=1, message_id="<a@example.com>", references=["<b@example.com>"])
    message = notice_email(notice, email, MAIL_FROM, datetime.now(UTC))
    assert message["Subject"] == "[MI-2026-0001] Payroll & HR <down>"
    assert message["In-Reply-To"] == "<b@example.com>"
    html_body = message.get_body(("html",)).get_content()
    assert "<p>Payroll &lt;script&gt;x&lt;/script&gt; is down.<br>\nUse paper forms.</p>" in (
        html_body
    )
    assert "<p>Next update 10:30.</p>" in html_body
    assert message.get_body(("plain",)).get_content().startswith("Payroll <script>")


# Across real processes --------------------------------------------------------------------


@pytest.fixture
def mail_env(env, tmp_path, monkeypatch, smtp):
    env.update(configure(tmp_path, monkeypatch, smtp))


@pytest.mark.usefixtures("mail_env")
def test_two_replicas_email_each_notice_once(baton_process, fake_slack, smtp, db_url):
    one, two = baton_process.together(2)
    card = hand_over(SimpleNamespace(slack=LoadBalancer([one, two], fake_slack), fake=fake_slack))
    accept_and_engage(two, fake_slack, card, ["Servers and cloud"])
    wait(lambda: smtp.received, timeout=15)
    time.sleep(2)  # both replicas' senders had every chance to send it twice
    assert len(smtp.received) == 1 and smtp.handler.data_seen == 1
    assert rows(db_url, "SELECT status, attempts FROM outbox WHERE what = 'notice_email'") == [
        ("sent", 1)
    ]


@pytest.mark.usefixtures("mail_env")
def test_sigkill_while_the_server_takes_the_email_never_sends_it_twice(
    baton_process, fake_slack, smtp, db_url, env
):
    smtp.handler.hold = threading.Event()  # the text is in; the server has not answered
    first = baton_process()
    card = hand_over(as_slack(first, fake_slack))
    accept_and_engage(first, fake_slack, card, ["Servers and cloud"])
    wait(lambda: smtp.handler.data_seen == 1, timeout=15)
    first.stop(signal.SIGKILL)  # the worst case: the server has it, Baton never heard
    smtp.handler.hold.set()
    assert len(smtp.received) == 1
    second = baton_process()  # the row's claim runs out (20 s); it is NOT sent again
    wait(
        lambda: (
            rows(db_url, "SELECT status FROM outbox WHERE what = 'notice_email'") == [("failed",)]
        )
    )
    wait(lambda: "may or may not have gone out" in "\n".join(fake_slack.thread(card["ts"])))
    said = next(t for t in fake_slack.thread(card["ts"]) if "may or may not" in t)
    assert said.startswith(f":warning: <@{MIM}> The initial notice's e-mail may or may not")
    time.sleep(1.5)
    assert len(smtp.received) == 1 and smtp.handler.data_seen == 1
    assert len(rows(db_url, "SELECT id FROM events WHERE kind = 'email_uncertain'")) == 1
    for process in (first, second):
        assert "s3cr" not in process.log.read_text()
    # Listed for someone to look at, and never re-queued (it may have gone out).
    listed = baton_cli("outbox", env=env, cwd=first.cwd)
    assert "notice_email" in listed.stdout and "may or may not have been sent" in listed.stdout
    retried = baton_cli("outbox", "retry", "--all", env=env, cwd=first.cwd)
    assert "not re-queued: an e-mail that may have gone out: never sent twice" in retried.stderr
    time.sleep(1.5)
    assert len(smtp.received) == 1
