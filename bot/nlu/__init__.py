"""Custom Rasa graph components for German customer chat (referenced from config.yml)."""
