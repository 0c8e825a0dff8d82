"""An existing support database gains the channel columns added later (migration 0003)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect

from channels._store import ChannelStore
from channels.delivery import DeliveryReason


def test_old_deliveries_table_gains_provider_detail_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:  # the table as it was before provider_detail
        connection.exec_driver_sql(
            "CREATE TABLE channel_deliveries (id INTEGER PRIMARY KEY, channel VARCHAR(32) NOT "
            "NULL, sender_id VARCHAR(255) NOT NULL, kind VARCHAR(16) NOT NULL, text TEXT, "
            "media_url TEXT, status VARCHAR(16) NOT NULL, reason VARCHAR(64), detail TEXT, "
            "provider_message_id VARCHAR(64), error_code VARCHAR(16), attempts INTEGER NOT "
            "NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)"
        )
        connection.exec_driver_sql(
            "INSERT INTO channel_deliveries (channel, sender_id, kind, status, reason, detail, "
            "attempts, created_at, updated_at) VALUES ('telegram', '42', 'text', 'failed', "
            "'blocked', 'Die Person hat den Bot blockiert.', 1, '2026-01-01 00:00:00.000000', "
            "'2026-01-01 00:00:00.000000')"
        )
    store = ChannelStore.from_url(url)
    store.ensure_schema()
    store.ensure_schema()  # idempotent
    assert "provider_detail" in {c["name"] for c in inspect(engine).get_columns(
        "channel_deliveries")}
    store.record_failure("telegram", "42", DeliveryReason.RATE_LIMITED,
                         provider_detail="Too Many Requests: retry after 60")
    old, new = store.deliveries_for("telegram", "42")
    assert (old.reason, old.detail, old.provider_detail) == (
        "blocked", "Die Person hat den Bot blockiert.", None)
    assert (new.reason, new.provider_detail) == ("rate_limited",
                                                 "Too Many Requests: retry after 60")
