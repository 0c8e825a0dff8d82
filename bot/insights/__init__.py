"""Listening to the conversations: signals per hour, early warnings, the weekly report.

Everything is read from Rasa's event broker and the support database, never from the model.
"""
