"""The inbox's own tables in the support database (on :data:`bot.models.SupportBase`)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)

from bot.models import SupportBase, utcnow

# What happened to a handoff, in the order community managers see it in the transcript.
EVENT_KINDS = (
    "created",
    "claimed",
    "transferred",
    "snoozed",
    "reopened",
    "resolved",
    "waiting_notice",
    "rated",
)


# Roles, each including the ones before it: an agent works the inbox, a trainer also uses the
# trainer page (it writes the training data), an admin also manages canned responses.
ROLES = ("agent", "trainer", "admin")


class Agent(SupportBase):
    """A community manager who logs in to the inbox."""

    __tablename__ = "inbox_agents"

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    # Kept in step with ``role`` (``role == "admin"``): databases from before roles have it.
    is_admin = Column(Boolean, nullable=False, default=False)
    role = Column(String(16), nullable=False, default="agent", server_default="agent")
    # Set when someone else chose the password (``python -m bot agent add/password``): the
    # account can only set its own password until it has done so.
    must_change_password = Column(Boolean, nullable=False, default=False,
                                  server_default=false())
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def set_role(self, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self.role = role
        self.is_admin = role == "admin"


class LoginThrottle(SupportBase):
    """Failed (and in-flight) log-in attempts of one key within a window.

    Keys: ``account:<name>``, ``pair:<name>|<client>`` and ``client:<address>``. An attempt
    is counted *before* its password is checked (see ``bot.inbox._auth.reserve_attempt``), so
    parallel tries are counted too; a successful log-in gives its reservation back.
    """

    __tablename__ = "inbox_login_throttle"

    key = Column(String(200), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    window_start = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False, index=True)


class AgentSession(SupportBase):
    """A logged-in browser. Only a hash of the cookie value is stored; logout deletes the row."""

    __tablename__ = "inbox_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    agent_id = Column(Integer, ForeignKey("inbox_agents.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


class HandoffState(SupportBase):
    """Inbox bookkeeping for one handoff (kept apart from ``handoffs``, which the bot writes)."""

    __tablename__ = "inbox_handoff_state"

    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    # Start of the current waiting period (handoff created, or put back into the queue).
    waiting_since = Column(DateTime, nullable=False, default=utcnow)
    waiting_notice_at = Column(DateTime, nullable=True)
    snoozed_until = Column(DateTime, nullable=True)
    last_customer_at = Column(DateTime, nullable=True)
    unread = Column(Integer, nullable=False, default=0)
    csat_asked_at = Column(DateTime, nullable=True)
    # Broker row id of the bot's ``pause`` for this handoff: customer messages after it were
    # written while waiting for a person.
    pause_event_id = Column(Integer, nullable=True)


class HandoffEvent(SupportBase):
    """A status change of a handoff: who did what when."""

    __tablename__ = "inbox_handoff_events"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    kind = Column(String(32), nullable=False)
    agent_id = Column(Integer, ForeignKey("inbox_agents.id"), nullable=True)
    target_agent_id = Column(Integer, ForeignKey("inbox_agents.id"), nullable=True)
    detail = Column(Text, nullable=True)
    at = Column(DateTime, nullable=False, default=utcnow)


class Note(SupportBase):
    """An internal note on a handoff; never sent to the customer."""

    __tablename__ = "inbox_notes"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    agent_id = Column(Integer, ForeignKey("inbox_agents.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class AgentReply(SupportBase):
    """A reply an agent sent, with its delivery outcome (failed ones never reach the tracker)."""

    __tablename__ = "inbox_replies"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    agent_id = Column(Integer, ForeignKey("inbox_agents.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="sending")  # sending / sent / failed
    error = Column(Text, nullable=True)


class CannedResponse(SupportBase):
    """A prepared German answer, inserted in the reply box by typing ``/shortcut``."""

    __tablename__ = "inbox_canned_responses"

    id = Column(Integer, primary_key=True)
    shortcut = Column(String(32), nullable=False, unique=True)
    text = Column(Text, nullable=False)
    created_by = Column(Integer, ForeignKey("inbox_agents.id"), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class CustomerMessage(SupportBase):
    """A customer message that arrived while a handoff was active (from the event broker).

    ``broker_event_id`` is unique: the consumer can re-read a batch after a crash without
    counting a message twice.
    """

    __tablename__ = "inbox_customer_messages"
    __table_args__ = (UniqueConstraint("broker_event_id"),)

    id = Column(Integer, primary_key=True)
    broker_event_id = Column(Integer, nullable=False)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    text = Column(Text, nullable=True)
    received_at = Column(DateTime, nullable=False)


class ConsumerOffset(SupportBase):
    """How far the event-broker consumer has read (last processed row id per source)."""

    __tablename__ = "inbox_consumer_offsets"

    source = Column(String(64), primary_key=True)
    last_id = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class ConsumedEvent(SupportBase):
    """A Rasa event the RabbitMQ consumer has applied, keyed by its identity (a hash of the
    message body): a redelivered event finds its row and is acknowledged without new work.
    ``id`` orders the events like the SQL broker's row ids."""

    __tablename__ = "inbox_consumed_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    event_key = Column(String(64), nullable=False, unique=True)
    # Which inbox process applied it (host:pid), for operators following an event.
    consumer = Column(String(128), nullable=False, default="")
    consumed_at = Column(DateTime, nullable=False, default=utcnow)
