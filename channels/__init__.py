"""Rasa input/output channels for the messengers customers use (loaded from credentials.yml)."""
