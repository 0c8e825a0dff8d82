"""The demo shop database (customers, orders, shipments) and the order lookup the bot uses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Session, declarative_base, relationship

ShopBase: Any = declarative_base()

ORDER_STATUSES = ("received", "packed", "shipped", "delivered", "cancelled")

_ORDER_NUMBER = re.compile(r"(?<![\d])(?:b\s*p)?[\s\-_.:#]*(\d{6})(?!\d)", re.IGNORECASE)
_POSTAL_CODE = re.compile(r"(?<!\d)(\d{4,5})(?!\d)")


def normalize_order_number(text: str) -> Optional[str]:
    """'BP-482913', 'bp 482913', 'Bestellung 482913' -> 'BP-482913'; anything else -> None."""
    match = _ORDER_NUMBER.search(text or "")
    return f"BP-{match.group(1)}" if match else None


def normalize_postal_code(text: str) -> Optional[str]:
    """A German (5 digits) or Austrian/Swiss (4 digits) postal code found in ``text``."""
    without_orders = _ORDER_NUMBER.sub(" ", text or "")
    match = _POSTAL_CODE.search(without_orders)
    return match.group(1) if match else None


class Customer(ShopBase):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    email = Column(String(200), nullable=False)
    orders = relationship("Order", back_populates="customer")


class Order(ShopBase):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    number = Column(String(16), unique=True, nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    postal_code = Column(String(10), nullable=False)
    city = Column(String(80), nullable=False)
    status = Column(String(16), nullable=False)
    placed_at = Column(DateTime, nullable=False)
    customer = relationship("Customer", back_populates="orders")
    shipment = relationship("Shipment", back_populates="order", uselist=False)


class Shipment(ShopBase):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, unique=True)
    carrier = Column(String(20), nullable=False, default="DHL")
    tracking_number = Column(String(40), nullable=False)
    shipped_at = Column(DateTime, nullable=False)
    delivered_at = Column(DateTime, nullable=True)
    order = relationship("Order", back_populates="shipment")

    @property
    def tracking_url(self) -> str:
        return (
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html"
            f"?piececode={self.tracking_number}"
        )


@dataclass(frozen=True)
class OrderStatus:
    number: str
    status: str
    placed_at: datetime
    tracking_url: Optional[str]
    shipped_at: Optional[datetime]
    delivered_at: Optional[datetime]


def find_order(session: Session, number: str, postal_code: str) -> Optional[OrderStatus]:
    """The order with this number *and* postal code, else None (no hint which one was wrong)."""
    order = session.execute(
        select(Order).where(Order.number == number).where(Order.postal_code == postal_code)
    ).scalars().first()
    if order is None:
        return None
    shipment = order.shipment
    return OrderStatus(
        number=order.number,
        status=order.status,
        placed_at=order.placed_at,
        tracking_url=shipment.tracking_url if shipment else None,
        shipped_at=shipment.shipped_at if shipment else None,
        delivered_at=shipment.delivered_at if shipment else None,
    )


def describe_status(order: OrderStatus) -> str:
    """The German answer for an order the customer identified correctly."""
    placed = order.placed_at.strftime("%d.%m.%Y")
    if order.status == "received":
        return (
            f"Deine Bestellung {order.number} vom {placed} ist bei uns eingegangen und wird "
            "gerade vorbereitet. Sobald sie unterwegs ist, bekommst du eine E-Mail mit dem "
            "DHL-Tracking-Link."
        )
    if order.status == "packed":
        return (
            f"Deine Bestellung {order.number} vom {placed} ist gepackt und geht in Kürze an DHL. "
            "Den Tracking-Link bekommst du per E-Mail, sobald das Paket unterwegs ist."
        )
    if order.status == "shipped":
        return (
            f"Deine Bestellung {order.number} ist unterwegs! Hier kannst du die Sendung bei DHL "
            f"verfolgen: {order.tracking_url}"
        )
    if order.status == "delivered":
        day = order.delivered_at.strftime("%d.%m.%Y") if order.delivered_at else "kürzlich"
        return (
            f"Deine Bestellung {order.number} wurde am {day} zugestellt. Falls du sie nicht "
            "gefunden hast, schau bitte auch bei Nachbarn oder in der Packstation nach."
        )
    if order.status == "cancelled":
        return (
            f"Deine Bestellung {order.number} wurde storniert. Falls du schon bezahlt hast, "
            "bekommst du das Geld innerhalb von 5 Werktagen zurück."
        )
    return f"Deine Bestellung {order.number} hat den Status „{order.status}“."
