"""What community managers do to a handoff: claim, transfer, snooze, resolve, notes, replies.

Plain functions over a SQLAlchemy session (one transaction each, see ``InboxStore.run``). Status
changes are conditional ``UPDATE``s, so two agents acting at once cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from bot.errors import BotError
from bot.inbox._models import (
    Agent,
    AgentReply,
    CannedResponse,
    HandoffEvent,
    HandoffState,
    Note,
)
from bot.models import ACTIVE_STATUSES, HANDOFF_STATUSES, Handoff, HandoffStatus
from channels import ChannelDelivery  # the channels' table in the same support database
from channels._store import FAILED_STATUSES
from channels.registry import by_name

MAX_TEXT = 4000
QUEUE_FILTERS = ("all", "mine", "unassigned")
CHANNEL_FILTERS = tuple(by_name())
REASON_SEPARATOR = "\n"  # between an event's detail and the agent's reason
MAX_REASON = 200
STATUS_FILTERS = ("active", *HANDOFF_STATUSES, "any")


class InboxError(BotError):
    """An action a community manager cannot do right now; ``message`` is German UI text."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(InboxError):
    status = 404


class ForbiddenError(InboxError):
    status = 403


class InvalidInputError(InboxError):
    status = 400


def clean_text(text: str, what: str = "Nachricht") -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInputError(f"Die {what} ist leer.")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"Die {what} ist zu lang (höchstens {MAX_TEXT} Zeichen).")
    return text


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFoundError("Dieses Gespräch gibt es nicht.")
    return handoff


def ensure_state(session: Session, handoff: Handoff) -> HandoffState:
    """The inbox bookkeeping row for ``handoff``, created (with a 'created' event) if missing."""
    state = session.get(HandoffState, handoff.id)
    if state is None:
        state = HandoffState(
            handoff_id=handoff.id,
            waiting_since=handoff.created_at,
            # Outside service hours the bot already told the customer when we answer: that is
            # this waiting period's one notice.
            waiting_notice_at=handoff.created_at if handoff.outside_service_hours else None,
            last_customer_at=handoff.created_at,
            unread=0,
        )
        session.add(state)
        session.add(
            HandoffEvent(
                handoff_id=handoff.id, kind="created", detail=handoff.reason, at=handoff.created_at
            )
        )
        session.flush()
    return state


def _event(
    session: Session,
    handoff: Handoff,
    kind: str,
    now: datetime,
    agent: Optional[Agent] = None,
    target: Optional[Agent] = None,
    detail: Optional[str] = None,
) -> None:
    session.add(
        HandoffEvent(
            handoff_id=handoff.id,
            kind=kind,
            agent_id=agent.id if agent else None,
            target_agent_id=target.id if target else None,
            detail=detail,
            at=now,
        )
    )


def agent_names(session: Session) -> Dict[int, str]:
    return {row.id: row.name for row in session.execute(select(Agent.id, Agent.name))}


def active_agents(session: Session) -> List[Agent]:
    return list(
        session.execute(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name))
        .scalars()
        .all()
    )


def _require_handler(session: Session, handoff: Handoff, agent: Agent) -> None:
    """Only the assigned agent (or an admin) works on an assigned conversation."""
    if handoff.status == HandoffStatus.RESOLVED:
        raise InboxError("Dieses Gespräch ist bereits erledigt.")
    if handoff.assigned_to == agent.id or agent.is_admin:
        return
    if handoff.assigned_to is None:
        raise InboxError("Übernimm das Gespräch zuerst.")
    holder = agent_names(session).get(handoff.assigned_to, "jemand anderes")
    raise ForbiddenError(f"{holder} bearbeitet dieses Gespräch.")


@dataclass(frozen=True)
class QueueEntry:
    handoff: Handoff
    state: Optional[HandoffState]
    assignee: Optional[str]


def channel_condition(group: str) -> Any:
    """SQL condition for a channel group as :func:`channels.registry.channel_group` names them."""
    info = by_name()[group]
    lowered = func.lower(Handoff.channel)
    return or_(
        lowered.in_((info.name, *info.names)),
        *(lowered.like(f"%{part}%") for part in info.name_parts),
    )


