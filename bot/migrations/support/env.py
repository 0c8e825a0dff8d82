"""Alembic environment of the support database (see :mod:`bot.migrations`)."""

from bot.migrations._env import run_environment

run_environment()
