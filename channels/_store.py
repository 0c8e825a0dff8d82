"""What the messenger channels remember, in the support database (``SupportBase`` metadata).

Tables (all prefixed ``channel_``):

``channel_inbound``     provider message ids already accepted (Telegram ``update_id``, Twilio
                        ``MessageSid``): a redelivery is dropped, also after a restart. The
                        payload is kept until handled, so a crash between accepting and
                        answering is caught up on the next start.
``channel_contacts``    one row per customer and channel: last inbound message (WhatsApp's
                        24-hour window), opted out (WhatsApp STOP), unreachable (blocked bot).
``channel_media``       photos, documents, voice messages, locations ... a customer sent: a
                        reference (Telegram ``file_id`` / Twilio media URL) for the agent.
``channel_deliveries``  every message sent to a customer, with its status (``sent``, ``queued``,
                        ``delivered``, ``read``, ``held``, ``failed``, ``undelivered``) and, for
                        failures, a reason code and a German explanation for the inbox.
``channel_choices``     the numbered buttons last offered on WhatsApp (reply "2" -> payload).
``channel_watermarks``  per channel with increasing ids (Telegram ``update_id``): the highest id
                        whose dedupe row was pruned; an id at or below it is a replay.
``channel_payloads``    Telegram button payloads longer than ``callback_data``'s 64 bytes.

Every method is synchronous; :class:`ChannelStore` offers ``await store.run(method, ...)`` to call
them in a worker thread so the event loop never waits for the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.database import make_engine, session_factory, transaction
from bot.models import SupportBase, utcnow

T = TypeVar("T")

# Delivery statuses. Twilio reports them in any order; a status only replaces one of lower rank.
STATUS_RANK = {
    "sending": 0,
    "held": 0,
    "accepted": 1,
    "queued": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "failed": 9,
    "undelivered": 9,
}
FAILED_STATUSES = ("failed", "undelivered")

# Replay protection beyond the 7-day dedupe rows (see docs/channels.md, "Replays"):
# Telegram's update_ids only grow, so a high-water mark of pruned ids refuses old ones for ever;
# Twilio's MessageSids carry neither order nor time, so their rows (ids only once handled) are
# kept this long instead.
MONOTONIC_CHANNELS = ("telegram",)
LONG_KEPT_CHANNELS = ("whatsapp", "meta")
LONG_RETENTION = timedelta(days=400)
# Provider status reports come within hours; one about an older message is a replay.
STATUS_MAX_AGE = timedelta(days=7)


class InboundMessage(SupportBase):
    """A provider message id we accepted (dedupe of redeliveries)."""

    __tablename__ = "channel_inbound"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_channel_inbound"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(128), nullable=False)
    sender_id = Column(String(255), nullable=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    payload = Column(Text, nullable=True)  # JSON, cleared once handled
    handled_at = Column(DateTime, nullable=True)


class ChannelWatermark(SupportBase):
    """The highest pruned inbound id of a channel whose ids only grow (Telegram)."""

    __tablename__ = "channel_watermarks"

    channel = Column(String(32), primary_key=True)
    high_water = Column(BigInteger, nullable=False)  # Telegram update_ids grow past 2^31


class ChannelContact(SupportBase):
    """A customer on one channel."""

    __tablename__ = "channel_contacts"
    __table_args__ = (UniqueConstraint("channel", "sender_id", name="uq_channel_contact"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False, index=True)
    last_inbound_at = Column(DateTime, nullable=True)
    opted_out = Column(Boolean, nullable=False, default=False)
    opted_out_at = Column(DateTime, nullable=True)
    unreachable = Column(Boolean, nullable=False, default=False)
    unreachable_reason = Column(String(64), nullable=True)
    unreachable_at = Column(DateTime, nullable=True)
    template_sent_at = Column(DateTime, nullable=True)


class ChannelMedia(SupportBase):
    """Something other than text a customer sent; ``reference`` lets an agent fetch it."""

    __tablename__ = "channel_media"

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False, index=True)
    external_id = Column(String(128), nullable=True)
    kind = Column(String(32), nullable=False)  # photo, document, voice, audio, video, sticker, ...
    reference = Column(Text, nullable=True)  # Telegram file_id or Twilio MediaUrl
    content_type = Column(String(128), nullable=True)
    caption = Column(Text, nullable=True)
    details = Column(Text, nullable=True)  # JSON: file name, size, coordinates, ...
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ChannelDelivery(SupportBase):
    """One message to a customer and what became of it."""

    __tablename__ = "channel_deliveries"

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False, index=True)
    kind = Column(String(16), nullable=False, default="text")  # text, image, template
    text = Column(Text, nullable=True)
    media_url = Column(Text, nullable=True)
    status = Column(String(16), nullable=False, index=True)
    reason = Column(String(64), nullable=True)  # a channels.delivery.DeliveryReason value
    detail = Column(Text, nullable=True)  # legacy: German text of old rows
    provider_detail = Column(Text, nullable=True)  # the provider's own words (operators)
    provider_message_id = Column(String(64), nullable=True, index=True)
    error_code = Column(String(16), nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class ChannelChoice(SupportBase):
    """Numbered options offered in place of buttons, for mapping "2" back to a payload."""

    __tablename__ = "channel_choices"
    __table_args__ = (UniqueConstraint("channel", "sender_id", name="uq_channel_choice"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    payloads = Column(Text, nullable=False)  # JSON list of payload strings
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ChannelPayload(SupportBase):
    """A button payload too long for Telegram's callback_data, under a short key."""

    __tablename__ = "channel_payloads"

    key = Column(String(40), primary_key=True)
    payload = Column(Text, nullable=False)