def list_queue(
    session: Session, agent: Agent, who: str = "all", status: str = "active", limit: int = 200,
    channel: str = "", reason: str = "",
) -> List[QueueEntry]:
    """Handoffs for the queue column: waiting (unassigned, open) ones on top, the longest-waiting
    first, then the work in progress the same way (resolved: newest first). ``channel`` is a
    group of :data:`CHANNEL_FILTERS`, ``reason`` a handoff reason (both optional)."""
    query = select(Handoff, HandoffState).outerjoin(
        HandoffState, HandoffState.handoff_id == Handoff.id
    )
    if channel in CHANNEL_FILTERS:
        query = query.where(channel_condition(channel))
    if reason:
        query = query.where(Handoff.reason == reason[:64])
    if status == "active":
        query = query.where(Handoff.status.in_(ACTIVE_STATUSES))
    elif status in HANDOFF_STATUSES:
        query = query.where(Handoff.status == status)
    if who == "mine":
        query = query.where(Handoff.assigned_to == agent.id)
    elif who == "unassigned":
        query = query.where(Handoff.assigned_to.is_(None))
    waiting_since = func.coalesce(HandoffState.waiting_since, Handoff.created_at)
    if status == HandoffStatus.RESOLVED:
        query = query.order_by(Handoff.resolved_at.desc())
    else:
        waiting_first = case((Handoff.status == HandoffStatus.OPEN, 0), else_=1)
        query = query.order_by(waiting_first, waiting_since.asc(), Handoff.id.asc())
    names = agent_names(session)
    return [
        QueueEntry(handoff, state, names.get(handoff.assigned_to) if handoff.assigned_to else None)
        for handoff, state in session.execute(query.limit(limit)).all()
    ]


