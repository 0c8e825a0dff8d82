"""Custom actions for Paula, run by the action server (``rasa run actions --actions actions``)."""
