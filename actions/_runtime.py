"""What the actions need at run time (databases, service hours, clock), created on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.database import make_engine, session_factory
from bot.migrations import SHOP, SUPPORT, ensure_schema
from bot.order_guard import LookupPolicy
from bot.service_hours import ServiceHours
from bot.settings import Settings, load_settings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time; ``BOT_FROZEN_TIME`` (ISO 8601) pins it for demos and tests."""
    frozen = os.environ.get("BOT_FROZEN_TIME", "").strip()
    if frozen:
        moment = datetime.fromisoformat(frozen)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    support: "sessionmaker[Session]"
    shop: "sessionmaker[Session]"
    hours: ServiceHours
    clock: Clock = field(default=system_clock)

    @property
    def lookup_policy(self) -> LookupPolicy:
        return LookupPolicy(
            max_failures=self.settings.order_lookup_max_failures,
            window=timedelta(minutes=self.settings.order_lookup_window_minutes),
            lock=timedelta(minutes=self.settings.order_lookup_lock_minutes),
        )


def build_runtime(settings: Settings) -> Runtime:
    ensure_schema(settings.support_db_url, SUPPORT)  # incl. order_lookup_guards
    ensure_schema(settings.shop_db_url, SHOP)
    support_engine = make_engine(settings.support_db_url)
    shop_engine = make_engine(settings.shop_db_url)
    return Runtime(
        settings=settings,
        support=session_factory(support_engine),
        shop=session_factory(shop_engine),
        hours=ServiceHours(timezone=settings.timezone, country=settings.holiday_country),
    )


@lru_cache(maxsize=1)
def default_runtime() -> Runtime:
    return build_runtime(load_settings())