CHANNEL_TABLES = [
    model.__table__
    for model in (
        InboundMessage,
        ChannelWatermark,
        ChannelContact,
        ChannelMedia,
        ChannelDelivery,
        ChannelChoice,
        ChannelPayload,
    )
]


# Provider error texts are kept for operators, not in full.
PROVIDER_DETAIL_CHARS = 500


def _clip(text: Optional[str]) -> Optional[str]:
    return text[:PROVIDER_DETAIL_CHARS] if text else None


@dataclass(frozen=True)
class ContactState:
    last_inbound_at: Optional[datetime]
    opted_out: bool
    unreachable: bool
    template_sent_at: Optional[datetime]


def _state(contact: Optional[ChannelContact]) -> ContactState:
    if contact is None:
        return ContactState(None, False, False, None)
    return ContactState(
        last_inbound_at=contact.last_inbound_at,
        opted_out=bool(contact.opted_out),
        unreachable=bool(contact.unreachable),
        template_sent_at=contact.template_sent_at,
    )


@dataclass(frozen=True)
class MediaItem:
    """A non-text part of an inbound message."""

    kind: str
    reference: Optional[str] = None
    content_type: Optional[str] = None
    details: Optional[Dict[str, Any]] = None

    def as_metadata(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"kind": self.kind}
        if self.reference:
            data["reference"] = self.reference
        if self.content_type:
            data["content_type"] = self.content_type
        if self.details:
            data.update(self.details)
        return data


