"""Demo data for the shop database: about 20 orders in every status, the same on every run."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.database import session_factory, transaction
from bot.migrations import SHOP, ensure_schema
from bot.shop import Customer, Order, Shipment

# number, postal code, city, status, days since the order was placed
DEMO_ORDERS: tuple[tuple[str, str, str, str, int], ...] = (
    ("BP-482913", "80331", "München", "shipped", 2),
    ("BP-100001", "10115", "Berlin", "received", 0),
    ("BP-100002", "20357", "Hamburg", "received", 0),
    ("BP-100003", "50667", "Köln", "received", 1),
    ("BP-100004", "60311", "Frankfurt am Main", "packed", 1),
    ("BP-100005", "70173", "Stuttgart", "packed", 1),
    ("BP-100006", "01067", "Dresden", "packed", 2),
    ("BP-100007", "04109", "Leipzig", "shipped", 2),
    ("BP-100008", "28195", "Bremen", "shipped", 3),
    ("BP-100009", "1010", "Wien", "shipped", 4),
    ("BP-100010", "8001", "Zürich", "shipped", 5),
    ("BP-100011", "90402", "Nürnberg", "delivered", 6),
    ("BP-100012", "30159", "Hannover", "delivered", 7),
    ("BP-100013", "44135", "Dortmund", "delivered", 9),
    ("BP-100014", "45127", "Essen", "delivered", 12),
    ("BP-100015", "81379", "München", "delivered", 14),
    ("BP-100016", "53111", "Bonn", "cancelled", 3),
    ("BP-100017", "24103", "Kiel", "cancelled", 8),
    ("BP-100018", "79098", "Freiburg", "shipped", 1),
    ("BP-100019", "93047", "Regensburg", "packed", 0),
    ("BP-100020", "6020", "Innsbruck", "received", 0),
)

DEMO_NAMES = ("Anna Berger", "Jonas Keller", "Lea Hoffmann", "Mehmet Yılmaz", "Sophie Wagner")


def seed_shop(engine: Engine, *, today: datetime | None = None) -> int:
    """Migrate the shop tables, add the demo orders if there are none; returns the order count."""
    ensure_schema(engine, SHOP)
    factory = session_factory(engine)
    base = (today or datetime.now()).replace(hour=10, minute=0, second=0, microsecond=0)
    with transaction(factory) as session:
        if session.execute(select(func.count(Order.id))).scalar_one():
            return int(session.execute(select(func.count(Order.id))).scalar_one())
        customers = [
            Customer(name=name, email=f"kunde{i}@example.org") for i, name in enumerate(DEMO_NAMES)
        ]
        session.add_all(customers)
        for i, (number, postal_code, city, status, age) in enumerate(DEMO_ORDERS):
            placed = base - timedelta(days=age)
            order = Order(
                number=number,
                customer=customers[i % len(customers)],
                postal_code=postal_code,
                city=city,
                status=status,
                placed_at=placed,
            )
            session.add(order)
            if status in ("shipped", "delivered"):
                session.add(
                    Shipment(
                        order=order,
                        tracking_number=f"00340434{int(number[3:]):012d}",
                        shipped_at=placed + timedelta(days=1),
                        delivered_at=placed + timedelta(days=3) if status == "delivered" else None,
                    )
                )
        return len(DEMO_ORDERS)