def claim(session: Session, handoff_id: int, agent: Agent, now: datetime) -> Handoff:
    """Take over an unassigned conversation. Exactly one of several simultaneous claims wins."""
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id)
        .where(Handoff.status.in_((HandoffStatus.OPEN, HandoffStatus.SNOOZED)))
        .where(Handoff.assigned_to.is_(None))
        .values(
            status=HandoffStatus.ASSIGNED,
            assigned_to=agent.id,
            claimed_at=func.coalesce(Handoff.claimed_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    if result.rowcount != 1:
        if handoff.status == HandoffStatus.RESOLVED:
            raise InboxError("Dieses Gespräch ist bereits erledigt.")
        if handoff.assigned_to == agent.id:
            return handoff
        holder = agent_names(session).get(handoff.assigned_to or 0, "Jemand anderes")
        raise InboxError(f"{holder} hat das Gespräch bereits übernommen.")
    state = ensure_state(session, handoff)
    state.unread = 0
    state.snoozed_until = None
    _event(session, handoff, "claimed", now, agent=agent)
    return handoff


def with_reason(detail: str, reason: str) -> str:
    """An event's detail with the agent's optional reason (split again by the transcript)."""
    return f"{detail}{REASON_SEPARATOR}{reason}" if reason else detail


def transfer(
    session: Session, handoff_id: int, agent: Agent, target_id: Optional[int], now: datetime,
    reason: str = "",
) -> Handoff:
    """Give the conversation to another agent, or back to the queue (``target_id`` None);
    ``reason`` (optional, already cleaned) is recorded on the event."""
    handoff = get_handoff(session, handoff_id)
    _require_handler(session, handoff, agent)
    state = ensure_state(session, handoff)
    if target_id is None:
        result = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.assigned_to == handoff.assigned_to)
            .where(Handoff.status.in_(ACTIVE_STATUSES))
            .values(status=HandoffStatus.OPEN, assigned_to=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise InboxError("Das Gespräch hat sich gerade geändert. Bitte lade es neu.")
        session.refresh(handoff)
        state.waiting_since = now
        state.waiting_notice_at = None
        state.snoozed_until = None
        _event(session, handoff, "transferred", now, agent=agent,
               detail=with_reason("queue", reason))
        return handoff
    target = session.get(Agent, target_id)
    if target is None or not target.active:
        raise InvalidInputError("Diese Kollegin / dieser Kollege ist nicht (mehr) aktiv.")
    if target.id == handoff.assigned_to:
        raise InvalidInputError(f"{target.name} bearbeitet das Gespräch schon.")
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.assigned_to == handoff.assigned_to)
        .where(Handoff.status.in_(ACTIVE_STATUSES))
        .values(
            status=HandoffStatus.ASSIGNED,
            assigned_to=target.id,
            claimed_at=func.coalesce(Handoff.claimed_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InboxError("Das Gespräch hat sich gerade geändert. Bitte lade es neu.")
    session.refresh(handoff)
    state.snoozed_until = None
    state.unread = 0
    _event(session, handoff, "transferred", now, agent=agent, target=target,
           detail=with_reason("", reason) or None)
    return handoff


def snooze(
    session: Session, handoff_id: int, agent: Agent, until: datetime, now: datetime, label: str,
    reason: str = "",
) -> Handoff:
    handoff = get_handoff(session, handoff_id)
    _require_handler(session, handoff, agent)
    if until <= now:
        raise InvalidInputError("Der Zeitpunkt liegt in der Vergangenheit.")
    handoff.status = HandoffStatus.SNOOZED
    ensure_state(session, handoff).snoozed_until = until
    _event(session, handoff, "snoozed", now, agent=agent, detail=with_reason(label, reason))
    return handoff


def wake(
    session: Session, handoff: Handoff, now: datetime, agent: Optional[Agent], detail: str
) -> bool:
    """A snoozed conversation comes back (to its agent, or to the queue if it had none)."""
    if handoff.status != HandoffStatus.SNOOZED:
        return False
    handoff.status = HandoffStatus.ASSIGNED if handoff.assigned_to else HandoffStatus.OPEN
    ensure_state(session, handoff).snoozed_until = None
    _event(session, handoff, "reopened", now, agent=agent, detail=detail)
    return True


def wake_due(session: Session, now: datetime) -> List[int]:
    """Wake every snoozed conversation whose time has come; returns their ids."""
    due = session.execute(
        select(Handoff)
        .join(HandoffState, HandoffState.handoff_id == Handoff.id)
        .where(Handoff.status == HandoffStatus.SNOOZED)
        .where(HandoffState.snoozed_until <= now)
    ).scalars().all()
    for handoff in due:
        wake(session, handoff, now, None, "time")
    return [handoff.id for handoff in due]


def check_can_resolve(session: Session, handoff_id: int, agent: Agent) -> Handoff:
    handoff = get_handoff(session, handoff_id)
    _require_handler(session, handoff, agent)
    return handoff


def mark_resolved(
    session: Session, handoff_id: int, agent: Agent, now: datetime, csat_asked: bool
) -> Handoff:
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status != HandoffStatus.RESOLVED)
        .values(status=HandoffStatus.RESOLVED, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    if result.rowcount != 1:
        raise InboxError("Dieses Gespräch ist bereits erledigt.")
    state = ensure_state(session, handoff)
    state.snoozed_until = None
    state.unread = 0
    if csat_asked:
        state.csat_asked_at = now
    _event(session, handoff, "resolved", now, agent=agent)
    return handoff


def add_note(session: Session, handoff_id: int, agent: Agent, text: str, now: datetime) -> Note:
    handoff = get_handoff(session, handoff_id)
    note = Note(handoff_id=handoff.id, agent_id=agent.id, text=clean_text(text, "Notiz"),
                created_at=now)
    session.add(note)
    session.flush()
    return note


def start_reply(
    session: Session, handoff_id: int, agent: Agent, text: str, now: datetime
) -> AgentReply:
    """Record a reply before it goes to Rasa, so a failed delivery stays visible."""
    handoff = get_handoff(session, handoff_id)
    _require_handler(session, handoff, agent)
    reply = AgentReply(
        handoff_id=handoff.id, agent_id=agent.id, text=clean_text(text), created_at=now,
        status="sending",
    )
    session.add(reply)
    session.flush()
    return reply


def finish_reply(
    session: Session, reply_id: int, now: datetime, error: Optional[str] = None
) -> AgentReply:
    reply = session.get(AgentReply, reply_id)
    if reply is None:
        raise NotFoundError("Diese Antwort gibt es nicht.")
    if error is None:
        reply.status = "sent"
        handoff = get_handoff(session, reply.handoff_id)
        if handoff.first_reply_at is None:
            handoff.first_reply_at = now
        ensure_state(session, handoff).unread = 0
    else:
        reply.status = "failed"
        reply.error = error[:2000]
    return reply


def last_delivery_id(session: Session, sender: str) -> int:
    """The newest channel delivery row of ``sender`` (0 for none): a mark before sending."""
    found = session.execute(
        select(func.max(ChannelDelivery.id)).where(ChannelDelivery.sender_id == sender)
    ).scalar()
    return int(found or 0)


def delivery_failure_after(session: Session, sender: str, mark: int) -> Optional[str]:
    """The reason code (``channels.delivery.DeliveryReason``) of the failed delivery the
    channel recorded for ``sender`` after ``mark``, if any."""
    row = session.execute(
        select(ChannelDelivery.reason)
        .where(ChannelDelivery.sender_id == sender, ChannelDelivery.id > mark)
        .where(ChannelDelivery.status.in_(FAILED_STATUSES))
        .order_by(ChannelDelivery.id.desc())
    ).scalars().first()
    return str(row) if row else None


def mark_read(session: Session, handoff_id: int, agent: Agent) -> None:
    handoff = get_handoff(session, handoff_id)
    if handoff.assigned_to == agent.id:
        state = session.get(HandoffState, handoff_id)
        if state is not None and state.unread:
            state.unread = 0


# --- canned responses ----------------------------------------------------------------------

def list_canned(session: Session) -> List[CannedResponse]:
    return list(
        session.execute(select(CannedResponse).order_by(CannedResponse.shortcut)).scalars().all()
    )


def save_canned(
    session: Session, agent: Agent, shortcut: str, text: str, now: datetime,
    canned_id: Optional[int] = None,
) -> CannedResponse:
    if not agent.is_admin:
        raise ForbiddenError("Textbausteine verwalten dürfen nur Admins.")
    shortcut = (shortcut or "").strip().lstrip("/").lower()
    if not shortcut or len(shortcut) > 32 or not all(c.isalnum() or c in "-_" for c in shortcut):
        raise InvalidInputError(
            "Das Kürzel darf nur Buchstaben, Ziffern, - und _ enthalten (höchstens 32 Zeichen)."
        )
    text = clean_text(text, "Antwort")
    clash = session.execute(
        select(CannedResponse).where(CannedResponse.shortcut == shortcut)
    ).scalars().first()
    if clash is not None and clash.id != canned_id:
        raise InvalidInputError(f"Das Kürzel /{shortcut} gibt es schon.")
    if canned_id is not None:
        canned = session.get(CannedResponse, canned_id)
        if canned is None:
            raise NotFoundError("Diesen Textbaustein gibt es nicht.")
        canned.shortcut, canned.text = shortcut, text
    else:
        canned = CannedResponse(shortcut=shortcut, text=text, created_by=agent.id, created_at=now)
        session.add(canned)
    session.flush()
    return canned


def delete_canned(session: Session, agent: Agent, canned_id: int) -> None:
    if not agent.is_admin:
        raise ForbiddenError("Textbausteine verwalten dürfen nur Admins.")
    canned = session.get(CannedResponse, canned_id)
    if canned is None:
        raise NotFoundError("Diesen Textbaustein gibt es nicht.")
    session.delete(canned)


# --- what the conversation view shows besides the tracker ---------------------------------

@dataclass(frozen=True)
class ConversationRecords:
    handoff: Handoff
    state: HandoffState
    events: Sequence[HandoffEvent]
    notes: Sequence[Note]
    replies: Sequence[AgentReply]
    names: Dict[int, str]
    earlier: Sequence[Handoff]
    # Messages to this customer the channel finally failed to deliver (bot answers included).
    failed_deliveries: Sequence[ChannelDelivery] = ()


def conversation_records(session: Session, handoff_id: int) -> ConversationRecords:
    handoff = get_handoff(session, handoff_id)
    state = ensure_state(session, handoff)
    # Notes and status events of every handoff of this customer: the transcript spans them all.
    handoff_ids = select(Handoff.id).where(Handoff.sender_id == handoff.sender_id)
    events = session.execute(
        select(HandoffEvent).where(HandoffEvent.handoff_id.in_(handoff_ids))
        .order_by(HandoffEvent.at, HandoffEvent.id)
    ).scalars().all()
    notes = session.execute(
        select(Note).where(Note.handoff_id.in_(handoff_ids)).order_by(Note.created_at, Note.id)
    ).scalars().all()
    replies = session.execute(
        select(AgentReply)
        .where(AgentReply.handoff_id.in_(handoff_ids))
        .where(or_(AgentReply.status == "failed", AgentReply.status == "sending"))
        .order_by(AgentReply.created_at)
    ).scalars().all()
    earlier = session.execute(
        select(Handoff).where(Handoff.sender_id == handoff.sender_id, Handoff.id != handoff.id)
        .order_by(Handoff.id.desc())
    ).scalars().all()
    failed_deliveries = session.execute(
        select(ChannelDelivery)
        .where(ChannelDelivery.sender_id == handoff.sender_id)
        .where(ChannelDelivery.status.in_(FAILED_STATUSES))
        .order_by(ChannelDelivery.created_at, ChannelDelivery.id)
    ).scalars().all()
    return ConversationRecords(
        handoff, state, events, notes, replies, agent_names(session), earlier, failed_deliveries
    )
