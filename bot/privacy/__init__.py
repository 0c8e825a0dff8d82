"""Data protection (GDPR Art. 15/17): export, delete and purge customer data; log hygiene."""

from bot.privacy._logs import pseudo, pseudonym

__all__ = ["pseudo", "pseudonym"]
