"""Baton's words for states and kinds, as enums. The columns stay strings (a StrEnum is one),
so rows written before these existed read back unchanged and no migration was needed."""

from enum import StrEnum


class IncidentStatus(StrEnum):
    HANDED_OVER = "handed_over"  # on the managers' card, nobody owns it yet
    ACCEPTED = "accepted"
    RESOLVED = "resolved"  # service restored; the record can still be completed
    CLOSED = "closed"
    STOOD_DOWN = "stood_down"  # not a major incident after all

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")


# Being worked: the clock runs and the owner's controls are live.
ACTIVE = (IncidentStatus.HANDED_OVER, IncidentStatus.ACCEPTED)
# Over: the score may be shown to the agent now (it is for training, afterwards).
ENDED = (IncidentStatus.CLOSED, IncidentStatus.STOOD_DOWN)


class Phase(StrEnum):
    """The phases of docs/domain.md; `closed` once resolved and closed or stood down."""

    INITIAL = "initial"
    POST_INITIAL = "post_initial"
    RESOLUTION = "resolution"
    CLOSED = "closed"


class DeadlineKind(StrEnum):
    ESCALATION = "escalation"  # nobody accepted in time
    PHASE_REMINDER = "phase_reminder"  # two thirds into the first phase
    PHASE_END = "phase_end"  # the verdict
    UPDATE_REMINDER = "update_reminder"
    UPDATE_DUE = "update_due"
    # The initial notice is still not out after the first phase: the owner is nudged again.
    INITIAL_NOTICE_NUDGE = "initial_notice_nudge"


UPDATE_DEADLINES = (DeadlineKind.UPDATE_REMINDER, DeadlineKind.UPDATE_DUE)


class DeadlineStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """What the timeline records (handover/clock/timeline.py holds each one's details)."""

    HANDED_OVER = "handed_over"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    TRGS_ENGAGED = "trgs_engaged"
    INITIAL_COMMS_SENT = "initial_comms_sent"
    UPDATE_SENT = "update_sent"
    UPDATE_OVERDUE = "update_overdue"
    RESOLUTION_SENT = "resolution_sent"
    PHASE_MET = "phase_met"
    PHASE_MISSED = "phase_missed"
    STATE_CHANGED = "state_changed"
    NOTICE_EDITED = "notice_edited"
    GAP_FILLED = "gap_filled"
    PRIORITY_CHANGED = "priority_changed"
    HANDED_ON = "handed_on"
    STOOD_DOWN = "stood_down"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DENIED = "denied"  # a refused attempt: who tried what
    CARD_UNDELIVERED = "card_undelivered"  # Slack refused the card: the managers do not have it
    CARD_LATE = "card_late"  # the card reached the managers after all, late
    NOTICE_UNDELIVERED = "notice_undelivered"  # a notice could not be published
    MESSAGE_UNDELIVERED = "message_undelivered"  # a thread line or DM that gave up
    PAGED = "paged"  # a resolver group's pager has the alert
    PAGE_RESOLVED = "page_resolved"  # ... and knows it is resolved
    PAGE_REFUSED = "page_refused"  # the pager refused it for good: the owner is told
    PAGE_ACKNOWLEDGED = "page_acknowledged"  # someone on call acknowledged it (a webhook)
    WEBHOOK_REFUSED = "webhook_refused"  # a configured webhook did not take an event: given up
    NOTICE_EMAILED = "notice_emailed"  # the mail server took the notice's e-mail
    EMAIL_REFUSED = "email_refused"  # ... refused it (or some recipients): the owner is told
    EMAIL_UNCERTAIN = "email_uncertain"  # a crash mid-send: it may or may not have gone out


