"""The messenger stack fixture (``channel_stack``) lives in tests/conftest.py: one stack per
session, shared with tests/reliability and tests/security."""