class ChannelStore:
    """Access to the channel tables. Create one per process; schema on :meth:`ensure_schema`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: "sessionmaker[Session]" = session_factory(engine)
        # Messages accepted from now on are handled by this process (see unhandled_since).
        self.opened_at = utcnow()

    @classmethod
    def from_url(cls, url: str) -> "ChannelStore":
        return cls(make_engine(url))

    async def run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store method in a worker thread."""
        return await asyncio.to_thread(method, *args, **kwargs)

    def ensure_schema(self) -> None:
        from bot.migrations import SUPPORT, ensure_schema

        ensure_schema(self.engine, SUPPORT)

    # -- inbound ------------------------------------------------------------------------------

    def claim_inbound(
        self,
        channel: str,
        external_id: str,
        sender_id: Optional[str],
        payload: Optional[str] = None,
    ) -> bool:
        """Remember ``external_id``; False if it was seen before (a redelivery or a replay)."""
        if channel in MONOTONIC_CHANNELS:
            try:
                number = int(external_id)
            except ValueError:
                return False
            with transaction(self.sessions) as session:
                mark = session.get(ChannelWatermark, channel)
                if mark is not None and number <= int(mark.high_water):
                    return False
        try:
            with transaction(self.sessions) as session:
                session.add(
                    InboundMessage(
                        channel=channel,
                        external_id=external_id,
                        sender_id=sender_id,
                        payload=payload,
                    )
                )
        except IntegrityError:
            return False
        return True

    def mark_handled(self, channel: str, external_id: str) -> None:
        with transaction(self.sessions) as session:
            row = session.scalars(
                select(InboundMessage).where(
                    InboundMessage.channel == channel, InboundMessage.external_id == external_id
                )
            ).first()
            if row is not None:
                row.handled_at = utcnow()
                row.payload = None

    def unhandled_since(self, channel: str, moment: datetime) -> List[Tuple[str, str]]:
        """(external id, payload) of messages accepted after ``moment`` but never handled, by an
        earlier process: those accepted since this store was opened are being handled here
        (the server takes webhooks while its start-up catch-up is still running)."""
        with transaction(self.sessions) as session:
            rows = session.scalars(
                select(InboundMessage)
                .where(
                    InboundMessage.channel == channel,
                    InboundMessage.handled_at.is_(None),
                    InboundMessage.payload.is_not(None),
                    InboundMessage.received_at >= moment,
                    InboundMessage.received_at < self.opened_at,
                )
                .order_by(InboundMessage.id)
            )
            return [(str(row.external_id), str(row.payload)) for row in rows]

    def _inbound(self, session: Session, channel: str, external_id: str
                 ) -> Optional["InboundMessage"]:
        return session.scalars(
            select(InboundMessage).where(
                InboundMessage.channel == channel, InboundMessage.external_id == external_id
            )
        ).first()

    @staticmethod
    def _delivered_since(inbound: "InboundMessage", channel: str) -> Any:
        """Deliveries that reached the sender of ``inbound`` after it was accepted."""
        return select(ChannelDelivery).where(
            ChannelDelivery.channel == channel,
            ChannelDelivery.sender_id == inbound.sender_id,
            ChannelDelivery.created_at >= inbound.received_at,
            ChannelDelivery.status.not_in(("failed", "held", "sending")),
        )

    def was_answered(self, channel: str, external_id: str) -> bool:
        """True if something reached the sender of inbound message ``external_id`` after it was
        accepted: the server stopped after the answer went out but before the message was marked
        handled (and before Rasa saved the tracker). The catch-up then does not answer twice."""
        with transaction(self.sessions) as session:
            inbound = self._inbound(session, channel, external_id)
            if inbound is None or not inbound.sender_id:
                return False
            return session.scalars(self._delivered_since(inbound, channel)).first() is not None

    def answers_to(self, channel: str, external_id: str, until: datetime) -> List[str]:
        """Texts that reached the sender of inbound message ``external_id`` in reply to it:
        delivered after it was accepted, before the sender's next message and before ``until``
        (the restart), oldest first."""
        with transaction(self.sessions) as session:
            inbound = self._inbound(session, channel, external_id)
            if inbound is None or not inbound.sender_id:
                return []
            following = session.scalars(
                select(InboundMessage.received_at).where(
                    InboundMessage.channel == channel,
                    InboundMessage.sender_id == inbound.sender_id,
                    InboundMessage.received_at > inbound.received_at,
                ).order_by(InboundMessage.received_at)
            ).first()
            end = min(until, following) if following is not None else until
            rows = session.scalars(
                self._delivered_since(inbound, channel)
                .where(ChannelDelivery.created_at < end).order_by(ChannelDelivery.id)
            ).all()
            return [str(row.text) for row in rows if row.text]

    def forget_inbound_before(self, moment: datetime) -> int:
        """Drop dedupe records older than ``moment`` (providers redeliver for hours, not weeks).

        Telegram's pruned ids move its high-water mark up first; WhatsApp's rows stay until
        ``LONG_RETENTION`` has passed (see :data:`MONOTONIC_CHANNELS`).
        """
        with transaction(self.sessions) as session:
            for channel in MONOTONIC_CHANNELS:
                ids = session.scalars(
                    select(InboundMessage.external_id).where(
                        InboundMessage.channel == channel, InboundMessage.received_at < moment
                    )
                ).all()
                numbers = [int(i) for i in ids if str(i).lstrip("-").isdigit()]
                if numbers:
                    mark = session.get(ChannelWatermark, channel)
                    if mark is None:
                        session.add(ChannelWatermark(channel=channel, high_water=max(numbers)))
                    else:
                        mark.high_water = max(int(mark.high_water), *numbers)
            count = (
                session.query(InboundMessage)
                .filter(
                    InboundMessage.received_at < moment,
                    InboundMessage.channel.not_in(LONG_KEPT_CHANNELS),
                )
                .delete(synchronize_session=False)
            )
            count += (
                session.query(InboundMessage)
                .filter(
                    InboundMessage.received_at < moment - LONG_RETENTION + timedelta(days=7),
                    InboundMessage.channel.in_(LONG_KEPT_CHANNELS),
                )
                .delete(synchronize_session=False)
            )
        return int(count)

    def record_media(
        self,
        channel: str,
        sender_id: str,
        external_id: Optional[str],
        items: List[MediaItem],
        caption: Optional[str],
    ) -> None:
        with transaction(self.sessions) as session:
            for item in items:
                session.add(
                    ChannelMedia(
                        channel=channel,
                        sender_id=sender_id,
                        external_id=external_id,
                        kind=item.kind,
                        reference=item.reference,
                        content_type=item.content_type,
                        caption=caption,
                        details=json.dumps(item.details, ensure_ascii=False)
                        if item.details
                        else None,
                    )
                )

    def media_for(self, channel: str, sender_id: str) -> List[ChannelMedia]:
        with transaction(self.sessions) as session:
            return list(
                session.scalars(
                    select(ChannelMedia)
                    .where(ChannelMedia.channel == channel, ChannelMedia.sender_id == sender_id)
                    .order_by(ChannelMedia.id)
                )
            )

    # -- contacts -----------------------------------------------------------------------------

    def _contact(self, session: Session, channel: str, sender_id: str) -> ChannelContact:
        contact = session.scalars(
            select(ChannelContact).where(
                ChannelContact.channel == channel, ChannelContact.sender_id == sender_id
            )
        ).first()
        if contact is None:
            contact = ChannelContact(
                channel=channel, sender_id=sender_id, opted_out=False, unreachable=False
            )
            session.add(contact)
        return contact

    def _update_contact(
        self, channel: str, sender_id: str, change: Callable[[ChannelContact], None]
    ) -> ContactState:
        for attempt in range(2):  # a concurrent first insert of the same contact: retry once
            try:
                with transaction(self.sessions) as session:
                    contact = self._contact(session, channel, sender_id)
                    change(contact)
                    session.flush()
                    return _state(contact)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def contact(self, channel: str, sender_id: str) -> ContactState:
        with transaction(self.sessions) as session:
            return _state(
                session.scalars(
                    select(ChannelContact).where(
                        ChannelContact.channel == channel, ChannelContact.sender_id == sender_id
                    )
                ).first()
            )

    def touch_contact(
        self, channel: str, sender_id: str, now: Optional[datetime] = None
    ) -> ContactState:
        """The customer wrote: window open, reachable again. Returns the state *before*."""
        before: Dict[str, ContactState] = {}

        def change(contact: ChannelContact) -> None:
            before["state"] = _state(contact)
            contact.last_inbound_at = now or utcnow()
            contact.unreachable = False
            contact.unreachable_reason = None
            contact.template_sent_at = None

        self._update_contact(channel, sender_id, change)
        return before["state"]

    def set_last_inbound(self, channel: str, sender_id: str, moment: Optional[datetime]) -> None:
        def change(contact: ChannelContact) -> None:
            contact.last_inbound_at = moment

        self._update_contact(channel, sender_id, change)

    def set_opted_out(self, channel: str, sender_id: str, opted_out: bool) -> ContactState:
        def change(contact: ChannelContact) -> None:
            contact.opted_out = opted_out
            contact.opted_out_at = utcnow() if opted_out else None

        return self._update_contact(channel, sender_id, change)

    def mark_unreachable(self, channel: str, sender_id: str, reason: str) -> None:
        def change(contact: ChannelContact) -> None:
            contact.unreachable = True
            contact.unreachable_reason = reason
            contact.unreachable_at = utcnow()

        self._update_contact(channel, sender_id, change)

    def mark_reachable(self, channel: str, sender_id: str) -> None:
        def change(contact: ChannelContact) -> None:
            contact.unreachable = False
            contact.unreachable_reason = None

        self._update_contact(channel, sender_id, change)

    def note_template_sent(self, channel: str, sender_id: str) -> None:
        def change(contact: ChannelContact) -> None:
            contact.template_sent_at = utcnow()

        self._update_contact(channel, sender_id, change)

    # -- deliveries ---------------------------------------------------------------------------

    def record_delivery(
        self,
        channel: str,
        sender_id: str,
        *,
        status: str,
        kind: str = "text",
        text: Optional[str] = None,
        media_url: Optional[str] = None,
        reason: Optional[str] = None,
        provider_detail: Optional[str] = None,
        provider_message_id: Optional[str] = None,
        error_code: Optional[str] = None,
        attempts: int = 0,
    ) -> int:
        """A new delivery row. With a ``provider_message_id`` a status callback may have
        created already (it can overtake the send's own answer), that row is completed."""
        with transaction(self.sessions) as session:
            if provider_message_id:
                early = session.scalars(
                    select(ChannelDelivery).where(
                        ChannelDelivery.provider_message_id == provider_message_id
                    )
                ).first()
                if early is not None:
                    early.kind, early.text, early.media_url = kind, text, media_url
                    early.attempts = attempts
                    if STATUS_RANK.get(status, 0) > STATUS_RANK.get(early.status, 0):
                        early.status = status
                    session.flush()
                    return int(early.id)
            row = ChannelDelivery(
                channel=channel,
                sender_id=sender_id,
                kind=kind,
                text=text,
                media_url=media_url,
                status=status,
                reason=reason,
                provider_detail=_clip(provider_detail),
                provider_message_id=provider_message_id,
                error_code=error_code,
                attempts=attempts,
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def record_failure(
        self,
        channel: str,
        sender_id: str,
        reason: str,
        *,
        kind: str = "text",
        text: Optional[str] = None,
        media_url: Optional[str] = None,
        provider_detail: Optional[str] = None,
        error_code: Optional[str] = None,
        attempts: int = 0,
    ) -> int:
        """A message that was not delivered, and why (a ``DeliveryReason`` value)."""
        return self.record_delivery(
            channel, sender_id, status="failed", kind=kind, text=text, media_url=media_url,
            reason=reason, provider_detail=provider_detail, error_code=error_code,
            attempts=attempts,
        )

    def finish_delivery(
        self,
        delivery_id: int,
        *,
        status: str,
        reason: Optional[str] = None,
        provider_detail: Optional[str] = None,
        provider_message_id: Optional[str] = None,
        error_code: Optional[str] = None,
        attempts: Optional[int] = None,
    ) -> None:
        with transaction(self.sessions) as session:
            row = session.get(ChannelDelivery, delivery_id)
            if row is None:
                return
            # A status callback may have arrived first and moved the row further already.
            if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(row.status, 0):
                row.status = status
                if status in FAILED_STATUSES:
                    row.reason = reason or row.reason
                    row.provider_detail = _clip(provider_detail) or row.provider_detail
                else:  # sent after all (e.g. held for the window): no failure to show
                    row.reason = reason
                    row.provider_detail = _clip(provider_detail)
            row.provider_message_id = provider_message_id or row.provider_message_id
            row.error_code = error_code or row.error_code
            if attempts is not None:
                row.attempts = attempts
            row.updated_at = utcnow()

    def update_status(
        self,
        provider_message_id: str,
        status: str,
        *,
        reason: Optional[str] = None,
        provider_detail: Optional[str] = None,
        error_code: Optional[str] = None,
        channel: Optional[str] = None,
        recipient: Optional[str] = None,
    ) -> Optional[str]:
        """A provider status report; returns the message's sender id, None if unknown.

        A report that overtakes the send's own answer (so no row yet) creates the row when
        ``channel`` and ``recipient`` are given; the sender completes it.
        """
        with transaction(self.sessions) as session:
            row = session.scalars(
                select(ChannelDelivery).where(
                    ChannelDelivery.provider_message_id == provider_message_id
                )
            ).first()
            if row is not None and row.created_at < utcnow() - STATUS_MAX_AGE:
                return None  # a replayed report about an old message
            if row is None:
                if not (channel and recipient):
                    return None
                row = ChannelDelivery(
                    channel=channel, sender_id=recipient, kind="text", status="sending",
                    provider_message_id=provider_message_id, attempts=0,
                )
                session.add(row)
            if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(row.status, 0):
                row.status = status
                if status in FAILED_STATUSES:
                    row.reason = reason or row.reason
                    row.provider_detail = _clip(provider_detail) or row.provider_detail
                    row.error_code = error_code or row.error_code
                row.updated_at = utcnow()
            return str(row.sender_id)

    def deliveries_for(self, channel: str, sender_id: str) -> List[ChannelDelivery]:
        with transaction(self.sessions) as session:
            return list(
                session.scalars(
                    select(ChannelDelivery)
                    .where(
                        ChannelDelivery.channel == channel, ChannelDelivery.sender_id == sender_id
                    )
                    .order_by(ChannelDelivery.id)
                )
            )

    def held_deliveries(self, channel: str, sender_id: str) -> List[ChannelDelivery]:
        with transaction(self.sessions) as session:
            return list(
                session.scalars(
                    select(ChannelDelivery)
                    .where(
                        ChannelDelivery.channel == channel,
                        ChannelDelivery.sender_id == sender_id,
                        ChannelDelivery.status == "held",
                    )
                    .order_by(ChannelDelivery.id)
                )
            )

    # -- numbered choices (WhatsApp buttons) ---------------------------------------------------

    def save_choices(self, channel: str, sender_id: str, payloads: List[str]) -> None:
        with transaction(self.sessions) as session:
            row = session.scalars(
                select(ChannelChoice).where(
                    ChannelChoice.channel == channel, ChannelChoice.sender_id == sender_id
                )
            ).first()
            if row is None:
                row = ChannelChoice(channel=channel, sender_id=sender_id)
                session.add(row)
            row.payloads = json.dumps(payloads, ensure_ascii=False)
            row.created_at = utcnow()

    def take_choice(
        self, channel: str, sender_id: str, number: int, max_age: timedelta
    ) -> Optional[str]:
        """The payload of option ``number`` (1-based) offered within ``max_age``; used once."""
        with transaction(self.sessions) as session:
            row = session.scalars(
                select(ChannelChoice).where(
                    ChannelChoice.channel == channel, ChannelChoice.sender_id == sender_id
                )
            ).first()
            if row is None:
                return None
            if row.created_at < utcnow() - max_age:
                session.delete(row)
                return None
            payloads = json.loads(row.payloads)
            if not 1 <= number <= len(payloads):
                return None
            session.delete(row)
            return str(payloads[number - 1])

    # -- long Telegram payloads ---------------------------------------------------------------

    def payload_key(self, payload: str) -> str:
        key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        with transaction(self.sessions) as session:
            if session.get(ChannelPayload, key) is None:
                session.add(ChannelPayload(key=key, payload=payload))
        return key

    def payload_for(self, key: str) -> Optional[str]:
        with transaction(self.sessions) as session:
            row = session.get(ChannelPayload, key)
            return None if row is None else str(row.payload)


__all__ = [
    "CHANNEL_TABLES",
    "ChannelChoice",
    "ChannelContact",
    "ChannelDelivery",
    "ChannelMedia",
    "ChannelPayload",
    "ChannelStore",
    "ChannelWatermark",
    "ContactState",
    "InboundMessage",
    "MediaItem",
]