class OutboxKind(StrEnum):
    """What an outbox row says. Thread lines about an event use the event's kind."""

    CARD_POST = "card_post"  # the card, posted once
    CARD = "card"  # the card, updated in place
    NOTICE_POST = "notice_post"  # a notice's draft in the thread, posted once
    NOTICE = "notice"  # ... updated in place
    NOTICE_PUBLISH = "notice_publish"
    NOTICE_REPUBLISH = "notice_republish"  # an edit of a sent notice, in place
    ESCALATION = "escalation"
    PHASE_REMINDER = "phase_reminder"
    PHASE_VERDICT = "phase_verdict"
    UPDATE_REMINDER = "update_reminder"
    UPDATE_OVERDUE = "update_overdue"
    HANDED_OVER_DM = "handed_over"
    ACCEPTED_DM = "accepted_dm"
    STOOD_DOWN_DM = "stood_down_dm"
    HANDED_ON_DM = "handed_on_dm"
    EXCEPTION_REPORT = "exception_report"
    CARD_UNDELIVERED_DM = "card_undelivered_dm"  # to the agent: the managers do not have it
    CARD_UNDELIVERED_ALERT = "card_undelivered_alert"  # to escalate_to, with the essentials
    NOTICE_UNDELIVERED_LINE = "notice_undelivered_line"  # to the owner, in the thread
    INITIAL_NOTICE_NUDGE = "initial_notice_nudge"  # the initial notice is still not out
    PHASE_MISSED_DM = "phase_missed_dm"  # to the owner: the first phase was missed
    INITIAL_NOTICE_DM = "initial_notice_dm"  # to the agent: what stakeholders were told
    RESOLVED_DM = "resolved_dm"  # to the agent: it is resolved
    REVIEW = "review"  # the post-incident review, uploaded in the thread on close
    PAGE = "page"  # a resolver group paged (or its page resolved): PagerDuty, Opsgenie
    # The incident channel (handover/ownership/incident_channel.py), each step its own row.
    CHANNEL_CREATE = "channel_create"  # made once, under a free name
    CHANNEL_INVITE = "channel_invite"  # users, and the members of user groups
    CHANNEL_RECORD = "channel_record"  # the handover record, posted and pinned
    CHANNEL_TOPIC = "channel_topic"
    CHANNEL_BOOKMARK = "channel_bookmark"  # the bridge
    CHANNEL_OUTCOME = "channel_outcome"  # resolved, closed, stood down: said in the channel
    CHANNEL_ARCHIVE = "channel_archive"
    CHANNEL_REFUSED_LINE = "channel_refused_line"  # to the owner, in the card's thread
    WEBHOOK = "webhook"  # one event, signed, to one configured webhook (handover/webhooks.py)
    WEBHOOK_REFUSED_LINE = "webhook_refused_line"  # in the thread, once per webhook and incident
    NOTICE_EMAIL = "notice_email"  # a sent notice, e-mailed to the stakeholder lists


class Target(StrEnum):
    """Where an outbox row goes."""

    CARD = "card"  # the managers' channel
    THREAD = "thread"  # the card's thread
    DM = "dm"
    STAKEHOLDERS = "stakeholders"  # the channel a notice was sent to
    CHANNEL = "channel"  # a configured channel named in the row's params
    PAGER = "pager"  # PagerDuty or Opsgenie, named in the row's params
    INCIDENT_CHANNEL = "incident_channel"  # the incident's own channel, once it is made
    WEBHOOK = "webhook"  # a receiver of `[[webhooks]]` in BATON_CONFIG, named in the params
    MAIL = "mail"  # e-mail, through BATON_SMTP_URL, to the addresses in the row's params


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed, with a lease
    SENT = "sent"
    FAILED = "failed"  # given up: `baton outbox retry` re-queues it
    HELD = "held"  # waits for its card, which Slack refused (released with the card's retry)


class NoticeKind(StrEnum):
    INITIAL = "initial"
    UPDATE = "update"
    RESOLUTION = "resolution"
    SUMMARY = "summary"  # the executive summary, shown on demand, never stored


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHING = "publishing"  # Send was pressed; counted as sent once Slack has it
    SENT = "sent"
    SUPERSEDED = "superseded"  # a newer draft of the same kind replaced it


class StakeholderState(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Pager(StrEnum):
    """The paging services a resolver group can be reached through."""

    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"


class PageAction(StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"


class WebhookEvent(StrEnum):
    """The public names of what a webhook receives (README, "Webhooks"): a contract with the
    receivers, so never renamed."""

    HANDED_OVER = "incident.handed_over"
    ACCEPTED = "incident.accepted"
    ENGAGED = "incident.engaged"
    NOTICE_PUBLISHED = "notice.published"
    PRIORITY_CHANGED = "incident.priority_changed"
    RESOLVED = "incident.resolved"
    CLOSED = "incident.closed"
    EXCEPTION_REPORT = "incident.exception_report"
